// `deno task test`: builds the local stack's database afresh (as `supabase db reset`) with its PgBouncer pooler, runs Supabase's linter and advisors, pgTAP (pg_prove, as `supabase test db`), the Deno tests and the benchmarks at their quick size, and prints one `N passed, N failed` line.
import { join } from "node:path";
import { lintFunctions, runAdvisors, type SuiteResult } from "./database_checks.ts";
import { resetStack, stopStack } from "./stack/local_stack.ts";
import { isPostgresRunning } from "./stack/postgres_cluster.ts";
import { databaseUrl, postgresConnectionArgs, projectRoot } from "./stack/local_stack_settings.ts";

/**
 * Runs a suite, showing its output as it comes. A suite still running after `limitMinutes` is
 * stopped and fails, so that a hang is reported with the closing line well within CI's time.
 */
async function runAndShow(
  program: string,
  args: string[],
  limitMinutes: number,
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(program, {
    args,
    env,
    cwd: projectRoot,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      await sink.write(chunk);
    }
  };
  let overran = false;
  const limit = setTimeout(() => {
    overran = true;
    console.error(`stopping ${program} ${args[0]}: still running after ${limitMinutes} minutes`);
    child.kill("SIGKILL");
  }, limitMinutes * 60_000);
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, Deno.stdout),
    pump(child.stderr, Deno.stderr),
  ]);
  clearTimeout(limit);
  return { code: overran ? 124 : status.code, output };
}

/**
 * pg_prove's summary: Tests=N, and per failing file "Tests: N Failed: F"; NOTESTS is a failure.
 * Each test file includes the pgTAP helpers (supabase/tests/fixtures/test_helpers.psql) inside its
 * own transaction, so nothing is applied beforehand and any file runs alone.
 */
async function runPgTap(): Promise<SuiteResult> {
  // The files `supabase test db` runs: pg_prove --ext .pg --ext .sql -r supabase/tests.
  const { code, output } = await runAndShow("pg_prove", [
    ...postgresConnectionArgs,
    "-d",
    "postgres",
    "--ext",
    ".pg",
    "--ext",
    ".sql",
    "-r",
    join("supabase", "tests"),
  ], 15);
  const total = Number(output.match(/Files=\d+, Tests=(\d+)/)?.[1] ?? 0);
  let failed = [...output.matchAll(/Tests: \d+ Failed: (\d+)\)/g)]
    .reduce((sum, match) => sum + Number(match[1]), 0);
  const result = output.match(/Result: (\w+)/)?.[1];
  if (total === 0 || result === "NOTESTS") {
    console.error("pgTAP: no tests ran (NOTESTS counts as a failure)");
    failed = Math.max(failed, 1);
  } else if ((code !== 0 || result !== "PASS") && failed === 0) {
    // A file that died or broke its plan fails without a failed assertion to count.
    failed = 1;
  }
  return { name: "pgTAP", passed: Math.max(total - failed, 0), failed };
}

/** deno test's closing line: "ok | 12 passed (3 steps) | 0 failed". */
async function runDenoTests(): Promise<SuiteResult> {
  // Without colour codes the summary line can be read as plain text.
  const { code, output } = await runAndShow(Deno.execPath(), ["test", "-A", "tests/"], 30, {
    NO_COLOR: "1",
  });
  const match = output.match(/(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
  const passed = Number(match?.[1] ?? 0);
  let failed = Number(match?.[2] ?? 0);
  if (!match || (code !== 0 && failed === 0)) failed = Math.max(failed, 1);
  return { name: "deno test", passed, failed };
}

/**
 * `deno task bench --quick`: every benchmark runs to the end on small data and checks what it
 * wrote (each counts its rows back from the table). Its timings are reported, never asserted.
 */
async function runQuickBenchmarks(): Promise<SuiteResult> {
  const report = join(await Deno.makeTempDir({ prefix: "bench-" }), "BENCHMARKS.quick.md");
  const { code, output } = await runAndShow(
    Deno.execPath(),
    [
      "run",
      "-A",
      join("bench", "main.ts"),
      "--quick",
      "--out",
      report,
      // The local stack's database, never a SUPABASE_DB_URL the shell may export: they create,
      // drop and reconfigure things.
      "--db-url",
      databaseUrl,
    ],
    25,
    { NO_COLOR: "1" },
  );
  const match = output.match(/bench: wrote .*: (\d+) benchmarks, (\d+) failed/);
  const passed = Number(match?.[1] ?? 0);
  let failed = Number(match?.[2] ?? 0);
  if (!match || (code !== 0 && failed === 0)) failed = Math.max(failed, 1);
  return { name: "benchmarks (quick: each runs to the end; timings not asserted)", passed, failed };
}

// The tests judge the migrations of this checkout: a database kept from an earlier checkout (or
// left by an interrupted run) would keep definitions its migrations no longer have, since an
// applied migration never runs again.
console.log(
  "Building the local stack's database afresh from supabase/migrations (as supabase db reset; its data is dropped)...",
);
let startedHere = false;
try {
  startedHere = !(await isPostgresRunning());
  // With the pooler (installed the first time, as PostgreSQL is): tests/pooled_connections_test.ts
  // runs the CLI and the search function through it.
  const stack = await resetStack({ pooler: true });
  console.log(
    `database: ${stack.database}; pooler: ${stack.pooler}; functions gateway: ${stack.gateway}`,
  );
} catch (error) {
  console.error(`could not start the local stack: ${(error as Error).message}`);
  console.log("0 passed, 1 failed");
  Deno.exit(1);
}

// Supabase's linter and advisors see the migrations alone, before any test adds its helpers.
const results = [
  await lintFunctions(),
  await runAdvisors(),
  await runPgTap(),
  await runDenoTests(),
  await runQuickBenchmarks(),
];
// Leave the machine as we found it: a stack that was not running is stopped again.
if (startedHere) await stopStack();
for (const result of results) {
  console.log(`${result.name}: ${result.passed} passed, ${result.failed} failed`);
}
const passed = results.reduce((sum, result) => sum + result.passed, 0);
const failed = results.reduce((sum, result) => sum + result.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(failed > 0 ? 1 : 0);
