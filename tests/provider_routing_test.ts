// Routing targets to providers: each target goes to the configured provider of its model (the 384 and 512 local models in one run), a target no provider serves is skipped with its reason, and a provider no target needs is never built.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { readEmbedConfig } from "../supabase/functions/_shared/embed_config.ts";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import {
  configuredRouter,
  type ProviderFactory,
} from "../supabase/functions/_shared/providers/configured_router.ts";
import { createProvider } from "../supabase/functions/_shared/providers/create_provider.ts";
import type { ProviderName } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import type { OpenAiSettings } from "../supabase/functions/_shared/providers/provider_settings.ts";
import { servedModel } from "../supabase/functions/_shared/providers/served_model.ts";
import { defaultRunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import { secretKey } from "../tools/stack/api_keys.ts";
import { startFunction } from "./fixtures/function_process.ts";
import {
  cosine,
  createNotesTarget,
  type NotesTarget,
  resetToSeedRows,
  storedVector,
  targetReport,
  withDatabase,
} from "./test_support.ts";

const openai: OpenAiSettings = {
  baseUrl: "https://api.openai.com/v1",
  apiKey: undefined,
  model: "text-embedding-3-small",
  dimensions: 1536,
  timeoutMs: 1000,
};
const model512 = "universal-sentence-encoder-lite-512";

/** A factory that builds the real providers and remembers which it was asked for. */
function countingFactory(): { create: ProviderFactory; built: ProviderName[] } {
  const built: ProviderName[] = [];
  return {
    built,
    create: (settings) => {
      built.push(settings.provider);
      return createProvider(settings);
    },
  };
}

/**
 * A notes target (createNotesTarget) registered again on a vector(512) column with the native
 * local model. (Not set_target_model: on a whole-row target whose column already has the new
 * size it tries to resize a chunk table.)
 */
async function create512Target(
  sql: postgres.Sql,
  table: string,
  rows: number,
): Promise<NotesTarget> {
  const first = await createNotesTarget(sql, table, rows);
  await sql`select embeddings.unregister_target(${first.id}::bigint)`;
  await sql.unsafe(
    `alter table public.${table} alter column embedding type extensions.vector(512)`,
  );
  const [{ id }] = await sql<{ id: string }[]>`
    select embeddings.register_target(${`public.${table}`}::regclass, 'id',
      ${`public.${table}_content(public.${table})`}::regprocedure, 'embedding',
      ${model512}, 512, 5) as id`;
  return {
    table,
    id: Number(id),
    drop: async () => {
      await sql`select embeddings.unregister_target(${id}::bigint)`;
      // Its content function goes with it.
      await sql.unsafe(`drop table public.${table} cascade`);
    },
  };
}

/** Runs `work` with a 512 target and a target of a model nobody serves, both dropped afterwards. */
async function withTwoMoreModels(
  sql: postgres.Sql,
  prefix: string,
  work: (native: NotesTarget, other: NotesTarget) => Promise<void>,
): Promise<void> {
  const native = await create512Target(sql, `${prefix}_512_notes`, 6);
  const other = await createNotesTarget(sql, `${prefix}_other_notes`, 3, {
    model: "other-model-384",
  });
  try {
    await work(native, other);
  } finally {
    await native.drop();
    await other.drop();
  }
}

Deno.test("routing: each provider's model is known from its settings, and is the model it builds", async () => {
  for (const name of ["local", "local-512", "openai"] as const) {
    const identity = servedModel(name, { ...openai, apiKey: "unused" });
    const provider = await createProvider({ provider: name, openai: { ...openai, apiKey: "x" } });
    assert.deepEqual(identity, { model: provider.model, dimensions: provider.dimensions }, name);
  }
  assert.deepEqual(servedModel("gte-small", openai), { model: "gte-small", dimensions: 384 });
  const native = new LocalSentenceEncoderProvider(512);
  assert.equal(native.name, "local-512");
  const [vector] = await native.embed(["reverb on the snare"]);
  assert.equal(vector.length, 512);
  assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-6, "unit length");
});

Deno.test("routing: EMBEDDING_PROVIDERS lists providers, EMBEDDING_PROVIDER stays the one-provider case", () => {
  const base = { SUPABASE_DB_URL: "postgres://x" };
  assert.deepEqual(
    readEmbedConfig({ ...base, EMBEDDING_PROVIDERS: "local, local-512,openai,local" }, false)
      .providers,
    ["local", "local-512", "openai"],
    "commas or spaces; a repeat is dropped",
  );
  assert.deepEqual(readEmbedConfig({ ...base, EMBEDDING_PROVIDER: "openai" }, false).providers, [
    "openai",
  ]);
  assert.deepEqual(readEmbedConfig(base, false).providers, ["local"]);
  assert.deepEqual(readEmbedConfig(base, true).providers, ["gte-small"]);
  assert.throws(
    () => readEmbedConfig({ ...base, EMBEDDING_PROVIDERS: "local,fake" }, false),
    /EMBEDDING_PROVIDERS must be one of .*; got "fake"/,
  );
  assert.throws(
    () =>
      readEmbedConfig(
        { ...base, EMBEDDING_PROVIDERS: "local,openai", EMBEDDING_PROVIDER: "local" },
        false,
      ),
    /disagree: set EMBEDDING_PROVIDERS alone/,
  );
  assert.throws(
    () =>
      configuredRouter(["local", "openai"], {
        ...openai,
        model: "universal-sentence-encoder-lite-384",
        dimensions: 384,
      }),
    /providers local and openai both make universal-sentence-encoder-lite-384 \(384 dimensions\)/,
  );
});

