// Benchmark: the command line's peak memory (its process's VmHWM) for a backfill of N and of 10 N rows, to show it stays flat.
//
// usage: deno run -A bench/cli_memory.ts [--quick] [--db-url URL]
// The vectors come from the command line's stand-in provider (hash vectors, no model), so only the
// engine's and the command line's own memory is measured.
import postgres from "postgres";
import { cliEntry } from "../tools/cli/run_cli.ts";
import { StandInProvider } from "../tools/cli/stand_in_provider.ts";
import { type BenchContext, type BenchSection, runStandalone } from "./bench_section.ts";
import { rowsPerSecond } from "./bench_figures.ts";
import { backfillArgs, backfillCommand, checkedBackfill, measurementTable } from "./cli_runs.ts";
import { runWithPeakMemory } from "./process_memory.ts";

const table = "bench_cli_memory_rows";
const flags = ["--provider", "stand-in", "--batch-size", "500"];

/** The V8 old-space cap of the second run of each size: what the command line keeps alive. */
const heapCapMb = 64;

interface SizeResult {
  rows: number;
  heapCapMb: number | null;
  peakMb: number;
  wallMs: number;
  rate: number;
}

async function measureSize(
  sql: postgres.Sql,
  databaseUrl: string,
  rows: number,
  heapCap: number | null,
): Promise<SizeResult> {
  const target = await measurementTable(sql, table, rows, new StandInProvider(384).model, false);
  try {
    const heapFlags = heapCap === null ? [] : [`--v8-flags=--max-old-space-size=${heapCap}`];
    const args = ["run", "-A", ...heapFlags, cliEntry, ...backfillArgs(table, databaseUrl, flags)];
    const measured = await runWithPeakMemory(Deno.execPath(), args, { NO_COLOR: "1" });
    const outcome = await checkedBackfill(sql, table, rows, measured);
    return {
      rows,
      heapCapMb: heapCap,
      peakMb: measured.peakKb / 1024,
      wallMs: measured.wallMs,
      rate: outcome.rowsPerSecond,
    };
  } finally {
    await target.drop();
  }
}

/** The goal for one configuration: the larger run's peak within 10% or 20 MB of the smaller's. */
function flatGoal(results: readonly SizeResult[], label: string) {
  const [first, last] = results;
  const growthMb = last.peakMb - first.peakMb;
  return {
    goal: `peak memory flat from ${first.rows.toLocaleString("en-US")} to ${
      last.rows.toLocaleString("en-US")
    } rows (within 10% or 20 MB), ${label}`,
    measured: `${first.peakMb.toFixed(0)} MB to ${last.peakMb.toFixed(0)} MB (${
      growthMb >= 0 ? "+" : ""
    }${growthMb.toFixed(0)} MB)`,
    met: growthMb <= Math.max(20, first.peakMb * 0.1),
  };
}

export async function cliMemory(context: BenchContext): Promise<BenchSection> {
  const small = context.size === "quick" ? 5_000 : 10_000;
  const sql = postgres(context.databaseUrl, { max: 1, onnotice: () => {} });
  const results: SizeResult[] = [];
  try {
    for (const heapCap of [null, heapCapMb]) {
      for (const rows of [small, small * 10]) {
        results.push(await measureSize(sql, context.databaseUrl, rows, heapCap));
      }
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
  const uncapped = results.filter((result) => result.heapCapMb === null);
  const capped = results.filter((result) => result.heapCapMb !== null);
  return {
    title: "Peak memory of the command line",
    method: `\`backfill\` on a registered table of ${small.toLocaleString("en-US")} and then ${
      (small * 10).toLocaleString("en-US")
    } fresh rows (no vector index; the **stand-in provider** makes hash vectors, so only the engine and the database are measured), its peak resident set read from /proc/<pid>/status (VmHWM) every 50 ms until it exits: as \`deno task cli\` runs it, then with V8's old space capped at ${heapCapMb} MB, which makes V8 collect early, so the peak shows what the command line keeps alive rather than the garbage V8 lets pile up on a long run.`,
    command: backfillCommand(table, flags),
    table: {
      header: ["rows", "V8 heap", "peak RSS", "wall clock", "rows/s"],
      rows: results.map((result) => [
        result.rows.toLocaleString("en-US"),
        result.heapCapMb === null ? "as deno runs it" : `capped at ${result.heapCapMb} MB`,
        `${result.peakMb.toFixed(0)} MB`,
        `${(result.wallMs / 1000).toFixed(1)} s`,
        rowsPerSecond(result.rate),
      ]),
    },
    goals: [
      flatGoal(uncapped, "as deno runs it"),
      flatGoal(capped, `V8 heap capped at ${heapCapMb} MB (what it keeps alive)`),
    ],
  };
}

if (import.meta.main) await runStandalone(cliMemory);
