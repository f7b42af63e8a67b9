// A chunked target's chunking as the worker applies it (target_chunking.ts): read from the registry, measured in its unit, capped at the provider's input limit. No database.
import assert from "node:assert/strict";
import { cappedChunking, parseChunking } from "../supabase/functions/_shared/target_chunking.ts";
import { defaultMeasure } from "../supabase/functions/_shared/chunking/chunk_text.ts";
import type { InputLimit } from "../supabase/functions/_shared/providers/input_limit.ts";

const gteSmall: InputLimit = { maxCharacters: 1_536, description: "512 tokens" };

Deno.test("target chunking: the registry's jsonb is read as it is, null as a whole-row target", () => {
  assert.equal(parseChunking(null), null);
  assert.deepEqual(
    parseChunking({ unit: "tokens", size: 256, overlap: 32, splitter: "markdown" }),
    { unit: "tokens", size: 256, overlap: 32, splitter: "markdown" },
  );
});

Deno.test("target chunking: what the engine would never hold is refused, naming it", () => {
  for (
    const held of [
      { unit: "words", size: 100, overlap: 0, splitter: "recursive" },
      { unit: "characters", size: 100, overlap: 100, splitter: "recursive" },
      { unit: "characters", size: 0, overlap: 0, splitter: "recursive" },
      { unit: "characters", size: 100, overlap: 0 },
      "characters",
    ]
  ) {
    assert.throws(() => parseChunking(held), /the target's chunking .* is not \{"unit"/);
  }
});

Deno.test("target chunking: tokens are measured as request sizing estimates them, characters as String.length", () => {
  assert.equal(defaultMeasure("tokens")("a".repeat(10)), 4);
  assert.equal(defaultMeasure("characters")("a".repeat(10)), 10);
});

Deno.test("target chunking: a size past the input limit is capped at it, the overlap scaled with it", () => {
  const characters = {
    unit: "characters",
    size: 3_072,
    overlap: 300,
    splitter: "recursive",
  } as const;
  assert.deepEqual(cappedChunking(characters, gteSmall), {
    ...characters,
    size: 1_536,
    overlap: 150,
  });
  const tokens = { unit: "tokens", size: 1_024, overlap: 100, splitter: "recursive" } as const;
  assert.deepEqual(cappedChunking(tokens, gteSmall), { ...tokens, size: 512, overlap: 50 });
  const within = { ...tokens, size: 400 };
  assert.equal(cappedChunking(within, gteSmall), within, "a size within the limit is kept");
  assert.equal(cappedChunking(tokens, undefined), tokens, "no limit said, nothing capped");
});
