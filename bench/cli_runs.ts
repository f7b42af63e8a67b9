// The command line as the benchmarks drive it: a fresh measurement table, then `deno task cli backfill ... --json` in a child process, its report parsed and every row read back.
import type postgres from "postgres";
import { createMeasurementTarget } from "../tools/cli/measurement_target.ts";

/** What `backfill --json` prints that the benchmarks use. */
export interface BackfillOutcome {
  ok: boolean;
  written: number;
  durationMs: number;
  rowsPerSecond: number;
}

/** The arguments of `deno task cli backfill` on one target (for runCli). */
export function backfillArgs(
  table: string,
  databaseUrl: string,
  flags: readonly string[],
): string[] {
  return [
    "backfill",
    "--target",
    table,
    "--max-rows",
    "1000000",
    "--json",
    "--db-url",
    databaseUrl,
    ...flags,
  ];
}

/** The command as a reader would type it, for BENCHMARKS.md. */
export function backfillCommand(table: string, flags: readonly string[]): string {
  return `deno task cli backfill --target ${table} ${flags.join(" ")} --json`;
}

/** Parses backfill's JSON report; an error quoting both streams when the run failed. */
export function backfillOutcome(
  run: { code: number; stdout: string; stderr: string },
  rows: number,
): BackfillOutcome {
  let outcome: BackfillOutcome;
  try {
    outcome = JSON.parse(run.stdout) as BackfillOutcome;
  } catch {
    throw new Error(`backfill printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  if (run.code !== 0 || !outcome.ok || outcome.written !== rows) {
    throw new Error(
      `backfill wrote ${outcome.written} of ${rows} rows (exit ${run.code}):\n${run.stderr}`,
    );
  }
  return outcome;
}

/** Backfill's report of a run that must have embedded all `rows` rows, each counted back from the table. */
export async function checkedBackfill(
  sql: postgres.Sql,
  table: string,
  rows: number,
  run: { code: number; stdout: string; stderr: string },
): Promise<BackfillOutcome> {
  const outcome = backfillOutcome(run, rows);
  const stored = await rowsWithVectors(sql, table);
  if (stored !== rows) throw new Error(`${stored} of ${rows} rows have a vector`);
  return outcome;
}

/** Rows of the table with a vector, counted from the table itself. */
export async function rowsWithVectors(sql: postgres.Sql, table: string): Promise<number> {
  const [{ count }] = await sql.unsafe<{ count: number }[]>(
    `select count(*)::int as count from public.${table} where embedding is not null`,
  );
  return count;
}

/** A fresh measurement table of `rows` rows, registered with `model`, optionally without its HNSW index. */
export async function measurementTable(
  sql: postgres.Sql,
  table: string,
  rows: number,
  model: string,
  withIndex: boolean,
): Promise<{ drop(): Promise<void> }> {
  const target = await createMeasurementTarget(sql, { table, rows, model });
  if (!withIndex) await sql.unsafe(`drop index public.${table}_embedding_hnsw_idx`);
  return target;
}
