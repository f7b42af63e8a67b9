// Benchmark (issue 14): the time to drain a queued backlog with the scheduled dispatcher at its defaults, against the tick pattern of Supabase's automatic-embeddings guide, with the same synthetic provider, on a virtual clock.
//
// usage: deno run -A bench/scheduler_drain.ts [--quick] [--db-url URL]
// Needs the local stack (deno task stack:start): its pg_net stand-in sends the requests, and it must
// reach this process on 127.0.0.1. The provider is a SYNTHETIC stand-in (a fixed delay, seeded unit
// vectors): this measures the scheduling, not a model.
import postgres from "postgres";
import { connectDatabase, type Sql } from "../supabase/functions/_shared/database.ts";
import { defaultOpenAiTimeoutMs } from "../supabase/functions/_shared/embed_config.ts";
import { parseEmbedRequest } from "../supabase/functions/_shared/embed_request.ts";
import { errorMessage } from "../supabase/functions/_shared/error_message.ts";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { createProvider } from "../supabase/functions/_shared/providers/create_provider.ts";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { httpAnswerFor } from "../supabase/functions/_shared/report_http.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import {
  type BenchContext,
  type BenchSection,
  rowsPerSecond,
  runStandalone,
} from "./bench_section.ts";
import {
  benchDimensions,
  createBenchTarget,
  syntheticModel,
  syntheticVector,
} from "./bench_table.ts";
import { dropMeasurementTable } from "../tools/cli/measurement_target.ts";

const table = "bench_scheduler_rows";
/** A Vault secret of the bench's own, so the stack's project_url secret is never touched. */
const projectUrlSecret = "bench_scheduler_project_url";

/** The synthetic provider's cost per call: a fixed round trip plus a cost per text. */
const providerBaseMs = 30;
const providerPerTextMs = 0.5;

/**
 * The guide's cron job: `select util.process_embeddings()` every 10 seconds, whose defaults are
 * batch_size 10, max_requests 10 and a 5-minute timeout (the messages' visibility timeout and
 * the HTTP timeout).
 */
const guide = { intervalSeconds: 10, batchSize: 10, maxRequests: 10, timeoutMs: 300_000 };

/** How often the driver looks for answers while real work runs. */
const pollMs = 10;
/** A run that takes longer than this in real time is stuck: it fails instead of hanging. */
const realTimeLimitMs = 30 * 60_000;
/** Invocations in a row that failed and wrote nothing before a drain counts as stalled. */
const stalledInvocations = 8;
/** No answer at all this long after the first tick: pg_net (the stack's stand-in) is not sending. */
const firstAnswerLimitMs = 60_000;

interface DispatchSettings {
  enabled: boolean;
  schedule: string;
  batch_size: number;
  max_rows: number;
  time_budget_ms: number;
  lease_seconds: number;
  max_parallel: number;
  request_timeout_ms: number;
  function_name: string;
  project_url_secret: string;
  service_key_secret: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function count(value: number): string {
  return value.toLocaleString("en-US");
}

/** FNV-1a of a text: the seed of its synthetic vector, so a text always gets the same one. */
function textSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The interval between a cron schedule's runs, for the schedules a tick-driven run can follow:
 * pg_cron's 'N seconds', '* * * * *' and '*\/N * * * *' (N dividing 60, so ticks are even).
 */
export function scheduleIntervalMs(schedule: string): number {
  const everySeconds = schedule.match(/^\s*(\d+)\s+seconds?\s*$/i);
  if (everySeconds) return Number(everySeconds[1]) * 1000;
  const fields = schedule.trim().split(/\s+/);
  if (fields.length === 5 && fields.slice(1).every((field) => field === "*")) {
    if (fields[0] === "*") return 60_000;
    const minutes = Number(fields[0].match(/^\*\/(\d+)$/)?.[1]);
    if (Number.isInteger(minutes) && minutes > 0 && 60 % minutes === 0) return minutes * 60_000;
  }
  throw new Error(
    `cannot tell the interval of schedule ${
      JSON.stringify(schedule)
    }: the benchmark follows 'N seconds', '* * * * *' and '*/N * * * *'`,
  );
}

/**
 * Real time, plus the idle time skipped: the driver jumps to the next tick when nothing is in
 * flight, instead of sleeping through it, so a run of many ticks takes minutes, not hours.
 */
class VirtualClock {
  readonly #realStart = performance.now();
  #skippedMs = 0;

  now(): number {
    return performance.now() - this.#realStart + this.#skippedMs;
  }

