// Rows handed back untried: none for a local model whose backend is still starting, and a reason in the report whenever some are.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import {
  type ModelLoading,
  packagedModelLoading,
  type SentenceModel,
} from "../supabase/functions/_shared/providers/local_model_loading.ts";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { ProviderError } from "../supabase/functions/_shared/providers/provider_error.ts";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { defaultRunOptions, type RunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import type { WorkerReport } from "../supabase/functions/_shared/worker_report.ts";
import { queueCounts, resetToSeedRows, targetReport, withDatabase } from "./test_support.ts";

const options: RunOptions = { ...defaultRunOptions, batchSize: 5, target: "music_knowledge" };
/** What TF.js says when a model's weights are read before its WebAssembly backend has started. */
const backendStarting =
  "Backend 'wasm' has not yet been initialized. Make sure to await tf.ready() or await tf.setBackend() before calling other methods";

/**
 * A backend that starts when the test says so, and a load that fails, as TF.js's does, when the
 * weights are read before it has: the demo's second run, where the read won the race.
 */
function heldBackend(model: () => Promise<SentenceModel>): {
  loading: ModelLoading;
  start: () => void;
  loads: string[];
} {
  let started = false;
  let resolveStart = () => {};
  const ready = new Promise<void>((resolve) => resolveStart = resolve);
  const loads: string[] = [];
  const loading: ModelLoading = {
    backendReady: () => ready,
    load: () => {
      loads.push(started ? "after the backend started" : "while the backend was starting");
      return started ? model() : Promise.reject(new Error(backendStarting));
    },
  };
  const start = () => {
    started = true;
    resolveStart();
  };
  return { loading, start, loads };
}

Deno.test("local provider: the model's weights are read only once the backend has started", async () => {
  const fakeModel: SentenceModel = {
    embed: (input) => Promise.resolve(input.map(() => Array.from({ length: 512 }, () => 1))),
  };
  const backend = heldBackend(() => Promise.resolve(fakeModel));
  const provider = new LocalSentenceEncoderProvider(512, backend.loading);
  const embedded = provider.embed(["a catchy chorus"]);
  backend.start();
  const [vector] = await embedded;
  assert.deepEqual(backend.loads, ["after the backend started"]);
  assert.equal(vector.length, 512);
  assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-9);
});

function runWith(sql: postgres.Sql, provider: EmbeddingProvider): Promise<WorkerReport> {
  return runWorker(new PostgresTargetQueue(sql), provider, options);
}

Deno.test("worker: a local model whose backend is still starting costs no claim: every row claimed is written, none handed back", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const backend = heldBackend(() => packagedModelLoading.load());
    const local = new LocalSentenceEncoderProvider(384, backend.loading);
    let started = false;
    // The backend starts a moment after the first batch is sent to the model, as when the demo's
    // worker met it still starting.
    const provider: EmbeddingProvider = {
      name: local.name,
      model: local.model,
      dimensions: local.dimensions,
      embed: (texts, embedOptions) => {
        if (!started) setTimeout(backend.start, 0);
        started = true;
        return local.embed(texts, embedOptions);
      },
    };
    const report = await runWith(sql, provider);
    const music = targetReport(report, "music_knowledge");
    assert.equal(report.ok, true, report.message);
    assert.deepEqual(
      { claimed: music.claimed, written: music.written, released: music.released },
      { claimed: 20, written: 20, released: 0 },
      report.message,
    );
    assert.equal(report.providerRetries, 0, "the provider never failed");
    assert.deepEqual(backend.loads, ["after the backend started"]);
    assert.deepEqual(await queueCounts(sql, "music_knowledge"), {
      embedded: 20,
      pending: 0,
      inFlight: 0,
      deadLettered: 0,
    });
  }));

Deno.test("worker: rows handed back untried say why, even when the provider recovered and every row was written", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const model = new LocalSentenceEncoderProvider(384);
    let calls = 0;
    const provider: EmbeddingProvider = {
      name: "local",
      model: model.model,
      dimensions: model.dimensions,
      embed: (texts) => {
        calls += 1;
        if (calls === 1) throw new ProviderError("unavailable", "HTTP 503 from the model server");
        return model.embed(texts);
      },
    };
    const report = await runWith(sql, provider);
    const music = targetReport(report, "music_knowledge");
    assert.equal(report.stoppedBecause, "nothing_to_claim");
    assert.equal(report.providerRetries, 1);
    assert.deepEqual(
      { claimed: music.claimed, written: music.written, released: music.released },
      { claimed: 25, written: 20, released: 5 },
    );
    assert.deepEqual(music.releasedBecause, [
      "the embedding provider failed (HTTP 503 from the model server)",
    ]);
    assert.match(
      report.message,
      /music_knowledge: wrote 20 of 25 claimed \(5 handed back untried because the embedding provider failed \(HTTP 503 from the model server\)\)/,
    );
  }));
