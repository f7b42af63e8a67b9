// The app and the worker on one table at once: app writers (bulk updates in random key order, inserts, deletes, single-row updates as `authenticated` under RLS) beside several workers, then a final pass and the checks; run small by tests/contention_test.ts and large by `deno task bench --only contention`.
//
// usage: deno run -A bench/contention.ts [--quick] [--db-url URL]
import type postgres from "postgres";
import { connectDatabase } from "../supabase/functions/_shared/database.ts";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { defaultRunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import type { WorkerReport } from "../supabase/functions/_shared/worker_report.ts";
import { StandInProvider, textHashVector } from "../tools/cli/stand_in_provider.ts";
import { dropMeasurementTable, measurementTableComment } from "../tools/cli/measurement_target.ts";
import { type BenchContext, type BenchSection, runStandalone } from "./bench_section.ts";
import { median } from "./bench_figures.ts";

export interface ContentionSize {
  rows: number;
  /** Rounds of statements each app writer runs. */
  rounds: number;
  appWriters: number;
  workers: number;
}

export interface ContentionResult {
  appStatements: number;
  /** Every error an app statement met: the app must never pay for the engine. */
  appErrors: string[];
  /** Every run of a worker that stopped for anything but running out of work or being stopped. */
  workerErrors: string[];
  workerRuns: number;
  /** Leases left after the final pass. */
  leasesLeft: number;
  /** Rows whose vector is not the provider's vector of their current text. */
  wrongVectors: string[];
  rowsChecked: number;
  /** verify's findings, as `problem: rows`. */
  verifyFindings: string[];
  /** Median milliseconds of the app's statements on the registered table and on a plain copy. */
  appLatency: { registered: number; plain: number };
}

const table = "contention_rows";
const plainTable = "contention_rows_plain";
const owners = ["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"];

async function createTables(admin: postgres.Sql, rows: number, provider: StandInProvider) {
  for (const name of [table, plainTable]) {
    await dropMeasurementTable(admin, name);
    await admin.unsafe(`
      create table public.${name} (id bigint primary key, owner uuid not null, body text not null,
        n integer not null default 0, embedding extensions.vector(${provider.dimensions}));
      comment on table public.${name} is '${measurementTableComment}';
      alter table public.${name} enable row level security;
      create policy "Owners can read their own rows" on public.${name} for select to authenticated
        using (owner = (select auth.uid()));
      create policy "Owners can update their own rows" on public.${name} for update to authenticated
        using (owner = (select auth.uid())) with check (owner = (select auth.uid()));
      grant select, update on public.${name} to authenticated;
      insert into public.${name} (id, owner, body)
        select g, (array['${owners[0]}', '${owners[1]}']::uuid[])[1 + g % 2], 'row ' || g
        from generate_series(1, ${rows}) as g;`);
  }
  await admin.unsafe(`
    create function public.${table}_content(r public.${table}) returns text language sql immutable
      set search_path = '' begin atomic select r.body; end;
    select embeddings.register_target('public.${table}', 'id', 'public.${table}_content(public.${table})',
      'embedding', '${provider.model}', ${provider.dimensions});`);
}

/**
 * Which keys one app writer touches: its own share (key modulo the writers), so two writers never
 * deadlock with each other and any deadlock is the engine's.
 */
interface WriterShare {
  index: number;
  writers: number;
}

/** Some keys of the writer's share in random order: bulk statements in random key order. */
function randomKeys(count: number, upTo: number, share: WriterShare): number[] {
  const keys = new Set<number>();
  const available = Math.floor(upTo / share.writers);
  while (keys.size < Math.min(count, available)) {
    keys.add(1 + share.index + share.writers * Math.floor(Math.random() * available));
  }
  return [...keys];
}

/** One round of the app's statements on `name`; each timed, each error kept. */
async function appRound(
  sql: postgres.Sql,
  name: string,
  rows: number,
  share: WriterShare,
  nextId: () => number,
  latencies: number[],
  errors: string[],
): Promise<number> {
  const statements: ((tx: postgres.TransactionSql) => Promise<unknown>)[] = [
    (tx) =>
      tx.unsafe(
        `update public.${name} as t set body = t.body || '.' from unnest($1::bigint[]) as u(id) where t.id = u.id`,
        [randomKeys(Math.ceil(rows / 5), rows, share)],
      ),
    (tx) =>
      tx.unsafe(
        `update public.${name} as t set n = t.n + 1 from unnest($1::bigint[]) as u(id) where t.id = u.id`,
        [randomKeys(Math.ceil(rows / 7), rows, share)],
      ),
    (tx) =>
      tx.unsafe(
        `insert into public.${name} (id, owner, body) select i, $2::uuid, 'new ' || i from unnest($1::bigint[]) as i`,
        [Array.from({ length: 10 }, nextId), owners[0]],
      ),
    (tx) =>
      tx.unsafe(`delete from public.${name} where id = any($1::bigint[])`, [
        randomKeys(3, rows, share),
      ]),
    async (tx) => {
      await tx.unsafe(`set local role authenticated`);
      await tx.unsafe(`select set_config('request.jwt.claims', $1, true)`, [
        JSON.stringify({ sub: owners[1], role: "authenticated" }),
      ]);
      for (const id of randomKeys(5, rows, share)) {
        await tx.unsafe(`update public.${name} set body = body || '!' where id = $1`, [id]);
      }
    },
  ];
  for (const statement of statements) {
    const started = performance.now();
    try {
      await sql.begin((tx) => statement(tx));
      latencies.push(performance.now() - started);
    } catch (error) {
      errors.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return statements.length;
}

/** Workers drain the queue, run after run, until `stop` is aborted. */
async function workUntilStopped(
  sql: postgres.Sql,
  provider: StandInProvider,
  stop: AbortSignal,
  reports: WorkerReport[],
): Promise<void> {
  const queue = new PostgresTargetQueue(sql);
  const options = { ...defaultRunOptions, batchSize: 100, target: table };
  while (!stop.aborted) {
    const report = await runWorker(queue, provider, options, { stop });
    reports.push(report);
    if (report.stoppedBecause === "nothing_to_claim") {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** The final pass: one worker, run after run, until nothing is left to claim. */
async function drain(sql: postgres.Sql, provider: StandInProvider, reports: WorkerReport[]) {
  const queue = new PostgresTargetQueue(sql);
  const options = { ...defaultRunOptions, batchSize: 500, target: table };
  for (let run = 0; run < 100; run++) {
    const report = await runWorker(queue, provider, options);
    reports.push(report);
    if (
      report.stoppedBecause === "nothing_to_claim" || report.stoppedBecause === "database_failed"
    ) {
      return;
    }
  }
}

function workerErrors(reports: readonly WorkerReport[]): string[] {
  return reports
    .filter((report) =>
      !["nothing_to_claim", "stopped", "time_budget_spent", "max_rows_reached"].includes(
        report.stoppedBecause,
      ) || report.failed > 0
    )
    .map((report) => report.message);
}

async function finalChecks(admin: postgres.Sql, provider: StandInProvider) {
  const stored = await admin.unsafe<{ id: string; body: string; embedding: string | null }[]>(
    `select id::text, body, embedding::text from public.${table} order by id`,
  );
  const wrongVectors = stored.filter((row) => {
    if (row.embedding === null) return true;
    const expected = textHashVector(row.body, provider.dimensions);
    const actual = JSON.parse(row.embedding) as number[];
    return actual.some((value, index) => Math.abs(value - expected[index]) > 1e-6);
  }).map((row) => row.id);
  const [{ leases }] = await admin<{ leases: number }[]>`
    select count(*)::int as leases from embeddings.queue as q join embeddings.targets as t on t.id = q.target_id
    where t.name = ${table} and q.lease_token is not null`;
  const findings = await admin<{ problem: string; row_count: string }[]>`
    select v.problem, v.row_count::text from embeddings.targets as t,
      embeddings.verify(t.id, false, 5) as v
    where t.name = ${table} and v.row_count > 0`;
  return {
    wrongVectors,
    rowsChecked: stored.length,
    leasesLeft: leases,
    verifyFindings: findings.map((f) => `${f.problem}: ${f.row_count}`),
  };
}

/** Runs the app writers and the workers side by side, then a final pass, then the checks. */
export async function runContention(
  databaseUrl: string,
  size: ContentionSize,
): Promise<ContentionResult> {
  const admin = connectDatabase(databaseUrl);
  const provider = new StandInProvider(384);
  const appErrors: string[] = [];
  const latencies = { registered: [] as number[], plain: [] as number[] };
  const reports: WorkerReport[] = [];
  let id = size.rows * 10;
  let appStatements = 0;
  try {
    await createTables(admin, size.rows, provider);
    const stop = new AbortController();
    const workerConnections = Array.from(
      { length: size.workers },
      () => connectDatabase(databaseUrl),
    );
    const workers = workerConnections.map((sql) =>
      workUntilStopped(sql, provider, stop.signal, reports)
    );
    const writers = Array.from({ length: size.appWriters }, async (_, index) => {
      const share = { index, writers: size.appWriters };
      const sql = connectDatabase(databaseUrl);
      try {
        for (let round = 0; round < size.rounds; round++) {
          // Awaited before it is added: `x += await y` would add to the value read before the wait.
          const ran = await appRound(
            sql,
            table,
            size.rows,
            share,
            () => ++id,
            latencies.registered,
            appErrors,
          );
          appStatements += ran;
          await appRound(sql, plainTable, size.rows, share, () => ++id, latencies.plain, appErrors);
        }
      } finally {
        await sql.end({ timeout: 5 });
      }
    });
    await Promise.all(writers);
    stop.abort();
    await Promise.all(workers);
    await Promise.all(workerConnections.map((sql) => sql.end({ timeout: 5 })));
    await drain(admin, provider, reports);
    const checks = await finalChecks(admin, provider);
    return {
      appStatements,
      appErrors,
      workerErrors: workerErrors(reports),
      workerRuns: reports.length,
      ...checks,
      appLatency: { registered: median(latencies.registered), plain: median(latencies.plain) },
    };
  } finally {
    await dropMeasurementTable(admin, table);
    await dropMeasurementTable(admin, plainTable);
    await admin.end({ timeout: 5 });
  }
}

export async function contention(context: BenchContext): Promise<BenchSection> {
  const size: ContentionSize = context.size === "quick"
    ? { rows: 3_000, rounds: 10, appWriters: 3, workers: 2 }
    : { rows: 50_000, rounds: 25, appWriters: 4, workers: 4 };
  const result = await runContention(context.databaseUrl, size);
  const latencyRatio = result.appLatency.registered / result.appLatency.plain;
  const clean = result.appErrors.length === 0 && result.workerErrors.length === 0 &&
    result.leasesLeft === 0 && result.wrongVectors.length === 0 &&
    result.verifyFindings.length === 0;
  return {
    title: "Contention: the app and the workers on one table at once",
    method:
      `${size.appWriters} app writers run ${size.rounds} rounds each (a fifth of the rows rewritten and a seventh's counter bumped, both in random key order; 10 rows inserted; 3 deleted; 5 single-row updates as \`authenticated\` under RLS) on a registered table of ${
        size.rows.toLocaleString("en-US")
      } rows and, statement for statement, on an unregistered copy, while ${size.workers} workers embed with an instant stand-in provider; then one worker drains what is left and the rows are checked against the provider's vector of their current text.`,
    command: `deno run -A bench/contention.ts${context.size === "quick" ? " --quick" : ""}`,
    table: {
      header: [
        "app statements",
        "app errors",
        "worker runs",
        "worker errors",
        "leases left",
        "wrong vectors",
        "verify findings",
        "app median (registered)",
        "app median (plain)",
        "ratio",
      ],
      rows: [[
        String(result.appStatements),
        String(result.appErrors.length),
        String(result.workerRuns),
        String(result.workerErrors.length),
        String(result.leasesLeft),
        `${result.wrongVectors.length} of ${result.rowsChecked}`,
        result.verifyFindings.join(", ") || "none",
        `${result.appLatency.registered.toFixed(1)} ms`,
        `${result.appLatency.plain.toFixed(1)} ms`,
        `${latencyRatio.toFixed(2)}x`,
      ]],
    },
    goals: [{
      goal:
        "zero app errors, zero worker errors, no lease left, every vector current, verify clean",
      measured: clean
        ? "all held"
        : [...result.appErrors, ...result.workerErrors].slice(0, 3).join("; ") || "see the table",
      met: clean,
    }],
  };
}

if (import.meta.main) await runStandalone(contention);
