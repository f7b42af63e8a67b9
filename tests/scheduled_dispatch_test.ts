// End to end on the local stack: the cron job's command, pg_net (stand-in worker), the gateway and the embed function, with outcomes read back.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { parseEmbedRequest } from "../supabase/functions/_shared/embed_request.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { defaultRunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import {
  createNotesTarget,
  localStackModel,
  queueCounts,
  resetToSeedRows,
  seedStories,
  storedEmbeddingStats,
  withDatabase,
} from "./test_support.ts";

/** Enabled tests run the job's command themselves; this schedule keeps pg_cron from firing too. */
const quietSchedule = "0 0 1 1 *";

interface Dispatch {
  id: number;
  outcome: string;
  status_code: number | null;
  written: number | null;
  error: string | null;
}

/** Runs the command registered in cron.job, exactly as pg_cron would, and returns its result. */
async function runJobCommand(sql: postgres.Sql): Promise<number> {
  const [job] = await sql<{ command: string }[]>`
    select command from cron.job where jobname = 'embeddings-dispatch'`;
  const [row] = await sql.unsafe<{ sent: number; reason: string }[]>(job.command);
  return row.sent;
}

/** Puts every setting back to the table's own defaults (as the migration created the row). */
async function restoreSettings(sql: postgres.Sql): Promise<void> {
  await sql`
    update embeddings.dispatch_settings
    set enabled = default, schedule = default, batch_size = default, max_rows = default,
        lease_seconds = default, max_parallel = default, time_budget_ms = default,
        request_timeout_ms = default`;
}

/** Collects answers until none of the dispatches sent after `afterId` is in flight. */
async function settledDispatches(
  sql: postgres.Sql,
  afterId: number,
  timeoutMs = 60_000,
): Promise<Dispatch[]> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    await sql`select embeddings.collect_dispatch_outcomes()`;
    const dispatches = await sql<Dispatch[]>`
      select id::int, outcome, status_code, written, error from embeddings.dispatches
      where id > ${afterId} order by id`;
    if (dispatches.every((dispatch) => dispatch.outcome !== "in flight")) return dispatches;
    assert.ok(Date.now() < deadline, `dispatches still in flight: ${JSON.stringify(dispatches)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function lastDispatchId(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ id: number }[]>`
    select coalesce(max(id), 0)::int as id from embeddings.dispatches`;
  return row.id;
}

async function pgNetRequestCount(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select ((select count(*) from net.http_request_queue) + (select count(*) from net._http_response))::int as n`;
  return row.n;
}

/** Embeds every target's queue in this process, so that no row is left for the dispatcher. */
async function embedEveryQueuedRow(sql: postgres.Sql): Promise<number> {
  const report = await runWorker(
    new PostgresTargetQueue(sql),
    new LocalSentenceEncoderProvider(localStackModel.dimensions),
    defaultRunOptions,
  );
  return report.queued;
}

/**
 * Runs `work` with its own connection and the dispatch settings at their defaults (on the sample
 * rows unless `seedRows` is false); afterwards the invocations it recorded go (a later doctor must
 * not see its planted failures) and the settings are restored.
 */
function withDefaultDispatch(
  work: (sql: postgres.Sql) => Promise<void>,
  { seedRows = true } = {},
): Promise<void> {
  return withDatabase(async (sql) => {
    await restoreSettings(sql);
    const dispatchesBefore = await lastDispatchId(sql);
    try {
      if (seedRows) await resetToSeedRows(sql);
      await work(sql);
    } finally {
      await sql`delete from embeddings.dispatches where id > ${dispatchesBefore}`;
      await restoreSettings(sql);
    }
  });
}

Deno.test("dispatch: the job is in cron.job with the configured schedule and follows the settings", () =>
  withDefaultDispatch(async (sql) => {
    const [job] = await sql<{ schedule: string; command: string; active: boolean }[]>`
        select schedule, command, active from cron.job where jobname = 'embeddings-dispatch'`;
    assert.deepEqual({ ...job }, {
      schedule: "* * * * *",
      command: "select * from embeddings.dispatch_embed_requests()",
      active: false,
    });
    await sql`update embeddings.dispatch_settings set enabled = true, schedule = ${quietSchedule}`;
    const [changed] = await sql<{ schedule: string; active: boolean }[]>`
        select schedule, active from cron.job where jobname = 'embeddings-dispatch'`;
    assert.deepEqual({ ...changed }, { schedule: quietSchedule, active: true });
    const [shown] = await sql<{ shown: number; set: number }[]>`
        select d.max_rows as shown, s.max_rows as set
        from embeddings.dispatch_status as d, embeddings.dispatch_settings as s`;
    assert.equal(shown.shown, shown.set, "dispatch_status shows the max_rows setting");
  }, { seedRows: false }));

