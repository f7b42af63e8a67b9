// Benchmark: the local model on one core against both (`backfill --concurrency 1` and `2`, each worker a thread of its own), on the same rows, against the 1.7x on 2 cores.
//
// usage: deno run -A bench/cores.ts [--quick] [--db-url URL]
import postgres from "postgres";
import { runCli } from "../tools/cli/run_cli.ts";
import { localModelName } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { type BenchContext, type BenchSection, runStandalone } from "./bench_section.ts";
import { median, rowsPerSecond } from "./bench_figures.ts";
import { backfillArgs, backfillCommand, checkedBackfill, measurementTable } from "./cli_runs.ts";

const table = "bench_cores_rows";

async function backfillRate(
  sql: postgres.Sql,
  databaseUrl: string,
  rows: number,
  workers: number,
): Promise<number> {
  await sql`select embeddings.requeue_target(t.id) from embeddings.targets as t where t.name = ${table}`;
  const run = await runCli(backfillArgs(table, databaseUrl, ["--concurrency", String(workers)]));
  return (await checkedBackfill(sql, table, rows, run)).rowsPerSecond;
}

export async function cores(context: BenchContext): Promise<BenchSection> {
  const rows = context.size === "quick" ? 1_000 : 2_000;
  const rounds = context.size === "quick" ? 1 : 2;
  const cpus = navigator.hardwareConcurrency;
  const sql = postgres(context.databaseUrl, { max: 1, onnotice: () => {} });
  const rates: Record<1 | 2, number[]> = { 1: [], 2: [] };
  try {
    const target = await measurementTable(sql, table, rows, `${localModelName}-384`, false);
    try {
      for (let round = 0; round < rounds; round++) {
        for (const workers of [1, 2] as const) {
          rates[workers].push(await backfillRate(sql, context.databaseUrl, rows, workers));
        }
      }
    } finally {
      await target.drop();
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
  const one = median(rates[1]);
  const two = median(rates[2]);
  return {
    title: "The local model on every core",
    method: `\`backfill --concurrency 1\` and then \`--concurrency 2\` over the same ${
      rows.toLocaleString("en-US")
    } rows (queued again between runs) with the real local model (${localModelName}, TF.js on WebAssembly), each worker a thread with its own model and connection, on a machine with ${cpus} cores; no vector index. The rate is the command's own (rows written over the workers' run time, the model's loading included). Median of ${rounds} round(s).`,
    command: backfillCommand(table, ["--concurrency", "2"]),
    table: {
      header: ["workers", "rows/s", "against one"],
      rows: [
        ["1 (--concurrency 1)", rowsPerSecond(one), "1.00x"],
        ["2 (--concurrency 2)", rowsPerSecond(two), `${(two / one).toFixed(2)}x`],
      ],
    },
    goals: [{
      goal: "on 2 cores at least 1.7 times the one-core rate",
      measured: `${(two / one).toFixed(2)}x`,
      met: two / one >= 1.7,
    }],
  };
}

if (import.meta.main) await runStandalone(cores);
