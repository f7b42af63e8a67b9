// The engine against the real database with fault-injecting wrappers around the real local model and store.
import assert from "node:assert/strict";
import { runBackfill } from "../supabase/functions/_shared/backfill.ts";
import type {
  EmbeddingStore,
  WriteOutcome,
} from "../supabase/functions/_shared/embedding_store.ts";
import { MusicKnowledgeStore } from "../supabase/functions/_shared/music_knowledge_store.ts";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { connectAsPostgres, resetToSeedRows, storedEmbeddingStats } from "./test_support.ts";

const sql = connectAsPostgres();
const store = new MusicKnowledgeStore(sql);
const localModel = new LocalSentenceEncoderProvider(384);
const options = { batchSize: 5, maxRows: 1000, timeBudgetMs: 60_000 };
const vocalEqId = "0a6b1f0e-2c1d-4a7e-9d0a-000000000006";

/** The real local model, with `corrupt` applied to its output. */
function providerWith(
  corrupt: (texts: readonly string[], vectors: number[][]) => number[][],
  dimensions = 384,
): EmbeddingProvider {
  return {
    name: "local",
    model: localModel.model,
    dimensions,
    embed: async (texts) => corrupt(texts, await localModel.embed(texts)),
  };
}

/** The real store, with `intercept` run before each write. */
function storeWith(
  intercept: (
    rows: Parameters<EmbeddingStore["writeEmbeddings"]>[0],
  ) => Promise<WriteOutcome | void>,
): EmbeddingStore {
  return {
    target: store.target,
    dimensions: store.dimensions,
    pendingRows: (afterId, limit) => store.pendingRows(afterId, limit),
    counts: () => store.counts(),
    writeEmbeddings: async (rows) => (await intercept(rows)) ?? store.writeEmbeddings(rows),
  };
}

const testOptions = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  ...testOptions,
  name: "engine: a NaN vector fails only its row, names it, and the rest are written",
  fn: async () => {
    await resetToSeedRows(sql);
    const provider = providerWith((texts, vectors) =>
      vectors.map((vector, i) =>
        texts[i].startsWith("vocal eq") ? vector.map((v, d) => d === 10 ? NaN : v) : vector
      )
    );
    const report = await runBackfill(store, provider, options);
    assert.equal(report.ok, false);
    assert.equal(report.processed, 20);
    assert.equal(report.written, 19);
    assert.deepEqual(report.failed, [{
      id: vocalEqId,
      error:
        "universal-sentence-encoder-lite-384: embedding element 11 is NaN, not a finite number",
    }]);
    assert.equal(report.remaining, 1, "the failed row stays pending, nothing is lost");
    assert.equal((await storedEmbeddingStats(sql)).embedded, 19);
  },
});

Deno.test({
  ...testOptions,
  name: "engine: a provider failure mid-run keeps written batches and loses no row",
  fn: async () => {
    await resetToSeedRows(sql);
    let calls = 0;
    const provider = providerWith((_texts, vectors) => {
      calls += 1;
      if (calls === 2) throw new Error("HTTP 503 from the model server");
      return vectors;
    });
    const report = await runBackfill(store, provider, options);
    assert.equal(report.ok, false);
    assert.equal(report.stoppedBecause, "embedding provider failed");
    assert.equal(report.written, 5, "the first batch was written");
    assert.equal(report.failed.length, 5, "the second batch failed as a whole");
    assert.match(
      report.failed[0].error,
      /embedding provider local failed: HTTP 503 from the model server/,
    );
    assert.equal(report.remaining, 15);
    assert.equal((await storedEmbeddingStats(sql)).embedded, 5);
  },
});

Deno.test({
  ...testOptions,
  name:
    "engine: a provider that returns too few vectors fails the batch instead of misaligning rows",
  fn: async () => {
    await resetToSeedRows(sql);
    const provider = providerWith((_texts, vectors) => vectors.slice(1));
    const report = await runBackfill(store, provider, options);
    assert.equal(report.written, 0);
    assert.match(report.failed[0].error, /returned 4 vectors for 5 texts/);
    assert.equal(report.remaining, 20);
  },
});

Deno.test({
  ...testOptions,
  name: "engine: a row deleted while its batch is embedded is reported, not counted",
  fn: async () => {
    await resetToSeedRows(sql);
    const deletedId = "b914834e-74fd-4df9-9723-6c87fc54b6dc";
    const racingStore = storeWith(async (rows) => {
      if (rows.some((row) => row.id === deletedId)) {
        await sql`delete from public.music_knowledge where id = ${deletedId}`;
      }
    });
    const report = await runBackfill(racingStore, localModel, options);
    assert.equal(report.written, 19);
    assert.deepEqual(report.failed, [{
      id: deletedId,
      error: "row no longer exists: it was deleted before its embedding was written",
    }]);
    assert.equal(report.total, 19);
    assert.equal(report.remaining, 0);
  },
});

Deno.test({
  ...testOptions,
  name: "engine: a write answer that does not match the batch is not trusted",
  fn: async () => {
    await resetToSeedRows(sql);
    const lyingStore = storeWith((rows) =>
      Promise.resolve({ writtenIds: rows.map((row) => row.id).slice(1), unwrittenIds: [] })
    );
    const report = await runBackfill(lyingStore, localModel, options);
    assert.equal(report.written, 0);
    assert.equal(report.stoppedBecause, "database write failed");
    assert.match(report.failed[0].error, /does not match the batch .*unaccounted ids: /);
  },
});

Deno.test({
  ...testOptions,
  name: "engine: a provider of the wrong size is refused before anything is read or written",
  fn: async () => {
    await resetToSeedRows(sql);
    const wrongSize = providerWith((_texts, vectors) => vectors, 512);
    await assert.rejects(
      runBackfill(store, wrongSize, options),
      /makes 512-dimension vectors but music_knowledge's embedding column holds 384/,
    );
    assert.equal((await storedEmbeddingStats(sql)).embedded, 0);
  },
});

Deno.test({
  ...testOptions,
  name: "engine: the time budget stops the run between batches",
  fn: async () => {
    await resetToSeedRows(sql);
    const slow = providerWith((_texts, vectors) => vectors);
    const slowEmbed = slow.embed;
    slow.embed = async (texts) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return slowEmbed(texts);
    };
    const report = await runBackfill(store, slow, { ...options, timeBudgetMs: 300 });
    assert.equal(report.stoppedBecause, "time budget spent");
    assert.equal(report.batches, 1);
    assert.equal(report.written, 5);
    assert.equal(report.remaining, 15);
  },
});

Deno.test({
  ...testOptions,
  name: "engine: close the database connection",
  fn: async () => {
    await sql.end();
  },
});
