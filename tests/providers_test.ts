// The embedding providers: the offline model and its projection, and the OpenAI-compatible client against a local endpoint.
import assert from "node:assert/strict";
import { embeddingProblem } from "../supabase/functions/_shared/embedding_checks.ts";
import { readEmbedConfig } from "../supabase/functions/_shared/embed_config.ts";
import { GteSmallProvider } from "../supabase/functions/_shared/providers/gte_small_provider.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { OpenAiCompatibleProvider } from "../supabase/functions/_shared/providers/openai_compatible_provider.ts";
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

Deno.test("local model: an empty text is an error, not a silently missing vector", async () => {
  const provider = new LocalSentenceEncoderProvider(384);
  await assert.rejects(provider.embed(["chords", ""]), /returned 1 vectors for 2 texts/);
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

Deno.test("openai-compatible: HTTP errors and short answers are errors that say what happened", async () => {
  let mode = "error";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      mode === "error"
        ? new Response('{"error": {"message": "rate limited"}}', { status: 429 })
        : Response.json({ data: [{ index: 0, embedding: [1] }] }),
  );
  try {
    const provider = new OpenAiCompatibleProvider({
      baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
      apiKey: undefined,
      model: "m",
      dimensions: 384,
      requestBatchSize: 256,
      timeoutMs: 5000,
    });
    await assert.rejects(provider.embed(["a", "b"]), /answered 429: .*rate limited/);
    mode = "short";
    await assert.rejects(provider.embed(["a", "b"]), /m returned 1 embeddings for 2 texts/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("gte-small: outside Supabase's edge runtime it says where it works", async () => {
  await assert.rejects(new GteSmallProvider().embed(["x"]), /needs Supabase's edge runtime/);
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

Deno.test("local stack: the model its targets are registered with is the offline provider's model", () => {
  const provider = new LocalSentenceEncoderProvider(localStackModel.dimensions);
  assert.equal(provider.model, localStackModel.model);
  assert.equal(provider.dimensions, localStackModel.dimensions);
});
