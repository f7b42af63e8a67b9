// A chunked target's batch embedded (embed_claimed_chunks.ts) with a scripted provider, no database: each chunk's vector lands on its own chunk, a failing chunk fails its row, the provider's failure costs no row, the size is capped at the input limit.
import assert from "node:assert/strict";
import type { ChunkingOptions } from "../supabase/functions/_shared/chunking/chunk_text.ts";
import { embedClaimedChunks } from "../supabase/functions/_shared/embed_claimed_chunks.ts";
import { ProviderPacer } from "../supabase/functions/_shared/provider_pacer.ts";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import type { InputLimit } from "../supabase/functions/_shared/providers/input_limit.ts";
import { ProviderError } from "../supabase/functions/_shared/providers/provider_error.ts";
import type { ClaimedRow } from "../supabase/functions/_shared/target_queue.ts";

const chunking: ChunkingOptions = {
  unit: "characters",
  size: 400,
  overlap: 40,
  splitter: "recursive",
};

/** A text of `sentences` numbered sentences, the `marker` in the middle one when given. */
function text(sentences: number, marker = ""): string {
  return Array.from(
    { length: sentences },
    (_, n) => `Sentence ${n} is about ${n === sentences >> 1 ? marker : ""}scales and chords.`,
  ).join(" ");
}

function row(key: string, content: string, contentError: string | null = null): ClaimedRow {
  return { key, content, contentHash: `hash of ${key}`, contentError };
}

/**
 * A provider whose vector for a text is [its length, 1, 0]: a vector on the wrong chunk shows.
 * `fail` may throw for a call's texts.
 */
function scripted(
  fail: (texts: readonly string[]) => void = () => {},
  inputLimit?: InputLimit,
): EmbeddingProvider & { calls: number } {
  return {
    name: "openai",
    model: "scripted",
    dimensions: 3,
    inputLimit,
    calls: 0,
    embed(texts) {
      this.calls += 1;
      fail(texts);
      return Promise.resolve(texts.map((one) => [one.length, 1, 0]));
    },
  };
}

function embed(provider: EmbeddingProvider, rows: readonly ClaimedRow[], options = chunking) {
  return embedClaimedChunks(
    provider,
    3,
    options,
    rows,
    { signal: new AbortController().signal, remainingMs: () => 60_000 },
    { pacer: new ProviderPacer(), waitUntil: Infinity },
  );
}

Deno.test("embed claimed chunks: every row's chunks get their own vectors, in order; a blank row has none; no key is truncated", async () => {
  const long = text(60);
  const result = await embed(scripted(), [row("a", long), row("b", "  "), row("c", text(3))]);
  assert.deepEqual(result.failures, []);
  assert.deepEqual(result.untried, []);
  assert.deepEqual(result.truncatedKeys, []);
  assert.deepEqual(result.embeddings.map((one) => [one.key, one.contentHash]), [
    ["a", "hash of a"],
    ["b", "hash of b"],
    ["c", "hash of c"],
  ]);
  const [a, b, c] = result.embeddings;
  assert.ok(a.chunks.length > 5);
  a.chunks.forEach((chunk, index) => {
    assert.equal(chunk.index, index);
    assert.equal(chunk.text, long.slice(chunk.start, chunk.end));
    assert.deepEqual(chunk.embedding, [chunk.text.length, 1, 0], "its own text's vector");
  });
  assert.equal(a.chunks.at(-1)?.end, long.length);
  assert.deepEqual(b.chunks, []);
  assert.equal(c.chunks.length, 1);
});

Deno.test("embed claimed chunks: a row's own faults fail it before any call: its content function raised, or no letter or digit", async () => {
  const provider = scripted();
  const result = await embed(provider, [row("a", "", "division by zero"), row("b", "!!! ---")]);
  assert.deepEqual(result.failures.map((failure) => failure.key), ["a", "b"]);
  assert.equal(result.failures[0].error, "division by zero");
  assert.match(result.failures[1].error, /has nothing to embed/);
  assert.equal(provider.calls, 0);
});