Deno.test("routing: a target no provider makes is skipped with its reason; nothing is built before a target needs it", () => {
  const { create, built } = countingFactory();
  const router = configuredRouter(["local", "local-512", "openai"], openai, create);
  const route = router.route({ id: 7, name: "odd", model: "other-model-384", dimensions: 384 });
  assert.equal(route.ok, false);
  assert.match(
    route.ok ? "" : route.reason,
    /^target odd embeds with model other-model-384 \(384 dimensions\) but no configured provider makes it \(local makes .*, local-512 makes universal-sentence-encoder-lite-512 \(512 dimensions\), openai makes text-embedding-3-small \(1536 dimensions\)\); vectors of two models are never mixed\. Configure a provider for other-model-384 \(EMBEDDING_PROVIDERS\) or switch/,
  );
  const native = router.route({ id: 8, name: "n", model: model512, dimensions: 512 });
  assert.equal(native.ok && native.entry.name, "local-512");
  assert.deepEqual(built, [], "routing builds nothing");
});

Deno.test("routing: one run embeds targets of the 384 and the 512 local models, skips a third model's, never builds openai", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    await withTwoMoreModels(sql, "route_run", async (native, other) => {
      const { create, built } = countingFactory();
      const router = configuredRouter(["openai", "local", "local-512"], openai, create);
      const report = await runWorker(new PostgresTargetQueue(sql), router, {
        ...defaultRunOptions,
        batchSize: 10,
      });
      assert.equal(report.ok, true, report.message);
      assert.deepEqual([...built].sort(), ["local", "local-512"], "openai was never built");
      assert.deepEqual(report.providers.map((use) => use.provider), ["local", "local-512"]);
      const music = targetReport(report, "music_knowledge");
      assert.deepEqual([music.provider, music.written, music.skipped], ["local", 20, null]);
      const nativePart = targetReport(report, native.table);
      assert.deepEqual([nativePart.provider, nativePart.written, nativePart.skipped], [
        "local-512",
        6,
        null,
      ]);
      const otherPart = targetReport(report, other.table);
      assert.deepEqual([otherPart.ok, otherPart.error, otherPart.claimed], [true, null, 0]);
      assert.match(otherPart.skipped ?? "", /embeds with model other-model-384/);
      assert.match(report.message, new RegExp(`${other.table}: skipped: target ${other.table}`));

      // Read back: 512 numbers a row, the native model's vector for its text.
      const stored = await storedVector(sql, native.table, "n0001");
      assert.equal(stored.length, 512);
      const [{ body }] = await sql<{ body: string }[]>`
        select body from public.${sql(native.table)} where id = 'n0001'`;
      const [expected] = await new LocalSentenceEncoderProvider(512).embed([body]);
      assert.ok(cosine(stored, expected) > 0.9999, "the native model's own vector");
      const [{ queued }] = await sql<{ queued: number }[]>`
        select count(*)::int as queued from embeddings.queue where target_id = ${other.id}`;
      assert.equal(queued, 3, "the skipped target's rows stay queued");
    });
  }));

Deno.test("routing: the embed function over HTTP serves two models in one invocation and answers 200 with the third skipped", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    await withTwoMoreModels(sql, "route_http", async (native, other) => {
      // openai for api.openai.com without a key cannot be built: a run that built it would fail.
      const embed = await startFunction("embed", {
        EMBEDDING_PROVIDERS: "local,local-512,openai",
        OPENAI_BASE_URL: "https://api.openai.com/v1",
        OPENAI_EMBEDDING_DIMENSIONS: "1536",
      });
      try {
        const response = await fetch(embed.url, {
          method: "POST",
          headers: { apikey: secretKey, "content-type": "application/json" },
          body: JSON.stringify({ batchSize: 10 }),
        });
        const report = await response.json();
        assert.equal(response.status, 200, report.message);
        assert.equal(report.ok, true);
        assert.equal(report.skipped, 1);
        assert.deepEqual(
          report.providers.map((use: { provider: string }) => use.provider),
          ["local", "local-512"],
        );
        const part = (name: string) =>
          report.targets.find((target: { target: string }) => target.target === name);
        assert.deepEqual([part(native.table).provider, part(native.table).written], [
          "local-512",
          6,
        ]);
        assert.equal(part("music_knowledge").written, 20);
        assert.match(part(other.table).skipped, /other-model-384.*EMBEDDING_PROVIDERS/);
        assert.doesNotMatch(embed.log(), /openai provider could not be set up/);
        const [{ stored }] = await sql<{ stored: number }[]>`
          select count(*)::int as stored from public.${sql(native.table)}
          where embedding is not null and extensions.vector_dims(embedding) = 512`;
        assert.equal(stored, 6);
      } finally {
        await embed.stop();
      }
    });
  }));