  realElapsed(): number {
    return performance.now() - this.#realStart;
  }

  /** Only ever forward, and only when no work is in flight (the driver's duty). */
  skipTo(virtualMs: number): void {
    const gap = virtualMs - this.now();
    if (gap > 0) this.#skippedMs += gap;
  }
}

interface Invocation {
  /** Virtual ms when the function received it and when it answered. */
  startedAt: number;
  endedAt: number;
  written: number;
  status: number;
  /** What a failed invocation answered, to name why a drain stalls. */
  failure: string | null;
}

/** One pattern's run: its clock, the invocations its ticks caused and when the backlog drained. */
class PatternRun {
  readonly clock = new VirtualClock();
  readonly invocations: Invocation[] = [];
  drainedAt: number | null = null;
  constructor(readonly targetId: number) {}
}

/** An OpenAI-compatible /v1/embeddings stand-in with a fixed, realistic cost per call. */
interface ProviderStandIn {
  baseUrl: string;
  calls: number;
  texts: number;
  close(): Promise<void>;
}

function startProviderStandIn(): ProviderStandIn {
  const closing = new AbortController();
  const standIn = {
    baseUrl: "",
    calls: 0,
    texts: 0,
    close: async () => {
      closing.abort();
      await server.finished;
    },
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {}, signal: closing.signal },
    async (request) => {
      const body = await request.json() as { input?: unknown };
      const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input)];
      standIn.calls += 1;
      standIn.texts += inputs.length;
      await sleep(providerBaseMs + providerPerTextMs * inputs.length);
      return Response.json({
        object: "list",
        model: syntheticModel,
        data: inputs.map((text, index) => ({
          object: "embedding",
          index,
          embedding: syntheticVector(textSeed(text)),
        })),
        usage: { prompt_tokens: 0, total_tokens: 0 },
      });
    },
  );
  standIn.baseUrl = `http://127.0.0.1:${server.addr.port}/v1`;
  return standIn;
}

/** A warm function instance: its own connections and provider, as an edge runtime worker has. */
interface FunctionInstance {
  sql: Sql;
  queue: PostgresTargetQueue;
  provider: EmbeddingProvider;
}

/**
 * The embed function's handler, in this process: the apikey check, the body read as run options
 * (parseEmbedRequest), runWorker with the provider the function would build for these settings
 * (createProvider), and the answer httpAnswerFor gives. Each concurrent invocation gets its own
 * instance, as hosted functions scale out. It works the bench's target only (see the notes).
 */
interface FunctionStandIn {
  /** What the project URL secret holds: the dispatcher appends /functions/v1/<name>. */
  projectUrl: string;
  run: PatternRun | null;
  /** The key a caller must send in the apikey header: the dispatcher's, read from Vault. */
  serviceKey: string | null;
  /** Requests that came while no pattern was running: another client used the bench's URL. */
  stray: number;
  close(): Promise<void>;
}

function startFunctionStandIn(databaseUrl: string, providerBaseUrl: string): FunctionStandIn {
  const closing = new AbortController();
  const idle: FunctionInstance[] = [];
  const instances: FunctionInstance[] = [];
  const newInstance = async (): Promise<FunctionInstance> => {
    const sql = connectDatabase(databaseUrl);
    const provider = await createProvider({
      provider: "openai",
      openai: {
        baseUrl: providerBaseUrl,
        apiKey: undefined,
        model: syntheticModel,
        dimensions: benchDimensions,
        timeoutMs: defaultOpenAiTimeoutMs,
      },
    });
    const instance = { sql, queue: new PostgresTargetQueue(sql), provider };
    instances.push(instance);
    return instance;
  };
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { ...headers, "content-type": "application/json" },
    });

  const standIn: FunctionStandIn = {
    projectUrl: "",
    run: null,
    serviceKey: null,
    stray: 0,
    close: async () => {
      closing.abort();
      await server.finished;
      await Promise.all(instances.map((instance) => instance.sql.end({ timeout: 5 })));
    },
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {}, signal: closing.signal },
    async (request) => {
      const run = standIn.run;
      if (run === null) {
        standIn.stray += 1;
        return json(503, { error: "the scheduler benchmark is not running a pattern" });
      }
      if (standIn.serviceKey === null || request.headers.get("apikey") !== standIn.serviceKey) {
        return json(401, { error: "apikey is not the service key from Vault" });
      }
      const parsed = parseEmbedRequest(await request.text());
      if (!parsed.ok) return json(400, { error: parsed.error });
      const startedAt = run.clock.now();
      const instance = idle.pop() ?? await newInstance();
      try {
        const report = await runWorker(instance.queue, instance.provider, {
          ...parsed.options,
          target: table,
        });
        // Whoever finds the queue empty first drained it: every write before is committed.
        const [{ drained }] = await instance.sql<{ drained: boolean }[]>`
          select not exists (
            select 1 from embeddings.queue as q where q.target_id = ${run.targetId}) as drained`;
        const endedAt = run.clock.now();
        if (drained && run.drainedAt === null) run.drainedAt = endedAt;
        const answer = httpAnswerFor(report);
        run.invocations.push({
          startedAt,
          endedAt,
          written: report.written,
          status: answer.status,
          failure: report.ok ? null : report.message,
        });
        return json(answer.status, report, answer.headers);
      } catch (error) {
        const endedAt = run.clock.now();
        const failure = `embed failed: ${errorMessage(error)}`;
        run.invocations.push({ startedAt, endedAt, written: 0, status: 500, failure });
        return json(500, { error: failure });
      } finally {
        idle.push(instance);
      }
    },
  );
  standIn.projectUrl = `http://127.0.0.1:${server.addr.port}`;
  return standIn;
}

