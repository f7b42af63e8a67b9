// Shared setup for the command-line tests: the CLI as a child process against the embedded database in a directory of each test's own, stand-in targets and backfill reports.
import { join } from "node:path";
import postgres from "postgres";
import { openEmbeddedDatabase } from "../tools/embedded/embedded_database.ts";
import { createMeasurementTarget } from "../tools/cli/measurement_target.ts";
import { type CliRun, describeCliRun, runCli } from "../tools/cli/run_cli.ts";
import { projectRoot } from "../tools/stack/local_stack_settings.ts";

export const standInModel = "stand-in-hash-384";
export const localModel = "universal-sentence-encoder-lite-384";

/** No SUPABASE_DB_URL: the embedded default, in this test's own directory. */
export function embeddedEnvironment(dir: string): Record<string, string> {
  return { NO_COLOR: "1", SUPABASE_DB_URL: "", EMBEDDED_DB_DIR: dir };
}

/** The command line as a child process to signal while it runs. */
export function cliCommand(dir: string, args: readonly string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/cli.ts", ...args],
    cwd: projectRoot,
    env: embeddedEnvironment(dir),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

export function cli(dir: string, ...args: string[]): Promise<CliRun> {
  return runCli(args, embeddedEnvironment(dir));
}

export interface Embedded {
  dir: string;
  sql: postgres.Sql;
  run(...args: string[]): Promise<CliRun>;
  /** `backfill --provider stand-in --target <table> --json` and more args; its JSON report. */
  backfill(table: string, ...args: string[]): Promise<{ result: CliRun; outcome: BackfillJson }>;
}

/**
 * A temporary directory with the embedded database open in this process (the CLI's children
 * join it), closed and removed afterwards.
 */
export async function withEmbedded(work: (embedded: Embedded) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "cli-test-" });
  const dir = join(root, "pglite");
  try {
    const database = await openEmbeddedDatabase(dir);
    const sql = postgres(database.url, { max: 1, prepare: false, onnotice: () => {} });
    try {
      const run = (...args: string[]) => cli(dir, ...args);
      await work({
        dir,
        sql,
        run,
        backfill: (table, ...args) => standInBackfill(run, table, args),
      });
    } finally {
      await sql.end({ timeout: 5 });
      await database.close({ force: true });
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

export interface BackfillJson {
  ok: boolean;
  interrupted: boolean;
  workers: number;
  runs: number;
  written: number;
  failed: number;
  released: number;
  rateLimitWaits: number;
  rateLimitWaitMs: number;
  rowsPerSecond: number;
  errors: string[];
  failedRows: { target: string; key: string; error: string; deadLettered: boolean }[];
  indexes: { dropped: string[]; rebuilt: string[]; leftDropped: string[] };
  targets: {
    name: string;
    embedded: number;
    pending: number;
    inFlight: number;
    deadLettered: number;
  }[];
  message: string;
}

export async function storedVectors(sql: postgres.Sql, table: string): Promise<number> {
  const [{ count }] = await sql<{ count: number }[]>`
    select count(embedding)::int as count from ${sql("public")}.${sql(table)}`;
  return count;
}

export async function indexExists(sql: postgres.Sql, name: string): Promise<boolean> {
  const [{ present }] = await sql<{ present: boolean }[]>`
    select to_regclass(${name}) is not null as present`;
  return present;
}

async function standInBackfill(
  run: Embedded["run"],
  table: string,
  args: readonly string[],
): Promise<{ result: CliRun; outcome: BackfillJson }> {
  const result = await run(
    "backfill",
    "--provider",
    "stand-in",
    "--target",
    table,
    "--json",
    ...args,
  );
  let outcome: BackfillJson;
  try {
    outcome = JSON.parse(result.stdout) as BackfillJson;
  } catch {
    throw new Error(`backfill printed no JSON report: ${describeCliRun(result)}`);
  }
  return { result, outcome };
}

/** A measurement target of `rows` rows for the stand-in provider (createMeasurementTarget). */
export async function createStandInTarget(
  sql: postgres.Sql,
  table: string,
  rows: number,
): Promise<void> {
  await createMeasurementTarget(sql, { table, rows, model: standInModel });
}

/** Gives row `id` a text with nothing to embed and allows one attempt: a backfill dead-letters it. */
export async function makeRowFailOnce(
  sql: postgres.Sql,
  table: string,
  id: number,
  blankText = "",
): Promise<void> {
  await sql`update ${sql("public")}.${sql(table)} set body = ${blankText} where id = ${id}`;
  await sql`update embeddings.targets set max_attempts = 1 where name = ${table}`;
}
