// End to end on the local stack: the cron job's command, pg_net (stand-in worker), the gateway and the embed function, with outcomes read back.
import assert from "node:assert/strict";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { defaultWorkerOptions, runWorker } from "../supabase/functions/_shared/worker.ts";
import {
  connectAsPostgres,
  localStackModel,
  queueCounts,
  resetToSeedRows,
  storedEmbeddingStats,
} from "./test_support.ts";

const sql = connectAsPostgres();
/** Enabled tests run the job's command themselves; this schedule keeps pg_cron from firing too. */
const quietSchedule = "0 0 1 1 *";
const testOptions = { sanitizeResources: false, sanitizeOps: false };

interface Dispatch {
  id: number;
  outcome: string;
  status_code: number | null;
  written: number | null;
  error: string | null;
}

/** Runs the command registered in cron.job, exactly as pg_cron would, and returns its result. */
async function runJobCommand(): Promise<number> {
  const [job] = await sql<{ command: string }[]>`
    select command from cron.job where jobname = 'embeddings-dispatch'`;
  const [row] = await sql.unsafe<{ dispatch_embed_requests: number }[]>(job.command);
  return row.dispatch_embed_requests;
}

/** Puts every setting back to the table's own defaults (as the migration created the row). */
async function restoreSettings(): Promise<void> {
  await sql`
    update embeddings.dispatch_settings
    set enabled = default, schedule = default, batch_size = default,
        rows_per_invocation = default, max_parallel = default, time_budget_ms = default,
        request_timeout_ms = default`;
}