Deno.test("embed claimed chunks: a chunk the provider refuses fails its row alone, naming the chunk; the other rows are embedded", async () => {
  const provider = scripted((texts) => {
    if (texts.some((one) => one.includes("POISON"))) {
      throw new ProviderError("rejected_input", "400: input refused");
    }
  });
  const result = await embed(provider, [
    row("a", text(30)),
    row("b", text(30, "POISON ")),
    row("c", text(30)),
  ]);
  assert.deepEqual(result.embeddings.map((one) => one.key), ["a", "c"]);
  assert.deepEqual(result.failures.map((failure) => failure.key), ["b"]);
  assert.match(
    result.failures[0].error,
    /^chunk \d+ \(characters \d+ to \d+\): 400: input refused/,
  );
  assert.deepEqual(result.untried, []);
  assert.equal(result.providerError, null);
});

Deno.test("embed claimed chunks: when the provider is down, every row with chunks goes back untried and none is charged", async () => {
  const provider = scripted(() => {
    throw new ProviderError("unavailable", "HTTP 503");
  });
  const result = await embed(provider, [row("a", text(30)), row("b", text(5))]);
  assert.deepEqual(result.untried.map((one) => one.key), ["a", "b"]);
  assert.deepEqual(result.failures, []);
  assert.deepEqual(result.embeddings, []);
  assert.equal(result.providerError?.kind, "unavailable");
});

Deno.test("embed claimed chunks: a chunk size past the provider's input limit is capped at it, so the provider cuts nothing", async () => {
  const limit: InputLimit = { maxCharacters: 150, description: "150 characters" };
  const long = text(40);
  const result = await embed(scripted(() => {}, limit), [row("a", long)], {
    ...chunking,
    size: 2_000,
    overlap: 200,
  });
  const [a] = result.embeddings;
  assert.ok(a.chunks.every((chunk) => chunk.text.length <= 150));
  assert.equal(a.chunks.at(-1)?.end, long.length);
  assert.deepEqual(result.truncatedKeys, []);
});

Deno.test("embed claimed chunks: a 429 is waited out holding the rows, then the same chunks are sent again: no row fails or goes back", async () => {
  let limited = 0;
  const provider = scripted(() => {
    if (limited++ === 0) throw new ProviderError("rate_limited", "429: slow down", 60);
  });
  const result = await embed(provider, [row("a", text(20)), row("b", text(20))]);
  assert.deepEqual(result.embeddings.map((one) => one.key), ["a", "b"]);
  assert.deepEqual(result.failures, []);
  assert.deepEqual(result.untried, []);
  assert.equal(result.rateLimitWaits, 1);
  assert.equal(provider.calls, 2, "the one call, then once more after the wait");
});

Deno.test("embed claimed chunks: with a provider of no request limit, chunks go in requests of 32, so the rows embedded before the time ran out are kept and only the rest go back", async () => {
  const provider = scripted();
  // Time for two requests, then spent.
  const deadline = {
    signal: new AbortController().signal,
    remainingMs: () => provider.calls < 2 ? 1_000 : 0,
  };
  const rows = Array.from({ length: 8 }, (_, n) => row(`r${n}`, text(100)));
  const result = await embedClaimedChunks(provider, 3, chunking, rows, deadline, {
    pacer: new ProviderPacer(),
    waitUntil: Infinity,
  });
  assert.equal(provider.calls, 2);
  assert.equal(result.outOfTime, true);
  assert.equal(result.providerError, null);
  assert.ok(result.embeddings.length > 0, "the rows whose chunks were all embedded are kept");
  assert.ok(result.untried.length > 0, "the rest go back untried");
  assert.equal(result.embeddings.length + result.untried.length, 8);
  assert.deepEqual(result.failures, []);
  const sent = result.embeddings.reduce((sum, one) => sum + one.chunks.length, 0);
  assert.ok(sent <= 64, "no more chunks than two requests held");
});
