// The quota benchmark's OpenAI-compatible server (bench/quota_openai_server.ts): limits enforced, OpenAI's headers and error shapes, deterministic vectors, counts. No database, no timing asserted.
import assert from "node:assert/strict";
import {
  openAiDuration,
  type QuotaServer,
  type QuotaSettings,
  startQuotaServer,
} from "../bench/quota_openai_server.ts";
import { OpenAiCompatibleProvider } from "../supabase/functions/_shared/providers/openai_compatible_provider.ts";
import { ProviderError } from "../supabase/functions/_shared/providers/provider_error.ts";

const model = "text-embedding-3-small";

async function withServer(
  settings: Partial<QuotaSettings>,
  work: (server: QuotaServer) => Promise<void>,
): Promise<void> {
  const server = startQuotaServer({ latencyMs: 0, ...settings });
  try {
    await work(server);
  } finally {
    await server.close();
  }
}

function embed(server: QuotaServer, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${server.baseUrl}/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, ...body }),
  });
}

interface ErrorBody {
  error: { message: string; type: string; code: string | null };
}

Deno.test("quota server: answers deterministic unit vectors of the asked dimensions, with usage and rate headers", () =>
  withServer({}, async (server) => {
    const first = await embed(server, { input: ["a chorus", "a bridge"], dimensions: 8 });
    assert.equal(first.status, 200);
    const body = await first.json() as {
      data: { index: number; embedding: number[] }[];
      usage: { prompt_tokens: number };
    };
    assert.deepEqual(body.data.map((item) => [item.index, item.embedding.length]), [[0, 8], [
      1,
      8,
    ]]);
    assert.ok(Math.abs(Math.hypot(...body.data[0].embedding) - 1) < 1e-9);
    assert.equal(body.usage.prompt_tokens, 3 + 3, "ceil(8 / 3) per text");
    assert.equal(first.headers.get("x-ratelimit-limit-tokens"), "600000");
    assert.match(first.headers.get("x-ratelimit-remaining-tokens") ?? "", /^\d+$/);
    assert.match(first.headers.get("x-ratelimit-reset-tokens") ?? "", /^\d+(\.\d+)?m?s$/);
    const again = await (await embed(server, { input: "a chorus", dimensions: 8 })).json() as {
      data: { embedding: number[] }[];
    };
    assert.deepEqual(again.data[0].embedding, body.data[0].embedding, "same text, same vector");
    assert.deepEqual(server.counts, {
      calls: 2,
      answered: 2,
      rateLimited: 0,
      refused: 0,
      tokens: 9,
      texts: 3,
    });
  }));

Deno.test("quota server: over the tokens per minute it answers 429 with retry-after, retry-after-ms and x-ratelimit-* headers", () =>
  // 60 tokens a minute with 10 s of burst: the bucket holds 10 tokens and refills one a second.
  withServer({ tokensPerMinute: 60, burstSeconds: 10 }, async (server) => {
    const admitted = await embed(server, { input: "x".repeat(30) });
    assert.equal(admitted.status, 200, "10 tokens fit the full bucket");
    await admitted.body?.cancel();
    const refused = await embed(server, { input: "x".repeat(30) });
    assert.equal(refused.status, 429);
    const retryAfterMs = Number(refused.headers.get("retry-after-ms"));
    assert.ok(retryAfterMs > 0, `retry-after-ms ${retryAfterMs}`);
    assert.equal(refused.headers.get("retry-after"), String(Math.ceil(retryAfterMs / 1000)));
    assert.equal(refused.headers.get("x-ratelimit-remaining-tokens"), "0");
    assert.match(refused.headers.get("x-ratelimit-reset-tokens") ?? "", /^\d+(\.\d+)?m?s$/);
    assert.ok(refused.headers.has("x-ratelimit-remaining-requests"));
    assert.ok(refused.headers.has("x-ratelimit-reset-requests"));
    const body = await refused.json() as ErrorBody;
    assert.equal(body.error.code, "rate_limit_exceeded");
    assert.equal(body.error.type, "tokens");
    assert.equal(server.counts.rateLimited, 1);
    assert.equal(server.counts.tokens, 10, "a refused call is not charged");
  }));

Deno.test("quota server: over the requests per minute it answers 429 naming the requests limit", () =>
  withServer({ requestsPerMinute: 6, burstSeconds: 10 }, async (server) => {
    await (await embed(server, { input: "one" })).body?.cancel();
    const refused = await embed(server, { input: "two" });
    assert.equal(refused.status, 429);
    assert.equal(((await refused.json()) as ErrorBody).error.type, "requests");
    assert.equal(refused.headers.get("x-ratelimit-remaining-requests"), "0");
  }));

Deno.test("quota server: per-request caps and unknown models are refused with OpenAI's error shape", () =>
  withServer({ maxInputs: 2, maxTokensPerRequest: 5 }, async (server) => {
    const tooMany = await embed(server, { input: ["a", "b", "c"] });
    assert.equal(tooMany.status, 400);
    assert.match(((await tooMany.json()) as ErrorBody).error.message, /3 texts; at most 2/);
    const tooLong = await embed(server, { input: ["x".repeat(18)] });
    assert.equal(tooLong.status, 400);
    assert.equal(((await tooLong.json()) as ErrorBody).error.code, "max_tokens_per_request");
    const unknown = await embed(server, { model: "no-such-model", input: "a" });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as ErrorBody).error.code, "model_not_found");
    assert.deepEqual([server.counts.refused, server.counts.answered], [3, 0]);
  }));

Deno.test("quota server: the project's OpenAI-compatible provider reads its 429 as rate_limited with the wait", () =>
  withServer({ tokensPerMinute: 60, burstSeconds: 10 }, async (server) => {
    const provider = new OpenAiCompatibleProvider({
      baseUrl: server.baseUrl,
      apiKey: undefined,
      model,
      dimensions: 4,
      timeoutMs: 10_000,
      requestBatchSize: 256,
    });
    assert.equal((await provider.embed(["x".repeat(30)]))[0].length, 4);
    const refusal = await provider.embed(["x".repeat(30)]).then(() => null, (error) => error);
    assert.ok(refusal instanceof ProviderError, String(refusal));
    assert.equal(refusal.kind, "rate_limited");
    assert.ok((refusal.retryAfterMs ?? 0) > 0);
  }));

Deno.test("quota server: durations are written as OpenAI writes them", () => {
  assert.deepEqual(
    [120, 1500, 360_000, 61_250].map(openAiDuration),
    ["120ms", "1.5s", "6m0s", "1m1.25s"],
  );
});