Deno.test("dispatch: with nothing pending, running the job sends no request", () =>
  withDefaultDispatch(async (sql) => {
    assert.equal(await embedEveryQueuedRow(sql), 0, "every target's queue is empty");
    await sql`update embeddings.dispatch_settings set enabled = true, schedule = ${quietSchedule}`;
    const before = await pgNetRequestCount(sql);
    const lastBefore = await lastDispatchId(sql);
    assert.equal(await runJobCommand(sql), 0);
    assert.equal(await pgNetRequestCount(sql), before, "pg_net got no request");
    assert.equal(await lastDispatchId(sql), lastBefore, "no invocation was recorded");
  }));

/**
 * Waits, without running the job again, until the queue is empty and no invocation sent after
 * `afterId` is in flight; returns those invocations and the most ever seen in flight at once.
 */
async function drainedWithoutTicks(
  sql: postgres.Sql,
  afterId: number,
  timeoutMs = 90_000,
): Promise<{ dispatches: Dispatch[]; mostInFlight: number }> {
  const deadline = Date.now() + timeoutMs;
  let mostInFlight = 0;
  while (true) {
    await sql`select embeddings.collect_dispatch_outcomes()`;
    const dispatches = await sql<Dispatch[]>`
      select id::int, outcome, status_code, written, error from embeddings.dispatches
      where id > ${afterId} order by id`;
    const inFlight = dispatches.filter((dispatch) => dispatch.outcome === "in flight").length;
    mostInFlight = Math.max(mostInFlight, inFlight);
    const queue = await queueCounts(sql, "music_knowledge");
    if (inFlight === 0 && queue.pending === 0 && queue.inFlight === 0) {
      return { dispatches, mostInFlight };
    }
    assert.ok(
      Date.now() < deadline,
      `not drained: ${JSON.stringify(queue)}; ${JSON.stringify(dispatches)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("dispatch: a backlog larger than max_rows drains through follow-ons, without waiting for the next tick, within max_parallel", () =>
  withDefaultDispatch(async (sql) => {
    await sql`
        update embeddings.dispatch_settings
        set enabled = true, schedule = ${quietSchedule}, max_rows = 4, max_parallel = 2,
            batch_size = 2`;
    const start = await lastDispatchId(sql);
    assert.equal(
      await runJobCommand(sql),
      2,
      "24 queued rows (20 music_knowledge, 4 stories), 4 per invocation: 6 wanted, 2 allowed",
    );
    assert.equal(await runJobCommand(sql), 0, "with 2 in flight the next run adds none");

    // The job is not run again: each invocation that stopped at max_rows is followed on at once.
    const { dispatches, mostInFlight } = await drainedWithoutTicks(sql, start);
    assert.ok(dispatches.length >= 5, `5 invocations of 4 rows at least: ${dispatches.length}`);
    assert.ok(
      dispatches.every((dispatch) => dispatch.outcome === "succeeded"),
      JSON.stringify(dispatches),
    );
    assert.equal(
      dispatches.reduce((sum, dispatch) => sum + (dispatch.written ?? 0), 0),
      20 + seedStories.rows,
      "the 20 music_knowledge rows and the seed's stories",
    );
    assert.ok(mostInFlight <= 2, `never more than max_parallel in flight: ${mostInFlight}`);

    const stored = await storedEmbeddingStats(sql);
    assert.equal(stored.embedded, 20, "20 of 20 rows read back with an embedding");
    assert.ok(stored.norms.every((norm) => Math.abs(norm - 1) < 1e-4));
    assert.deepEqual(await queueCounts(sql, "music_knowledge"), {
      embedded: 20,
      pending: 0,
      inFlight: 0,
      deadLettered: 0,
    });
    const [status] = await sql<{ last_invocation_outcome: string }[]>`
        select last_invocation_outcome from embeddings.status where name = 'music_knowledge'`;
    assert.equal(status.last_invocation_outcome, "succeeded");
    assert.equal(
      await runJobCommand(sql),
      0,
      "and once the queue is empty, nothing more is sent",
    );
  }));

Deno.test("dispatch: a target of another model is skipped, not failed, with its reason in dispatches and status", () =>
  withDefaultDispatch(async (sql) => {
    assert.equal(await embedEveryQueuedRow(sql), 0, "only the other model's rows are queued");
    const other = await createNotesTarget(sql, "dispatch_other_model_notes", 10, {
      model: "other-model-384",
    });
    try {
      await sql`update embeddings.dispatch_settings set enabled = true, schedule = ${quietSchedule}`;
      const start = await lastDispatchId(sql);
      assert.equal(await runJobCommand(sql), 1);
      const [skipped] = await settledDispatches(sql, start);
      assert.deepEqual([skipped.outcome, skipped.status_code, skipped.written], [
        "succeeded",
        200,
        0,
      ]);
      const [status] = await sql<{ pending: number; outcome: string; reason: string | null }[]>`
        select pending::int, last_invocation_outcome as outcome, last_skip_reason as reason
        from embeddings.status where name = 'dispatch_other_model_notes'`;
      assert.equal(status.pending, 10, "its rows stay queued for a function that makes its model");
      assert.equal(status.outcome, "succeeded");
      assert.match(status.reason ?? "", /embeds with model other-model-384/);
      const [music] = await sql<{ reason: string | null }[]>`
        select last_skip_reason as reason from embeddings.status where name = 'music_knowledge'`;
      assert.equal(music.reason, null, "a served target has no skip reason");
    } finally {
      await other.drop();
    }
  }));

Deno.test("dispatch: when the function fails, the rows stay queued and the failure shows in status", () =>
  withDefaultDispatch(async (sql) => {
    assert.equal(await embedEveryQueuedRow(sql), 0, "only the refused target's rows are queued");
    const refused = await createNotesTarget(sql, "dispatch_refused_notes", 10);
    // A stand-in for any database-side failure: every write of this table is refused.
    await sql.unsafe(`
      create function public.dispatch_refuse_embedding() returns trigger language plpgsql as $$
      begin
        raise exception 'disk full while writing %', new.id;
      end $$;
      create trigger dispatch_refuse_embedding before update of embedding
        on public.dispatch_refused_notes
        for each row execute function public.dispatch_refuse_embedding();`);
    try {
      await sql`update embeddings.dispatch_settings set enabled = true, schedule = ${quietSchedule}`;
      const start = await lastDispatchId(sql);
      assert.equal(await runJobCommand(sql), 1);
      const [failed] = await settledDispatches(sql, start);
      assert.equal(failed.outcome, "failed");
      assert.equal(failed.status_code, 500);
      assert.match(failed.error ?? "", /dispatch_refused_notes: wrote 0 of 10 claimed \(10 failed/);

      const [status] = await sql<
        { pending: number; embedded: number; outcome: string; error: string }[]
      >`
        select pending::int, embedded::int, last_invocation_outcome as outcome,
               last_invocation_error as error
        from embeddings.status where name = 'dispatch_refused_notes'`;
      assert.equal(status.pending, 10, "every row is still queued");
      assert.equal(status.embedded, 0);
      assert.equal(status.outcome, "failed");
      assert.match(status.error, /dispatch_refused_notes: wrote 0/);
      const [dispatch] = await sql<{ last_outcome: string; failures: number }[]>`
        select last_outcome, failures_last_day::int as failures from embeddings.dispatch_status`;
      assert.equal(dispatch.last_outcome, "failed");
      assert.ok(dispatch.failures >= 1);
    } finally {
      await refused.drop();
      await sql`drop function public.dispatch_refuse_embedding()`;
    }
  }));

Deno.test("dispatch: an invocation that does not answer in time is recorded as timed out, and it was sent the run options the function reads", () =>
  withDefaultDispatch(async (sql) => {
    const received: string[] = [];
    // A function endpoint that never answers, standing in for a hung invocation.
    const hung = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      // Answers only once the caller has given up, so the server can shut down afterwards.
      async (request) => {
        received.push(await request.text());
        return await new Promise<Response>((resolve) =>
          request.signal.addEventListener("abort", () => resolve(new Response(null)))
        );
      },
    );
    const [secret] = await sql<{ id: string; value: string }[]>`
      select id, decrypted_secret as value from vault.decrypted_secrets where name = 'project_url'`;
    try {
      await sql`select vault.update_secret(${secret.id}::uuid, ${`http://127.0.0.1:${hung.addr.port}`})`;
      await sql`
        update embeddings.dispatch_settings
        set enabled = true, schedule = ${quietSchedule}, time_budget_ms = 500,
            request_timeout_ms = 1000`;
      const start = await lastDispatchId(sql);
      assert.equal(await runJobCommand(sql), 1);
      const [timedOut] = await settledDispatches(sql, start, 30_000);
      assert.equal(timedOut.outcome, "timed out");
      assert.match(timedOut.error ?? "", /Timeout of 1000 ms reached/);
      assert.equal((await queueCounts(sql, "music_knowledge")).pending, 20, "its rows stay queued");

      const [settings] = await sql<
        { batch_size: number; max_rows: number; time_budget_ms: number; lease_seconds: number }[]
      >`select batch_size, max_rows, time_budget_ms, lease_seconds from embeddings.dispatch_settings`;
      assert.equal(received.length, 1);
      assert.deepEqual(parseEmbedRequest(received[0]), {
        ok: true,
        options: {
          batchSize: settings.batch_size,
          maxRows: settings.max_rows,
          timeBudgetMs: settings.time_budget_ms,
          leaseSeconds: settings.lease_seconds,
          target: null,
        },
      }, "the body names each setting as the function reads it");
    } finally {
      await sql`select vault.update_secret(${secret.id}::uuid, ${secret.value})`;
      await hung.shutdown();
    }
  }));
