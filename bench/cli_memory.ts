// Benchmark: the command line's peak memory (its process's VmHWM) for a backfill of N and of 10 N rows, to show it stays flat.
//
// usage: deno run -A bench/cli_memory.ts [--quick] [--db-url URL]
// The vectors come from the command line's stand-in provider (hash vectors, no model), so only the
// engine's and the command line's own memory is measured.
import postgres from "postgres";
import { StandInProvider } from "../tools/cli/stand_in_provider.ts";
import {
  type BenchContext,
  type BenchSection,
  rowsPerSecond,
  runStandalone,
} from "./bench_section.ts";
import {
  backfillArgs,
  backfillCommand,
  backfillOutcome,
  measurementTable,
  rowsWithVectors,
} from "./cli_runs.ts";
import { runWithPeakMemory } from "./process_memory.ts";

const table = "bench_cli_memory_rows";
const flags = ["--provider", "stand-in", "--batch-size", "500"];

interface SizeResult {
  rows: number;
  peakMb: number;
  wallMs: number;
  rate: number;
}

async function measureSize(
  sql: postgres.Sql,
  databaseUrl: string,
  rows: number,
): Promise<SizeResult> {
  const target = await measurementTable(sql, table, rows, new StandInProvider(384).model, false);
  try {
    const run = await runWithPeakMemory(Deno.execPath(), backfillArgs(table, databaseUrl, flags), {
      NO_COLOR: "1",
    });
    const outcome = backfillOutcome(run, rows);
    const stored = await rowsWithVectors(sql, table);
    if (stored !== rows) throw new Error(`${stored} of ${rows} rows have a vector`);
    return { rows, peakMb: run.peakKb / 1024, wallMs: run.wallMs, rate: outcome.rowsPerSecond };
  } finally {
    await target.drop();
  }
}

export async function cliMemory(context: BenchContext): Promise<BenchSection> {
  const small = context.size === "quick" ? 5_000 : 10_000;
  const sql = postgres(context.databaseUrl, { max: 1, onnotice: () => {} });
  const results: SizeResult[] = [];
  try {
    for (const rows of [small, small * 10]) {
      results.push(await measureSize(sql, context.databaseUrl, rows));
    }
  } finally {
    await sql.end();
  }
  const [first, last] = results;
  const growthMb = last.peakMb - first.peakMb;
  const flat = growthMb <= Math.max(20, first.peakMb * 0.1);
  return {
    title: "Peak memory of the command line",
    method: `\`backfill\` on a registered table of ${first.rows.toLocaleString("en-US")} and then ${
      last.rows.toLocaleString("en-US")
    } fresh rows (no vector index; the **stand-in provider** makes hash vectors, so only the engine and the database are measured), its peak resident set read from /proc/<pid>/status (VmHWM) every 50 ms until it exits.`,
    command: backfillCommand(table, flags),
    table: {
      header: ["rows", "peak RSS", "wall clock", "rows/s"],
      rows: results.map((result) => [
        result.rows.toLocaleString("en-US"),
        `${result.peakMb.toFixed(0)} MB`,
        `${(result.wallMs / 1000).toFixed(1)} s`,
        rowsPerSecond(result.rate),
      ]),
    },
    goals: [{
      goal: `peak memory flat from ${first.rows.toLocaleString("en-US")} to ${
        last.rows.toLocaleString("en-US")
      } rows (within 10% or 20 MB)`,
      measured: `${growthMb >= 0 ? "+" : ""}${growthMb.toFixed(0)} MB`,
      met: flat,
    }],
  };
}

if (import.meta.main) await runStandalone(cliMemory);
