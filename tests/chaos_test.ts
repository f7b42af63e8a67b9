// Chaos over one backlog: workers killed at random points, four workers and the scheduler at once, a connection dropped and a statement timed out mid-batch; afterwards every row holds its current text's vector.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { defaultRunOptions, type RunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import { projectRoot } from "../tools/stack/local_stack_settings.ts";
import {
  cosine,
  createNotesTarget,
  databaseUrl,
  type NotesTarget,
  withDatabase,
} from "./test_support.ts";

const localModel = new LocalSentenceEncoderProvider(384);
const workerFixture = fileURLToPath(new URL("./fixtures/embedding_worker.ts", import.meta.url));
const shortLeaseSeconds = 2;

function options(target: NotesTarget, more: Partial<RunOptions> = {}): RunOptions {
  return {
    ...defaultRunOptions,
    batchSize: 5,
    leaseSeconds: shortLeaseSeconds,
    target: target.table,
    ...more,
  };
}

/** Runs workers until nothing is queued or leased (waiting out dead workers' leases); bounded. */
async function drain(sql: postgres.Sql, target: NotesTarget): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (true) {
    await runWorker(new PostgresTargetQueue(sql), localModel, options(target));
    const [left] = await sql<{ queued: number }[]>`
      select count(*)::int as queued from embeddings.queue where target_id = ${target.id}`;
    if (left.queued === 0) return;
    assert.ok(Date.now() < deadline, `${left.queued} rows still queued after a minute`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Every row holds its current text's vector; queue empty, no dead letters; status agrees. */
async function assertSettled(sql: postgres.Sql, target: NotesTarget): Promise<void> {
  const rows = await sql<{ id: string; body: string; embedding: string | null }[]>`
    select id, body, embedding::text from ${sql("public")}.${sql(target.table)} order by id`;
  const fresh = await localModel.embed(rows.map((row) => row.body));
  rows.forEach((row, index) => {
    assert.ok(row.embedding !== null, `row ${row.id} has a vector`);
    const similarity = cosine(JSON.parse(row.embedding), fresh[index]);
    assert.ok(similarity > 0.9999, `row ${row.id} holds its current text's vector (${similarity})`);
  });
  const [status] = await sql<
    { total_rows: number; embedded: number; pending: number; in_flight: number; dead: number }[]
  >`
    select total_rows::int, embedded::int, pending::int, in_flight::int, dead_lettered::int as dead
    from embeddings.status(${target.id}::bigint)`;
  assert.deepEqual({ ...status }, {
    total_rows: rows.length,
    embedded: rows.length,
    pending: 0,
    in_flight: 0,
    dead: 0,
  });
}

/** Records every vector write of the target's table: (row, text) pairs written more than once show. */
async function auditVectorWrites(sql: postgres.Sql, target: NotesTarget): Promise<void> {
  await sql.unsafe(`
    create table public.${target.table}_writes (row_key text, content_hash text, written_at timestamptz default now());
    create function public.${target.table}_audit() returns trigger language plpgsql set search_path = '' as $$
    begin
      insert into public.${target.table}_writes (row_key, content_hash) values (new.id, pg_catalog.md5(new.body));
      return null;
    end $$;
    create trigger audit_vector_writes after update of embedding on public.${target.table}
      for each row when (new.embedding is not null) execute function public.${target.table}_audit();`);
}

Deno.test("chaos: a worker killed at random points again and again loses nothing", () =>
  withDatabase(async (sql) => {
    const target = await createNotesTarget(sql, "chaos_killed_notes", 60);
    try {
      // Seeded, so a failure can be replayed: kill delays between 0.3 and 2.5 s.
      let seed = 20261123;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      for (let round = 0; round < 6; round++) {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", workerFixture, target.table, String(shortLeaseSeconds)],
          cwd: projectRoot,
          stdout: "null",
          stderr: "null",
        }).spawn();
        await new Promise((resolve) => setTimeout(resolve, 300 + random() * 2200));
        try {
          child.kill("SIGKILL");
        } catch {
          // It finished first: nothing to kill.
        }
        await child.status;
        // Text changes between kills: the vector must follow the latest text.
        await sql`update ${sql("public")}.${
          sql(target.table)
        } set body = body || ' (round ' || ${round} || ')'
          where id = ${`n${String(round * 7 + 1).padStart(4, "0")}`}`;
      }
      await drain(sql, target);
      await assertSettled(sql, target);
    } finally {
      await target.drop();
    }
  }));

