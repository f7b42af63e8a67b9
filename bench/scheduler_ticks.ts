// The scheduler benchmark's ticks, ours (the dispatcher's own command) and the guide's (simulated), and the driver that runs them on the virtual clock until the backlog drains.
import type postgres from "postgres";
import { type Invocation, type PatternRun, seconds } from "./scheduler_clock.ts";
import type { DispatchSettings } from "./scheduler_dispatch_settings.ts";
import { sleep } from "./scheduler_stand_ins.ts";

/**
 * The guide's cron job: `select util.process_embeddings()` every 10 seconds, whose defaults are
 * batch_size 10, max_requests 10 and a 5-minute timeout (the messages' visibility timeout and
 * the HTTP timeout).
 */
export const guide = { intervalSeconds: 10, batchSize: 10, maxRequests: 10, timeoutMs: 300_000 };

/** How often the driver looks for answers while real work runs. */
const pollMs = 10;
/** A run that takes longer than this in real time is stuck: it fails instead of hanging. */
const realTimeLimitMs = 30 * 60_000;
/** Invocations in a row that failed and wrote nothing before a drain counts as stalled. */
const stalledInvocations = 8;
/** No answer at all this long after the first tick: pg_net (the stack's stand-in) is not sending. */
const firstAnswerLimitMs = 60_000;

export interface TickOutcome {
  sent: number;
  reason: string;
  /** pg_net request ids of the invocations this tick sent. */
  requestIds: string[];
}

interface TickRecord extends TickOutcome {
  /** Virtual ms at which the tick ran. */
  at: number;
}

export interface DrainResult {
  rows: number;
  intervalMs: number;
  ticks: TickRecord[];
  invocations: Invocation[];
  drainedAt: number;
  realMs: number;
}

/** Request ids of `ids` that pg_net has no answer for yet. */
async function unanswered(admin: postgres.Sql, ids: Iterable<string>): Promise<Set<string>> {
  const list = [...ids];
  if (list.length === 0) return new Set();
  const rows = await admin<{ id: string }[]>`
    select r.id::text as id from unnest(${list}::bigint[]) as r(id)
    where not exists (select 1 from net._http_response as a where a.id = r.id)`;
  return new Set(rows.map((row) => row.id));
}

/** Throws when the drain can no longer finish: nothing sent twice running, or every invocation failing. */
function checkStillDraining(
  run: PatternRun,
  ticks: readonly TickRecord[],
  outcome: TickOutcome,
  pendingCount: number,
): void {
  // Nothing sent and nothing in flight twice running: no later tick can change that, and the
  // skipped idle time would turn it into a loop of ticks.
  const previous = ticks.at(-1);
  if (outcome.sent === 0 && pendingCount === 0 && previous?.sent === 0) {
    throw new Error(`the backlog stopped draining: ${outcome.reason}`);
  }
  // A failure every invocation meets (a broken write, say) would otherwise retry until the
  // real-time limit.
  const recent = run.invocations.slice(-stalledInvocations);
  if (
    recent.length === stalledInvocations &&
    recent.every((invocation) => invocation.written === 0 && invocation.failure !== null)
  ) {
    throw new Error(
      `the backlog stopped draining: the last ${stalledInvocations} invocations wrote nothing; the last said: ${
        recent.at(-1)?.failure
      }`,
    );
  }
}

/** Lets the work run until the next tick's time, jumping to it once every invocation answered. */
async function runUntilTick(
  admin: postgres.Sql,
  run: PatternRun,
  pending: Set<string>,
  nextTickAt: number,
): Promise<Set<string>> {
  while (run.drainedAt === null && run.clock.now() < nextTickAt) {
    pending = await unanswered(admin, pending);
    if (pending.size === 0) {
      run.clock.skipTo(nextTickAt);
      break;
    }
    if (run.invocations.length === 0 && run.clock.realElapsed() > firstAnswerLimitMs) {
      throw new Error(
        `no invocation reached the function ${
          seconds(firstAnswerLimitMs)
        } after the first tick: is the stack's pg_net worker running (deno task stack:status)?`,
      );
    }
    await sleep(pollMs);
  }
  return pending;
}

/** Waits for the invocations still running, then checks every row of `table` has its embedding. */
async function finishDrain(
  admin: postgres.Sql,
  table: string,
  rows: number,
  pending: Set<string>,
): Promise<void> {
  // Invocations still running (sent for rows another one took) finish before the table goes.
  const deadline = performance.now() + 120_000;
  while ((pending = await unanswered(admin, pending)).size > 0) {
    if (performance.now() > deadline) {
      throw new Error(`${pending.size} invocations never answered after the drain`);
    }
    await sleep(50);
  }
  const [{ missing }] = await admin<{ missing: number }[]>`
    select count(*)::int as missing from ${admin(table)} where embedding is null`;
  if (missing > 0) throw new Error(`drained, yet ${missing} of ${rows} rows have no embedding`);
}

