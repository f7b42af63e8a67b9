// The embedding providers: the offline model and its projection, and the OpenAI-compatible client against a local endpoint.
import assert from "node:assert/strict";
import { embeddingProblem } from "../supabase/functions/_shared/embedding_checks.ts";
import { readEmbedConfig } from "../supabase/functions/_shared/embed_config.ts";
import { GteSmallProvider } from "../supabase/functions/_shared/providers/gte_small_provider.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import {
  OpenAiCompatibleProvider,
  openAiInputLimit,
} from "../supabase/functions/_shared/providers/openai_compatible_provider.ts";
import { ProviderError } from "../supabase/functions/_shared/providers/provider_error.ts";
import {
  parseResetDuration,
  parseRetryAfter,
  rateLimitWait,
} from "../supabase/functions/_shared/providers/retry_after.ts";
import {
  projectAndNormalize,
  seededOrthonormalProjection,
} from "../supabase/functions/_shared/providers/seeded_projection.ts";
import { localStackModel } from "../tools/stack/local_stack_settings.ts";

function cosine(a: number[], b: number[]): number {
  return a.reduce((sum, value, i) => sum + value * b[i], 0);
}

Deno.test("projection: 384 orthonormal rows of 512, the same for the same seed", () => {
  const projection = seededOrthonormalProjection(512, 384, 384_512);
  for (const [i, j] of [[0, 0], [0, 1], [17, 300], [383, 383], [200, 201]]) {
    const dot = projection.rows[i].reduce(
      (sum, value, k) => sum + value * projection.rows[j][k],
      0,
    );
    assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-9, `row ${i} . row ${j} = ${dot}`);
  }
  const again = seededOrthonormalProjection(512, 384, 384_512);
  assert.deepEqual(again.rows[100], projection.rows[100]);
  const other = seededOrthonormalProjection(512, 384, 1);
  assert.notDeepEqual(other.rows[0], projection.rows[0]);
  const unit = projectAndNormalize(projection, Array.from({ length: 512 }, (_, i) => Math.sin(i)));
  assert.ok(Math.abs(Math.hypot(...unit) - 1) < 1e-12);
});

Deno.test("local model: 384-dim unit vectors, deterministic, related text closer than unrelated", async () => {
  const provider = new LocalSentenceEncoderProvider(384);
  const texts = [
    "How do I voice jazz chords on the piano?",
    "Jazz piano chord voicings",
    "Compress the kick drum so it punches",
  ];
  const [first, related, unrelated] = await provider.embed(texts);
  for (const vector of [first, related, unrelated]) {
    assert.equal(embeddingProblem(vector, 384), null);
    assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-9);
  }
  assert.ok(
    cosine(first, related) > cosine(first, unrelated) + 0.1,
    `related ${cosine(first, related)} vs unrelated ${cosine(first, unrelated)}`,
  );
  const [again] = await provider.embed([texts[0]]);
  assert.deepEqual(again, first, "the same text gives the same vector");
});

Deno.test("openai-compatible: sends model, dimensions and texts; orders the answer by index", async () => {
  let received: { model: string; dimensions: number; input: string[] } | undefined;
  let authorization: string | null = null;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      received = await request.json();
      authorization = request.headers.get("authorization");
      const data = received!.input.map((text, index) => ({
        index,
        embedding: Array.from(
          { length: received!.dimensions },
          (_, d) => d === index ? 1 : text.length,
        ),
      }));
      return Response.json({ data: data.reverse() });
    },
  );
  try {
    const provider = new OpenAiCompatibleProvider({
      baseUrl: `http://127.0.0.1:${server.addr.port}/v1/`,
      apiKey: "sk-test",
      model: "text-embedding-3-small",
      dimensions: 384,
      requestBatchSize: 256,
      timeoutMs: 5000,
    });
    const vectors = await provider.embed(["a", "bb"]);
    assert.equal(received?.model, "text-embedding-3-small");
    assert.equal(received?.dimensions, 384);
    assert.deepEqual(received?.input, ["a", "bb"]);
    assert.equal(authorization, "Bearer sk-test");
    assert.equal(vectors[0][0], 1);
    assert.equal(vectors[1][1], 1);
  } finally {
    await server.shutdown();
  }
});