Deno.test("chaos: four workers and the scheduler over one backlog write each text's vector once", () =>
  withDatabase(async (sql) => {
    const target = await createNotesTarget(sql, "chaos_shared_notes", 120);
    await auditVectorWrites(sql, target);
    try {
      await sql`update embeddings.dispatch_settings
        set enabled = true, schedule = '0 0 1 1 *', max_rows = 30, max_parallel = 2, batch_size = 5`;
      const workers = Array.from(
        { length: 4 },
        () => postgres(databaseUrl, { max: 1, onnotice: () => {} }),
      );
      try {
        const runs: Promise<unknown>[] = workers.map((connection) =>
          runWorker(
            new PostgresTargetQueue(connection),
            localModel,
            options(target, { leaseSeconds: 60 }),
          )
        );
        runs.push(sql`select * from embeddings.dispatch_embed_requests()`);
        await Promise.all(runs);
      } finally {
        await Promise.all(workers.map((connection) => connection.end({ timeout: 5 })));
        await sql`update embeddings.dispatch_settings set enabled = default, schedule = default,
          max_rows = default, max_parallel = default, batch_size = default`;
      }
      // The scheduler's invocations may still run: wait for every dispatch to answer.
      const deadline = Date.now() + 60_000;
      while (true) {
        await sql`select embeddings.collect_dispatch_outcomes()`;
        const [open] = await sql<{ n: number }[]>`
          select count(*)::int as n from embeddings.dispatches where outcome = 'in flight'`;
        if (open.n === 0) break;
        assert.ok(Date.now() < deadline, "the scheduled invocations answered within a minute");
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await drain(sql, target);
      const twice = await sql<{ row_key: string; writes: number }[]>`
        select row_key, count(*)::int as writes from ${sql("public")}.${
        sql(`${target.table}_writes`)
      }
        group by row_key, content_hash having count(*) > 1`;
      assert.deepEqual(
        twice.map((row) => ({ ...row })),
        [],
        "no text of any row was written twice",
      );
      const [written] = await sql<{ n: number }[]>`
        select count(*)::int as n from ${sql("public")}.${sql(`${target.table}_writes`)}`;
      assert.equal(written.n, 120, "each of the 120 rows was written exactly once");
      await assertSettled(sql, target);
    } finally {
      await sql.unsafe(
        `drop table public.${target.table}_writes; drop trigger audit_vector_writes on public.${target.table};
        drop function public.${target.table}_audit();`,
      );
      await target.drop();
    }
  }));

/** The real model, running `sabotage` (once) before it answers the given call. */
function sabotagedModel(onCall: number, sabotage: () => Promise<void>): EmbeddingProvider {
  let calls = 0;
  return {
    name: "local",
    model: localModel.model,
    dimensions: localModel.dimensions,
    embed: async (texts) => {
      calls += 1;
      if (calls === onCall) await sabotage();
      return await localModel.embed(texts);
    },
  };
}

/**
 * Runs a worker whose second batch's write waits on a lock another session holds on the table;
 * `interrupt` then breaks that write (cuts the connection, or lets the statement time out) and
 * releases the lock. The run must stop saying `failure`, charge no row an attempt, and a later
 * worker must leave every row with its own vector.
 */
async function assertInterruptedWriteLosesNothing(
  table: string,
  workerConnection: postgres.Options<Record<string, postgres.PostgresType>>["connection"],
  interrupt: (sql: postgres.Sql, releaseLock: () => void) => void,
  failure: RegExp,
  allowClientRecovery = false,
): Promise<void> {
  await withDatabase(async (sql) => {
    const target = await createNotesTarget(sql, table, 20);
    const worker = postgres(databaseUrl, {
      max: 1,
      onnotice: () => {},
      connection: workerConnection,
    });
    const locker = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    let releaseLock: () => void = () => {};
    const lockReleased = new Promise<void>((resolve) => releaseLock = resolve);
    let lockHeld: Promise<unknown> = Promise.resolve();
    try {
      const provider = sabotagedModel(2, async () => {
        let locked: () => void = () => {};
        const isLocked = new Promise<void>((resolve) => locked = resolve);
        lockHeld = locker.begin(async (tx) => {
          await tx`lock table ${tx("public")}.${tx(target.table)} in access exclusive mode`;
          locked();
          await lockReleased;
        });
        await isLocked;
        interrupt(sql, releaseLock);
      });
      const report = await runWorker(new PostgresTargetQueue(worker), provider, options(target));
      // postgres.js sometimes sends the write again on a new connection by itself; then the run
      // succeeded for real (checked below). Otherwise it must say what happened to the write.
      if (!report.ok || !allowClientRecovery) {
        assert.equal(report.ok, false, "the run does not claim success");
        assert.equal(report.stoppedBecause, "database_failed");
        assert.match(
          report.targets[0]?.error ?? "",
          failure,
          "the report says what happened to the write",
        );
      }
      await lockHeld;
      const [charged] = await sql<{ n: number }[]>`
        select count(*)::int as n from embeddings.queue where target_id = ${target.id} and attempts > 0`;
      assert.equal(charged.n, 0, "no row was charged an attempt for the database's fault");
      await drain(sql, target);
      await assertSettled(sql, target);
    } finally {
      releaseLock();
      await lockHeld.catch(() => {});
      await Promise.all([worker.end({ timeout: 5 }), locker.end({ timeout: 5 })]);
      await target.drop();
    }
  });
}

Deno.test("chaos: the worker's connection dropped mid-write: nothing is lost, and a run that failed says why", () =>
  assertInterruptedWriteLosesNothing(
    "chaos_dropped_notes",
    { application_name: "chaos_dropped_worker" },
    (sql, releaseLock) =>
      void (async () => {
        try {
          // Cut the connection once its write is waiting on the lock (not before: it would reconnect).
          const deadline = Date.now() + 10_000;
          while (Date.now() < deadline) {
            const [waiting] = await sql<{ n: number }[]>`
              select count(*)::int as n from pg_stat_activity
              where application_name = 'chaos_dropped_worker' and wait_event_type = 'Lock'`;
            if (waiting.n > 0) break;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          await sql`select pg_terminate_backend(pid) from pg_stat_activity
            where application_name = 'chaos_dropped_worker' and wait_event_type = 'Lock'`;
        } finally {
          releaseLock();
        }
      })(),
    /the database failed during the write: (terminating connection|.*ECONNRESET|.*CONNECTION_)/,
    true,
  ));

Deno.test("chaos: a write that hits the statement timeout mid-batch: the run says so and nothing is lost", () =>
  assertInterruptedWriteLosesNothing(
    "chaos_timeout_notes",
    { statement_timeout: 1000 },
    (_sql, releaseLock) => setTimeout(releaseLock, 2500),
    /the database failed during the write: canceling statement due to statement timeout/,
  ));
