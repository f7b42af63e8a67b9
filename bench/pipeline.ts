// Benchmark: the whole run with the real local model against the model alone on the same texts, with and without embedding batch n+1 while batch n is written.
//
// usage: deno run -A bench/pipeline.ts [--quick] [--db-url URL]
import postgres from "postgres";
import { BatchPipeline, type BatchResult } from "../supabase/functions/_shared/batch_pipeline.ts";
import { connectDatabase } from "../supabase/functions/_shared/database.ts";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { RunDeadline } from "../supabase/functions/_shared/run_deadline.ts";
import { defaultRunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import { emptyTargetReport } from "../supabase/functions/_shared/worker_report.ts";
import { createMeasurementTarget } from "../tools/cli/measurement_target.ts";
import { type BenchContext, type BenchSection, runStandalone } from "./bench_section.ts";
import { median, rowsPerSecond } from "./bench_figures.ts";

const table = "bench_pipeline_rows";

/** Rows per second of the model alone: the same texts, in the worker's batches, no database. */
async function providerRate(
  provider: LocalSentenceEncoderProvider,
  texts: readonly string[],
  batchSize: number,
): Promise<number> {
  const started = performance.now();
  for (let start = 0; start < texts.length; start += batchSize) {
    await provider.embed(texts.slice(start, start + batchSize));
  }
  return texts.length / ((performance.now() - started) / 1000);
}

/** Rows per second of the worker as it runs: embedding batch n+1 while batch n is written. */
async function pipelinedRate(
  sql: postgres.Sql,
  provider: LocalSentenceEncoderProvider,
  rows: number,
): Promise<number> {
  const report = await runWorker(new PostgresTargetQueue(sql), provider, {
    ...defaultRunOptions,
    maxRows: rows,
    timeBudgetMs: 600_000,
    target: table,
  });
  if (report.written !== rows) throw new Error(`the worker wrote ${report.written} of ${rows}`);
  return rows / (report.durationMs / 1000);
}

/** Rows per second of the same stages one after the other: claim, embed, write, claim... */
async function serialRate(
  sql: postgres.Sql,
  provider: LocalSentenceEncoderProvider,
  rows: number,
): Promise<number> {
  const queue = new PostgresTargetQueue(sql);
  const [target] = (await queue.listTargets()).filter((candidate) => candidate.name === table);
  const pipeline = new BatchPipeline(queue, provider, target, emptyTargetReport(target));
  const deadline = new RunDeadline(600_000);
  const started = performance.now();
  try {
    let result: BatchResult;
    do {
      result = await pipeline.runBatch(
        defaultRunOptions.batchSize,
        defaultRunOptions.leaseSeconds,
        deadline,
      );
    } while (result.outcome === "done");
    if (result.outcome !== "queue empty") throw new Error(`a batch ended ${result.outcome}`);
  } finally {
    deadline.dispose();
  }
  if (pipeline.report.written !== rows) {
    throw new Error(`the serial run wrote ${pipeline.report.written} of ${rows}`);
  }
  return rows / ((performance.now() - started) / 1000);
}

/** Each round's rates of the model alone, the worker as it runs, and the stages one by one. */
interface PipelineRates {
  provider: number[];
  pipelined: number[];
  serial: number[];
}

/** The three ways, `rounds` times, on a fresh measurement table of `rows` rows. */
async function measureRounds(
  admin: postgres.Sql,
  worker: postgres.Sql,
  provider: LocalSentenceEncoderProvider,
  { rows, rounds, batchSize }: { rows: number; rounds: number; batchSize: number },
): Promise<PipelineRates> {
  const rates: PipelineRates = { provider: [], pipelined: [], serial: [] };
  const target = await createMeasurementTarget(admin, { table, rows, model: provider.model });
  try {
    const texts = (await admin.unsafe<{ body: string }[]>(
      `select body from public.${table} order by id`,
    )).map((row) => row.body);
    // Loads the model and warms its kernels: not part of any rate.
    await providerRate(provider, texts, batchSize);
    // Without the HNSW index: the index's cost is the deferred-index benchmark's subject.
    await admin.unsafe(`drop index public.${table}_embedding_hnsw_idx`);
    const requeue = () =>
      admin`select embeddings.requeue_target(t.id) from embeddings.targets as t where t.name = ${table}`;
    for (let round = 0; round < rounds; round++) {
      rates.provider.push(await providerRate(provider, texts, batchSize));
      await requeue();
      rates.pipelined.push(await pipelinedRate(worker, provider, rows));
      await requeue();
      rates.serial.push(await serialRate(worker, provider, rows));
    }
    return rates;
  } finally {
    await target.drop();
  }
}

export async function pipeline(context: BenchContext): Promise<BenchSection> {
  const rows = context.size === "quick" ? 400 : 2000;
  const rounds = context.size === "quick" ? 2 : 3;
  const batchSize = defaultRunOptions.batchSize;
  const admin = postgres(context.databaseUrl, { max: 1, onnotice: () => {} });
  const worker = connectDatabase(context.databaseUrl);
  const provider = new LocalSentenceEncoderProvider(384);
  let rates: PipelineRates;
  try {
    rates = await measureRounds(admin, worker, provider, { rows, rounds, batchSize });
  } finally {
    await admin.end({ timeout: 5 });
    await worker.end({ timeout: 5 });
  }
  const raw = median(rates.provider);
  const pipelined = median(rates.pipelined);
  const serial = median(rates.serial);
  const ratio = pipelined / raw;
  return {
    title: "Pipeline: the local model with the database, against the model alone",
    method:
      `The real local model (${provider.model}, TF.js on WebAssembly, one core) embeds the same ${
        rows.toLocaleString("en-US")
      } texts three ways, in batches of ${batchSize} (the worker's default), on a registered table without a vector index: the model alone (no database); the worker as it runs (\`runWorker\`: while batch n is written, batch n+1 is claimed and embedded); and the same stages one after the other (claim, embed, write). Median of ${rounds} round(s), each way once per round.`,
    command: `deno run -A bench/pipeline.ts${context.size === "quick" ? " --quick" : ""}`,
    table: {
      header: ["run", "rows/s", "of the model alone"],
      rows: [
        ["the model alone, no database", rowsPerSecond(raw), "1.00"],
        ["worker: embed n+1 while writing n", rowsPerSecond(pipelined), ratio.toFixed(2)],
        [
          "claim, embed, write one after the other",
          rowsPerSecond(serial),
          (serial / raw).toFixed(2),
        ],
      ],
    },
    goals: [{
      goal: "end to end at least 0.9 of the provider's own rate on the same texts",
      measured: ratio.toFixed(2),
      met: ratio >= 0.9,
    }],
  };
}

if (import.meta.main) await runStandalone(pipeline);