/** The error `promise` rejects with, which must be a ProviderError. */
async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProviderError, `a ProviderError, not ${error}`);
    return error;
  }
  throw new assert.AssertionError({ message: "expected the call to fail" });
}

Deno.test("openai-compatible: each failure is a ProviderError whose kind says whose fault it is", async () => {
  let answer: () => Response | Promise<Response> = () => Response.json({});
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      await request.arrayBuffer();
      return answer();
    },
  );
  const provider = (timeoutMs = 5000) =>
    new OpenAiCompatibleProvider({
      baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
      apiKey: undefined,
      model: "m",
      dimensions: 3,
      requestBatchSize: 256,
      timeoutMs,
    });
  const item = (index: unknown, embedding: unknown = [1, 0, 0]) => ({ index, embedding });
  try {
    const cases: [string, () => Response, ProviderError["kind"], RegExp, number | null][] = [
      [
        "429 with Retry-After in seconds",
        () =>
          new Response('{"error": {"message": "rate limited"}}', {
            status: 429,
            headers: { "retry-after": "7" },
          }),
        "rate_limited",
        /answered 429: .*rate limited/,
        7000,
      ],
      [
        "500",
        () => new Response("boom", { status: 500 }),
        "unavailable",
        /answered 500: boom/,
        null,
      ],
      [
        "503 with Retry-After",
        () => new Response("busy", { status: 503, headers: { "retry-after": "2" } }),
        "unavailable",
        /answered 503: busy/,
        2000,
      ],
      ["401", () => new Response("bad key", { status: 401 }), "unavailable", /answered 401/, null],
      [
        "400",
        () => new Response("input too long", { status: 400 }),
        "rejected_input",
        /answered 400: input too long/,
        null,
      ],
      [
        "not JSON",
        () => new Response("<html>oops</html>"),
        "malformed_answer",
        /with something other than JSON: <html>oops/,
        null,
      ],
      [
        "no data",
        () => Response.json({ error: "none" }),
        "malformed_answer",
        /without a data\[\]/,
        null,
      ],
      [
        "too few items",
        () => Response.json({ data: [item(0)] }),
        "malformed_answer",
        /the answer has 1 embeddings for 2 texts/,
        null,
      ],
      [
        "a repeated index",
        () => Response.json({ data: [item(0), item(0)] }),
        "malformed_answer",
        /index 0 appears 2 times in the answer/,
        null,
      ],
      [
        "an index out of range",
        () => Response.json({ data: [item(0), item(2)] }),
        "malformed_answer",
        /item 1 of the answer has index 2, not an integer from 0 to 1/,
        null,
      ],
      [
        "a missing index",
        () => Response.json({ data: [item(0), { embedding: [1, 0, 0] }] }),
        "malformed_answer",
        /item 1 of the answer has index undefined/,
        null,
      ],
      [
        "an embedding that is not an array",
        () => Response.json({ data: [item(0), item(1, "1,0,0")] }),
        "malformed_answer",
        /the embedding at index 1 is not an array/,
        null,
      ],
    ];
    for (const [label, respond, kind, message, retryAfterMs] of cases) {
      answer = respond;
      const error = await providerError(provider().embed(["a", "b"]));
      assert.equal(error.kind, kind, label);
      assert.match(error.message, message, label);
      assert.equal(error.retryAfterMs, retryAfterMs, label);
    }

    answer = () => new Promise((resolve) => setTimeout(() => resolve(Response.json({})), 500));
    const timedOut = await providerError(provider(50).embed(["a"]));
    assert.equal(timedOut.kind, "timeout");
    assert.match(timedOut.message, /did not answer within 50 ms \(OPENAI_TIMEOUT_MS\)/);

    const budget = new AbortController();
    setTimeout(() => budget.abort(), 50);
    const cut = await providerError(provider(5000).embed(["a"], { signal: budget.signal }));
    assert.equal(cut.kind, "timeout");
    assert.match(cut.message, /did not answer within the \d+ ms left of the run's time budget/);

    const spent = await providerError(provider().embed(["a"], { signal: AbortSignal.abort() }));
    assert.equal(spent.kind, "timeout", "no call starts once the budget is spent");
  } finally {
    await server.shutdown();
  }
});