/** public.bench_scheduler_rows with `rows` rows and an HNSW index, registered, every row queued. */
async function createBacklog(admin: postgres.Sql, rows: number): Promise<number> {
  const id = await createBenchTarget(admin, rows, true, { table, model: syntheticModel });
  const [{ queued }] = await admin<{ queued: number }[]>`
    select count(*)::int as queued from embeddings.queue where target_id = ${id}`;
  if (queued !== rows) throw new Error(`the backlog has ${queued} queued rows, not ${rows}`);
  return id;
}

interface TickOutcome {
  sent: number;
  reason: string;
  /** pg_net request ids of the invocations this tick sent. */
  requestIds: string[];
}

interface TickRecord extends TickOutcome {
  /** Virtual ms at which the tick ran. */
  at: number;
}

interface DrainResult {
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

/**
 * Runs `tick` at virtual times 0, interval, 2 x interval... until the backlog is drained. Between
 * ticks the invocations run for real; once every one sent has its answer in pg_net, the clock
 * jumps to the next tick. Work still running at the next tick's time runs on while that tick
 * fires, as it would under pg_cron.
 */
async function drive(
  admin: postgres.Sql,
  run: PatternRun,
  rows: number,
  intervalMs: number,
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
    // Nothing sent and nothing in flight twice running: no later tick can change that, and the
    // skipped idle time would turn it into a loop of ticks.
    const previous = ticks.at(-1);
    if (outcome.sent === 0 && pending.size === 0 && previous?.sent === 0) {
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
    ticks.push({ ...outcome, at });
    for (const id of outcome.requestIds) {
      pending.add(id);
      allRequestIds.add(id);
    }
    const nextTickAt = ticks.length * intervalMs;
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
  }
  const drainedAt = run.drainedAt;
  const realMs = run.clock.realElapsed();
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
  return { rows, intervalMs, ticks, invocations: [...run.invocations], drainedAt, realMs };
}

/** One run of the dispatcher's own command, forced (its cron job stays off during the bench). */
async function dispatcherTick(admin: postgres.Sql, urlPrefix: string): Promise<TickOutcome> {
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
async function guideTick(
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

function invocationSummary(invocations: readonly Invocation[]): string {
  const durations = invocations.map((invocation) => invocation.endedAt - invocation.startedAt);
  const mean = durations.reduce((sum, ms) => sum + ms, 0) / Math.max(1, durations.length);
  const failed = invocations.filter((invocation) => invocation.status !== 200).length;
  const idle = invocations.filter((invocation) => invocation.written === 0).length;
  return `${count(invocations.length)} invocations, ${Math.round(mean)} ms each on average (${
    Math.round(Math.min(...durations))
  }-${
    Math.round(Math.max(...durations))
  } ms), ${failed} not answered 200, ${idle} that wrote nothing`;
}

export async function schedulerDrain(context: BenchContext): Promise<BenchSection> {
  const rows = context.size === "quick" ? 1_000 : 10_000;
  const command = `deno run -A bench/scheduler_drain.ts${
    context.size === "quick" ? " --quick" : ""
  }`;
  const admin = postgres(context.databaseUrl, { max: 2, onnotice: () => {} });
  const log = (line: string) => console.error(`scheduler_drain: ${line}`);

  const [{ missing }] = await admin<{ missing: string | null }[]>`
    select embeddings._dispatch_missing() as missing`;
  if (missing !== null) {
    await admin.end({ timeout: 5 });
    throw new Error(missing);
  }
  // updated_at as text, and sent back as text: postgres.js carries a timestamptz parameter
  // through a Date, which would drop its microseconds.
  const [saved] = await admin<(DispatchSettings & { updated_at: string })[]>`
    select enabled, schedule, batch_size, max_rows, time_budget_ms, lease_seconds, max_parallel,
           request_timeout_ms, function_name, project_url_secret, service_key_secret,
           updated_at::text as updated_at
    from embeddings.dispatch_settings`;
  await admin`select embeddings.collect_dispatch_outcomes()`;
  const [{ inFlight }] = await admin<{ inFlight: number }[]>`
    select count(*)::int as "inFlight" from embeddings.dispatches where outcome = 'in flight'`;
  if (inFlight > 0) {
    await admin.end({ timeout: 5 });
    throw new Error(
      `${inFlight} dispatches are in flight: they would hold the dispatcher's slots; run the benchmark once they have answered`,
    );
  }

  const provider = startProviderStandIn();
  const fn = startFunctionStandIn(context.databaseUrl, provider.baseUrl);
  const requestIds = new Set<string>();
  let secretId: string | null = null;
  let settingsChanged = false;
  let restoredUpdatedAt = true;
  try {
    await admin`delete from vault.secrets where name = ${projectUrlSecret}`;
    [{ id: secretId }] = await admin<{ id: string }[]>`
      select vault.create_secret(${fn.projectUrl}, ${projectUrlSecret},
        'scheduler_drain benchmark: removed when it ends') as id`;
    // The dispatcher at its defaults, pointed at the bench's function; the cron job stays off so
    // that only the bench's ticks run the command.
    settingsChanged = true;
    const [settings] = await admin<DispatchSettings[]>`
      update embeddings.dispatch_settings
      set enabled = false, schedule = default, batch_size = default, max_rows = default,
          time_budget_ms = default, lease_seconds = default, max_parallel = default,
          request_timeout_ms = default, function_name = default, service_key_secret = default,
          project_url_secret = ${projectUrlSecret}
      returning *`;
    // The key the dispatcher sends (from Vault): the guide's requests send it too.
    const [key] = await admin<{ value: string }[]>`
      select decrypted_secret as value from vault.decrypted_secrets
      where name = ${settings.service_key_secret}`;
    if (!key) {
      throw new Error(
        `Vault has no ${settings.service_key_secret} secret: the local stack stores it at start`,
      );
    }
    const serviceKey = key.value;
    fn.serviceKey = serviceKey;
    const ourIntervalMs = scheduleIntervalMs(settings.schedule);
    const urlPrefix = `${fn.projectUrl}/functions/v1/`;
    const [{ foreign }] = await admin<{ foreign: number }[]>`
      select count(*)::int as foreign from embeddings._claimable_queue`;

    log(`ours: ${count(rows)} rows, dispatcher defaults ${JSON.stringify(settings)}`);
    let targetId = await createBacklog(admin, rows);
    let run = new PatternRun(targetId);
    fn.run = run;
    const providerBefore = { calls: provider.calls, texts: provider.texts };
    const ours = await drive(
      admin,
      run,
      rows,
      ourIntervalMs,
      () => dispatcherTick(admin, urlPrefix),
      requestIds,
    );
    fn.run = null;
    const ourProviderCalls = provider.calls - providerBefore.calls;
    await dropMeasurementTable(admin, table);
    log(`ours drained at ${seconds(ours.drainedAt)} virtual, ${seconds(ours.realMs)} real`);

    log(
      `guide: ${
        count(rows)
      } rows, ${guide.maxRequests} x ${guide.batchSize} every ${guide.intervalSeconds} s`,
    );
    targetId = await createBacklog(admin, rows);
    run = new PatternRun(targetId);
    fn.run = run;
    const guideProviderBefore = provider.calls;
    const guided = await drive(
      admin,
      run,
      rows,
      guide.intervalSeconds * 1000,
      () =>
        guideTick(admin, `${urlPrefix}${settings.function_name}`, serviceKey, targetId, settings),
      requestIds,
    );
    fn.run = null;
    const guideProviderCalls = provider.calls - guideProviderBefore;
    await dropMeasurementTable(admin, table);
    log(`guide drained at ${seconds(guided.drainedAt)} virtual, ${seconds(guided.realMs)} real`);

    const sentTotal = (result: DrainResult) =>
      result.ticks.reduce((sum, tick) => sum + tick.sent, 0);
    for (const [name, result] of [["ours", ours], ["the guide's", guided]] as const) {
      if (result.invocations.length !== sentTotal(result)) {
        throw new Error(
          `${name} ticks sent ${
            sentTotal(result)
          } invocations but the function served ${result.invocations.length}: another client used the dispatcher during the run`,
        );
      }
    }
    if (fn.stray > 0) {
      throw new Error(`${fn.stray} requests reached the bench's function between runs`);
    }

    const ratio = guided.drainedAt / ours.drainedAt;
    const rowFor = (
      pattern: string,
      schedule: string,
      perInvocation: string,
      perTick: string,
      result: DrainResult,
    ) => [
      pattern,
      schedule,
      perInvocation,
      perTick,
      count(result.ticks.length),
      count(sentTotal(result)),
      seconds(result.drainedAt),
      seconds(result.realMs),
      rowsPerSecond(result.rows / (result.drainedAt / 1000)),
    ];
    const ourTicks = ours.ticks.map((tick) => `${seconds(tick.at)}: ${tick.reason}`).join("; ");
    return {
      title: "Scheduler: draining a backlog",
      method: [
        `A backlog of ${count(rows)} queued rows (a throwaway table, \`public.${table}\`, with an`,
        `HNSW index) is drained twice, each time on a fresh table, with the same provider: a`,
        `**synthetic stand-in**, an OpenAI-compatible \`/v1/embeddings\` server in the benchmark's`,
        `process that answers seeded unit vectors after ${providerBaseMs} ms + ${providerPerTextMs} ms`,
        `per text, called through the project's OpenAI-compatible provider client. **Ours**: the`,
        `real \`embeddings.dispatch_embed_requests(force => true)\` at the table defaults of`,
        `\`embeddings.dispatch_settings\` (schedule \`${settings.schedule}\`, batch_size`,
        `${settings.batch_size}, max_rows ${settings.max_rows}, time_budget_ms`,
        `${settings.time_budget_ms}, max_parallel ${settings.max_parallel}), sending its`,
        `invocations with \`net.http_post\`, which the stack's pg_net stand-in sends over HTTP.`,
        `**The guide's pattern**, simulated: every ${guide.intervalSeconds} s, up to`,
        `${guide.maxRequests} requests of at most ${guide.batchSize} rows (batch ${guide.batchSize}),`,
        `as many as the visible backlog fills, with no limit on those in flight, sent the same`,
        `way through \`net.http_post\` and pg_net. Both reach the same function stand-in: the`,
        `embed function's handler in the benchmark's process (body parsed as run options,`,
        `\`runWorker\` with \`PostgresTargetQueue\`, \`httpAnswerFor\`), one warm instance with its`,
        `own connections per concurrent invocation. pg_cron is not used: the benchmark runs each`,
        `tick itself on a **virtual clock** (real time plus skipped idle time): invocations run in`,
        `real time, and once every one sent has its answer recorded by pg_net the clock jumps to`,
        `the next tick instead of sleeping; work still running at a tick's time runs on while`,
        `the tick fires, as under pg_cron. The drain time is the virtual time at which the`,
        `invocation that found the queue empty answered; the real time is what the run took.`,
      ].join(" "),
      command,
      table: {
        header: [
          "pattern",
          "schedule interval",
          "rows per invocation",
          "invocations per tick",
          "ticks",
          "invocations",
          "drain time (virtual)",
          "real time spent",
          "rows/s (virtual)",
        ],
        rows: [
          rowFor(
            "ours: `dispatch_embed_requests` at its defaults",
            `${seconds(ourIntervalMs)} (\`${settings.schedule}\`)`,
            `up to ${count(settings.max_rows)} (max_rows), batches of ${settings.batch_size}`,
            `ceil(claimable / ${
              count(settings.max_rows)
            }), at most ${settings.max_parallel} in flight`,
            ours,
          ),
          rowFor(
            "the guide's `process_embeddings(10, 10)` (simulated)",
            `${seconds(guide.intervalSeconds * 1000)} (\`${guide.intervalSeconds} seconds\`)`,
            `up to ${guide.batchSize} (one batch of ${guide.batchSize})`,
            `ceil(min(claimable, ${guide.batchSize * guide.maxRequests}) / ${guide.batchSize}), ` +
              `no limit in flight`,
            guided,
          ),
        ],
      },
      goals: [{
        goal: `drain a ${
          count(rows)
        }-row backlog faster with the dispatcher at its defaults than with the guide's pattern (batches of ${guide.batchSize}, at most ${guide.maxRequests} requests per ${guide.intervalSeconds}-second tick), same provider`,
        measured: `${seconds(ours.drainedAt)} against ${
          seconds(guided.drainedAt)
        }: the guide's pattern takes ${ratio.toFixed(2)}x as long`,
        met: ours.drainedAt < guided.drainedAt,
      }],
      notes: [
        `Ratio (guide's drain time / ours): **${ratio.toFixed(2)}**.`,
        `Ours, tick by tick (the dispatcher's own words): ${ourTicks}.`,
        // The defaults' ceiling, whatever the provider: a tick starts at most max_parallel runs of
        // max_rows each, and none starts again before the next tick, however early they end.
        `At its defaults the dispatcher starts at most ${settings.max_parallel} x ${
          count(settings.max_rows)
        } = ${count(settings.max_parallel * settings.max_rows)} rows of work per ${
          seconds(ourIntervalMs)
        } tick: an invocation stops at max_rows long before its ${
          seconds(settings.time_budget_ms)
        } time budget here, and the slots then stay idle until the next tick.`,
        `Ours: ${invocationSummary(ours.invocations)}; ${
          count(ourProviderCalls)
        } provider calls. The guide's: ${invocationSummary(guided.invocations)}; ${
          count(guideProviderCalls)
        } provider calls.`,
        foreign > 0
          ? `The dispatcher counts the claimable rows of every target: ${foreign} rows of the stack's other targets were claimable at the start and were counted in its decisions (never embedded here: the function stand-in works the benchmark's target only).`
          : `No other target had claimable rows: the dispatcher's decisions counted the benchmark's rows alone.`,
        `What is simulated: the clock (idle time between ticks is skipped, never work), the`,
        `provider, the function's runtime (the handler runs in the benchmark's process rather`,
        `than behind the stack's functions gateway, whose function process has the stack's own`,
        `provider and works every target), and the guide's SQL and function: its jobs are the`,
        `engine's queued rows, and its requests run this project's worker (one provider call and`,
        `one write per batch of ${guide.batchSize}), where the guide's function handles its jobs one at a`,
        `time, which if anything favours the guide. Real: the dispatcher's SQL, net.http_post, the`,
        `stack's pg_net stand-in (it polls every 100 ms, in both patterns), the worker, the claims`,
        `and writes. The local pg_cron (1.4) cannot schedule '${guide.intervalSeconds} seconds' at all;`,
        `Supabase's (1.6) can.`,
      ].join(" "),
    };
  } finally {
    fn.run = null;
    const ids = [...requestIds];
    try {
      await admin`delete from embeddings.dispatches where request_id = any(${ids}::bigint[])`;
      await admin`delete from net._http_response where id = any(${ids}::bigint[])`;
      await admin`delete from net.http_request_queue where id = any(${ids}::bigint[])`;
      if (settingsChanged) {
        await admin`
          update embeddings.dispatch_settings
          set enabled = ${saved.enabled}, schedule = ${saved.schedule},
              batch_size = ${saved.batch_size}, max_rows = ${saved.max_rows},
              time_budget_ms = ${saved.time_budget_ms}, lease_seconds = ${saved.lease_seconds},
              max_parallel = ${saved.max_parallel},
              request_timeout_ms = ${saved.request_timeout_ms},
              function_name = ${saved.function_name},
              project_url_secret = ${saved.project_url_secret},
              service_key_secret = ${saved.service_key_secret}`;
        // The trigger stamps updated_at on every change: the old stamp goes back with triggers
        // off for this one statement (the cron job already follows the restored row).
        try {
          await admin.begin(async (tx) => {
            await tx`set local session_replication_role = replica`;
            await tx`update embeddings.dispatch_settings set updated_at = ${saved.updated_at}::text::timestamptz`;
          });
        } catch {
          restoredUpdatedAt = false;
        }
      }
      if (secretId !== null) await admin`delete from vault.secrets where id = ${secretId}`;
      await dropMeasurementTable(admin, table);
    } finally {
      await fn.close();
      await provider.close();
      await admin.end({ timeout: 5 });
      if (!restoredUpdatedAt) {
        log("dispatch_settings restored, but its updated_at shows the restore's time");
      }
    }
  }
}

if (import.meta.main) await runStandalone(schedulerDrain);