/**
 * Runs `tick` at virtual times 0, interval, 2 x interval... until the backlog of `table` is
 * drained. Between ticks the invocations run for real; once every one sent has its answer in
 * pg_net, the clock jumps to the next tick. Work still running at the next tick's time runs on
 * while that tick fires, as it would under pg_cron.
 */
export async function drive(
  admin: postgres.Sql,
  run: PatternRun,
  { table, rows, intervalMs }: { table: string; rows: number; intervalMs: number },
  tick: () => Promise<TickOutcome>,
  allRequestIds: Set<string>,
): Promise<DrainResult> {
  const ticks: TickRecord[] = [];
  let pending = new Set<string>();
  while (run.drainedAt === null) {
    if (run.clock.realElapsed() > realTimeLimitMs) {
      throw new Error(`not drained after ${seconds(realTimeLimitMs)} of real time`);
    }
    const at = run.clock.now();
    const outcome = await tick();
    checkStillDraining(run, ticks, outcome, pending.size);
    ticks.push({ ...outcome, at });
    for (const id of outcome.requestIds) {
      pending.add(id);
      allRequestIds.add(id);
    }
    pending = await runUntilTick(admin, run, pending, ticks.length * intervalMs);
  }
  const drainedAt = run.drainedAt;
  const realMs = run.clock.realElapsed();
  await finishDrain(admin, table, rows, pending);
  return { rows, intervalMs, ticks, invocations: [...run.invocations], drainedAt, realMs };
}

/** One run of the dispatcher's own command, forced (its cron job stays off during the bench). */
export async function dispatcherTick(admin: postgres.Sql, urlPrefix: string): Promise<TickOutcome> {
  // In one transaction: the requests it queued are still in net.http_request_queue (pg_net takes
  // them after commit), which tells its dispatches from anyone else's.
  return await admin.begin(async (tx) => {
    const [result] = await tx<{ sent: number; reason: string }[]>`
      select sent, reason from embeddings.dispatch_embed_requests(force => true)`;
    const sent = await tx<{ request_id: string }[]>`
      select d.request_id::text as request_id
      from embeddings.dispatches as d
      join net.http_request_queue as q on q.id = d.request_id
      where starts_with(q.url, ${urlPrefix}) and d.outcome = 'in flight'`;
    return {
      sent: result.sent,
      reason: result.reason,
      requestIds: sent.map((row) => row.request_id),
    };
  }) as TickOutcome;
}

/**
 * The guide's util.process_embeddings(batch_size => 10, max_requests => 10): reads up to 100 jobs
 * not hidden by their visibility timeout and POSTs them to the function in requests of 10 through
 * pg_net, whatever is still in flight. Here the jobs are the target's claimable rows (leased rows
 * are hidden as in-flight messages are) and each request runs the worker on at most 10 rows.
 */
export async function guideTick(
  admin: postgres.Sql,
  url: string,
  serviceKey: string,
  targetId: number,
  settings: DispatchSettings,
): Promise<TickOutcome> {
  const [{ claimable }] = await admin<{ claimable: number }[]>`
    select count(*)::int as claimable from embeddings._claimable_queue where target_id = ${targetId}`;
  const jobs = Math.min(claimable, guide.batchSize * guide.maxRequests);
  const requests = Math.ceil(jobs / guide.batchSize);
  if (requests === 0) {
    return { sent: 0, reason: `no visible job (${claimable} claimable rows)`, requestIds: [] };
  }
  const body = {
    batchSize: guide.batchSize,
    maxRows: guide.batchSize,
    timeBudgetMs: settings.time_budget_ms,
    leaseSeconds: guide.timeoutMs / 1000,
  };
  const sent = await admin<{ id: string }[]>`
    select net.http_post(
      url => ${url},
      body => ${admin.json(body)},
      headers => ${admin.json({ "Content-Type": "application/json", apikey: serviceKey })},
      timeout_milliseconds => ${guide.timeoutMs})::text as id
    from generate_series(1, ${requests})`;
  return {
    sent: requests,
    reason: `read ${jobs} of ${claimable} claimable rows, sent ${requests} requests`,
    requestIds: sent.map((row) => row.id),
  };
}
