// Benchmark: a large backfill with the HNSW index deferred (`backfill --defer-index`: dropped, the rows written, the index built once), index build included, against the issue's 5,000 rows/s.
//
// usage: deno run -A bench/deferred_index.ts [--quick] [--db-url URL]
// The vectors come from the command line's stand-in provider (hash vectors, no model): the
// database's work is what is timed.
import postgres from "postgres";
import { runCli } from "../tools/cli/run_cli.ts";
import { StandInProvider } from "../tools/cli/stand_in_provider.ts";
import { type BenchContext, type BenchSection, runStandalone } from "./bench_section.ts";
import { rowsPerSecond } from "./bench_figures.ts";
import {
  backfillArgs,
  backfillCommand,
  backfillOutcome,
  measurementTable,
  rowsWithVectors,
} from "./cli_runs.ts";

const table = "bench_deferred_index_rows";
const flags = [
  "--provider",
  "stand-in",
  "--batch-size",
  "500",
  "--concurrency",
  "2",
  "--defer-index",
];

export async function deferredIndex(context: BenchContext): Promise<BenchSection> {
  const rows = context.size === "quick" ? 10_000 : 100_000;
  const sql = postgres(context.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const target = await measurementTable(sql, table, rows, new StandInProvider(384).model, true);
    try {
      const run = await runCli(backfillArgs(table, context.databaseUrl, flags));
      const outcome = backfillOutcome(run, rows);
      const buildSeconds = Number(run.stderr.match(/built in ([\d.]+) s/)?.[1] ?? NaN);
      const stored = await rowsWithVectors(sql, table);
      const [{ indexed }] = await sql<{ indexed: boolean }[]>`
        select to_regclass(${`public.${table}_embedding_hnsw_idx`}) is not null as indexed`;
      if (stored !== rows || !indexed) {
        throw new Error(
          `after the backfill ${stored} of ${rows} rows have a vector; index: ${indexed}`,
        );
      }
      const rate = rows / (run.wallMs / 1000);
      return {
        title: "A large backfill with the index deferred",
        method: `\`backfill --defer-index\` on ${
          rows.toLocaleString("en-US")
        } fresh rows of a table with an HNSW index (vector_cosine_ops, 384 dimensions): it records and drops the index, two workers write every row (the command line's **stand-in provider**: hash vectors, no model), then it builds the index once (with maintenance_work_mem raised to 256 MB for the build). A crash mid-way leaves the table usable and the next backfill builds the index (tested in tests/cli_commands_test.ts). The rate counts the whole command: start, writes and index build.`,
        command: backfillCommand(table, flags),
        table: {
          header: [
            "rows",
            "whole command",
            "of which writes",
            "of which index build",
            "rows/s, build included",
          ],
          rows: [[
            rows.toLocaleString("en-US"),
            `${(run.wallMs / 1000).toFixed(1)} s`,
            `${(outcome.durationMs / 1000).toFixed(1)} s (${rowsPerSecond(outcome.rowsPerSecond)})`,
            `${buildSeconds.toFixed(1)} s`,
            rowsPerSecond(rate),
          ]],
        },
        goals: [{
          goal: `${
            rows.toLocaleString("en-US")
          } rows at 5,000 rows/s or more, index build included`,
          measured: rowsPerSecond(rate),
          met: rate >= 5000,
        }],
      };
    } finally {
      await target.drop();
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.main) await runStandalone(deferredIndex);