Deno.test("openai-compatible: a provider nobody listens for is unavailable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const provider = new OpenAiCompatibleProvider({
    baseUrl: `http://127.0.0.1:${port}/v1`,
    apiKey: undefined,
    model: "m",
    dimensions: 3,
    requestBatchSize: 256,
    timeoutMs: 5000,
  });
  const error = await providerError(provider.embed(["a"]));
  assert.equal(error.kind, "unavailable");
  assert.match(error.message, /m: POST http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings failed: /);
});

Deno.test("openai-compatible: texts over the input limit are cut to it before they are sent", async () => {
  let received: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      received = (await request.json()).input;
      return Response.json({
        data: received.map((_, index) => ({ index, embedding: [1, 0, 0] })),
      });
    },
  );
  try {
    const provider = new OpenAiCompatibleProvider({
      baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
      apiKey: undefined,
      model: "m",
      dimensions: 3,
      requestBatchSize: 256,
      timeoutMs: 5000,
    });
    const limit = provider.inputLimit.maxCharacters;
    // An emoji is two UTF-16 units: the cut never leaves half of one.
    const long = "a".repeat(limit - 1) + "🎵🎵";
    await provider.embed(["short", long]);
    assert.equal(received[0], "short");
    assert.equal(received[1], "a".repeat(limit - 1), "cut before the emoji it would split");
  } finally {
    await server.shutdown();
  }
});

Deno.test("retry-after: seconds and HTTP-dates become milliseconds to wait; nonsense is ignored", () => {
  const now = Date.parse("2026-11-22T10:00:00Z");
  assert.equal(parseRetryAfter("120", now), 120_000);
  assert.equal(parseRetryAfter("0", now), 0);
  assert.equal(parseRetryAfter("1.5", now), 1_500);
  assert.equal(parseRetryAfter("Sun, 22 Nov 2026 10:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Sun, 22 Nov 2026 09:00:00 GMT", now), 0, "a past date is now");
  assert.equal(parseRetryAfter("99999999", now), 24 * 60 * 60 * 1000, "at most a day");
  assert.equal(parseRetryAfter(null, now), null);
  assert.equal(parseRetryAfter("soon", now), null);
  assert.equal(parseRetryAfter("-5", now), null);
});

Deno.test("local model: input it drops is rejected_input, so the worker finds the row; a spent budget is a timeout", async () => {
  const provider = new LocalSentenceEncoderProvider(384);
  const dropped = await providerError(provider.embed(["chords", ""]));
  assert.equal(dropped.kind, "rejected_input");
  assert.match(dropped.message, /returned 1 vectors for 2 texts/);
  const spent = await providerError(provider.embed(["chords"], { signal: AbortSignal.abort() }));
  assert.equal(spent.kind, "timeout");
});