/** Collects answers until none of the dispatches sent after `afterId` is in flight. */
async function settledDispatches(afterId: number, timeoutMs = 60_000): Promise<Dispatch[]> {
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

async function lastDispatchId(): Promise<number> {
  const [row] = await sql<{ id: number }[]>`
    select coalesce(max(id), 0)::int as id from embeddings.dispatches`;
  return row.id;
}

async function pgNetRequestCount(): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select ((select count(*) from net.http_request_queue) + (select count(*) from net._http_response))::int as n`;
  return row.n;
}

Deno.test({
  ...testOptions,
  name: "dispatch: the job is in cron.job with the configured schedule and follows the settings",
  fn: async () => {
    try {
      const [job] = await sql<{ schedule: string; command: string; active: boolean }[]>`
        select schedule, command, active from cron.job where jobname = 'embeddings-dispatch'`;
      assert.deepEqual({ ...job }, {
        schedule: "* * * * *",
        command: "select embeddings.dispatch_embed_requests()",
        active: false,
      });
      await sql`update embeddings.dispatch_settings set enabled = true, schedule = ${quietSchedule}`;
      const [changed] = await sql<{ schedule: string; active: boolean }[]>`
        select schedule, active from cron.job where jobname = 'embeddings-dispatch'`;
      assert.deepEqual({ ...changed }, { schedule: quietSchedule, active: true });
    } finally {
      await restoreSettings();
    }
  },
});

Deno.test({
  ...testOptions,
  name: "dispatch: with nothing pending, running the job sends no request",
  fn: async () => {
    await resetToSeedRows(sql);
    const worked = await runWorker(
      new PostgresTargetQueue(sql),
      new LocalSentenceEncoderProvider(localStackModel.dimensions),
      defaultWorkerOptions,
    );
    assert.equal(worked.pending, 0, "every target's queue is empty");
    try {
      await sql`update embeddings.dispatch_settings set enabled = true, schedule = ${quietSchedule}`;
      const before = await pgNetRequestCount();
      const lastBefore = await lastDispatchId();
      assert.equal(await runJobCommand(), 0);
      assert.equal(await pgNetRequestCount(), before, "pg_net got no request");
      assert.equal(await lastDispatchId(), lastBefore, "no invocation was recorded");
    } finally {
      await restoreSettings();
    }
  },
});

Deno.test({
  ...testOptions,
  name: "dispatch: inserted rows end up embedded through cron -> pg_net -> embed, in parallel",
  fn: async () => {
    await resetToSeedRows(sql);
    try {
      await sql`
        update embeddings.dispatch_settings
        set enabled = true, schedule = ${quietSchedule}, rows_per_invocation = 8, max_parallel = 2,
            batch_size = 4`;
      const start = await lastDispatchId();
      assert.equal(
        await runJobCommand(),
        2,
        "20 queued rows, 8 per invocation: 3 wanted, 2 allowed",
      );
      assert.equal(await runJobCommand(), 0, "with 2 in flight the next run adds none");

      const first = await settledDispatches(start);
      assert.deepEqual(
        first.map((dispatch) => [dispatch.outcome, dispatch.status_code, dispatch.written]),
        [["succeeded", 200, 8], ["succeeded", 200, 8]],
      );
      assert.equal((await queueCounts(sql, "music_knowledge")).pending, 4);

      const second = await lastDispatchId();
      assert.equal(await runJobCommand(), 1, "4 rows left: one invocation");
      const [last] = await settledDispatches(second);
      assert.equal(last.outcome, "succeeded");
      assert.equal(last.written, 4);

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
      assert.equal(await runJobCommand(), 0, "and once the queue is empty, nothing more is sent");
    } finally {
      await restoreSettings();
    }
  },
});

Deno.test({
  ...testOptions,
  name: "dispatch: when the function fails, the rows stay queued and the failure shows in status",
  fn: async () => {
    await resetToSeedRows(sql);
    const [{ id: targetId }] = await sql<{ id: string }[]>`
      select id from embeddings.targets where name = 'music_knowledge'`;
    // The function refuses a target whose model is not its provider's: a real failure, answered 500.
    await sql`select embeddings.set_target_model(${targetId}::bigint, 'other-model-384', 384)`;
    try {
      await sql`update embeddings.dispatch_settings set enabled = true, schedule = ${quietSchedule}`;
      const start = await lastDispatchId();
      assert.equal(await runJobCommand(), 1);
      const [failed] = await settledDispatches(start);
      assert.equal(failed.outcome, "failed");
      assert.equal(failed.status_code, 500);
      assert.match(failed.error ?? "", /music_knowledge embeds with model other-model-384/);

      const [status] = await sql<
        { pending: number; embedded: number; outcome: string; error: string }[]
      >`
        select pending::int, embedded::int, last_invocation_outcome as outcome,
               last_invocation_error as error
        from embeddings.status where name = 'music_knowledge'`;
      assert.equal(status.pending, 20, "every row is still queued");
      assert.equal(status.embedded, 0);
      assert.equal(status.outcome, "failed");
      assert.match(status.error, /other-model-384/);
      const [dispatch] = await sql<{ last_outcome: string; failures: number }[]>`
        select last_outcome, failures_last_day::int as failures from embeddings.dispatch_status`;
      assert.equal(dispatch.last_outcome, "failed");
      assert.ok(dispatch.failures >= 1);
    } finally {
      await restoreSettings();
      await sql`select embeddings.set_target_model(${targetId}::bigint, ${localStackModel.model}, ${localStackModel.dimensions})`;
    }
  },
});

Deno.test({
  ...testOptions,
  name: "dispatch: an invocation that does not answer in time is recorded as timed out",
  fn: async () => {
    await resetToSeedRows(sql);
    // A function endpoint that never answers, standing in for a hung invocation.
    const hung = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      // Answers only once the caller has given up, so the server can shut down afterwards.
      (request) =>
        new Promise<Response>((resolve) =>
          request.signal.addEventListener("abort", () => resolve(new Response(null)))
        ),
    );
    const [secret] = await sql<{ id: string; value: string }[]>`
      select id, decrypted_secret as value from vault.decrypted_secrets where name = 'project_url'`;
    try {
      await sql`select vault.update_secret(${secret.id}::uuid, ${`http://127.0.0.1:${hung.addr.port}`})`;
      await sql`
        update embeddings.dispatch_settings
        set enabled = true, schedule = ${quietSchedule}, time_budget_ms = 500,
            request_timeout_ms = 1000`;
      const start = await lastDispatchId();
      assert.equal(await runJobCommand(), 1);
      const [timedOut] = await settledDispatches(start, 30_000);
      assert.equal(timedOut.outcome, "timed out");
      assert.match(timedOut.error ?? "", /Timeout of 1000 ms reached/);
      assert.equal((await queueCounts(sql, "music_knowledge")).pending, 20, "its rows stay queued");
    } finally {
      await sql`select vault.update_secret(${secret.id}::uuid, ${secret.value})`;
      await restoreSettings();
      await hung.shutdown();
    }
  },
});

Deno.test({
  ...testOptions,
  name: "dispatch: close the database connection",
  fn: async () => {
    await sql.end();
  },
});