Deno.test("providers: each declares how much text its model reads", () => {
  assert.deepEqual(new LocalSentenceEncoderProvider(384).inputLimit, {
    maxCharacters: 8_000,
    description: "8,000 characters",
  });
  assert.equal(new GteSmallProvider().inputLimit.maxCharacters, 1_536);
  assert.match(new GteSmallProvider().inputLimit.description, /^512 tokens \(estimated/);
  assert.equal(openAiInputLimit.maxCharacters, 24_573);
  assert.match(openAiInputLimit.description, /^8,191 tokens/);
});

Deno.test("gte-small: outside Supabase's edge runtime it says where it works, as the provider being unavailable", async () => {
  const error = await providerError(new GteSmallProvider().embed(["x"]));
  assert.equal(error.kind, "unavailable");
  assert.match(error.message, /needs Supabase's edge runtime/);
});

Deno.test("config: the local default is the offline model; gte-small on Supabase; bad names refused", () => {
  const env = { SUPABASE_DB_URL: "postgresql://x" };
  assert.equal(readEmbedConfig(env, false).providerSettings.provider, "local");
  assert.equal(readEmbedConfig(env, true).providerSettings.provider, "gte-small");
  assert.equal(
    readEmbedConfig({ ...env, EMBEDDING_PROVIDER: "openai" }, true).providerSettings.provider,
    "openai",
  );
  assert.throws(
    () => readEmbedConfig({ ...env, EMBEDDING_PROVIDER: "fake" }, false),
    /must be one of/,
  );
  assert.throws(() => readEmbedConfig({}, false), /SUPABASE_DB_URL is not set/);
  assert.throws(
    () => readEmbedConfig({ ...env, OPENAI_EMBEDDING_DIMENSIONS: "abc" }, false),
    /OPENAI_EMBEDDING_DIMENSIONS must be a positive integer/,
  );
});

Deno.test("config: OPENAI_TIMEOUT_MS sets the provider's timeout, 30000 ms unless set", () => {
  const env = { SUPABASE_DB_URL: "postgresql://x" };
  assert.equal(readEmbedConfig(env, false).providerSettings.openai.timeoutMs, 30_000);
  assert.equal(
    readEmbedConfig({ ...env, OPENAI_TIMEOUT_MS: "2500" }, false).providerSettings.openai.timeoutMs,
    2_500,
  );
  for (const bad of ["0", "-1", "1.5", "soon"]) {
    assert.throws(
      () => readEmbedConfig({ ...env, OPENAI_TIMEOUT_MS: bad }, false),
      /OPENAI_TIMEOUT_MS must be a positive integer/,
      bad,
    );
  }
});

Deno.test("local stack: the model its targets are registered with is the offline provider's model", () => {
  const provider = new LocalSentenceEncoderProvider(localStackModel.dimensions);
  assert.equal(provider.model, localStackModel.model);
  assert.equal(provider.dimensions, localStackModel.dimensions);
});

Deno.test("rate-limit wait: retry-after-ms first, then Retry-After, then the later x-ratelimit-reset-*", () => {
  const now = Date.parse("2026-11-22T10:00:00Z");
  assert.equal(parseResetDuration("6m0s"), 360_000);
  assert.equal(parseResetDuration("120ms"), 120);
  assert.equal(parseResetDuration("1.5s"), 1_500);
  assert.equal(parseResetDuration("1h2m3s"), 3_723_000);
  assert.equal(parseResetDuration("5 minutes"), null, "only OpenAI's own spelling");
  assert.equal(parseResetDuration("-1s"), null);
  assert.equal(parseResetDuration(null), null);
  const wait = (headers: Record<string, string>) => rateLimitWait(new Headers(headers), now);
  assert.equal(wait({ "retry-after-ms": "250", "retry-after": "1" }), 250, "the exact one wins");
  assert.equal(wait({ "retry-after": "2", "x-ratelimit-reset-tokens": "6m0s" }), 2_000);
  assert.equal(
    wait({ "x-ratelimit-reset-requests": "120ms", "x-ratelimit-reset-tokens": "1.5s" }),
    1_500,
    "which limit was hit is not said: the later reset",
  );
  assert.equal(wait({ "retry-after-ms": "soon", "x-ratelimit-reset-tokens": "6m0s" }), 360_000);
  assert.equal(wait({}), null);
});
