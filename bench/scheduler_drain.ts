// Benchmark (issue 14): the time to drain a queued backlog with the scheduled dispatcher at its defaults, against the tick pattern of Supabase's automatic-embeddings guide, with the same synthetic provider, on a virtual clock.
//
// usage: deno run -A bench/scheduler_drain.ts [--quick] [--db-url URL]
// Needs the local stack (deno task stack:start): its pg_net stand-in sends the requests, and it must
// reach this process on 127.0.0.1. The provider is a SYNTHETIC stand-in (a fixed delay, seeded unit
// vectors): this measures the scheduling, not a model.
import postgres from "postgres";
import { type BenchContext, type BenchSection, runStandalone } from "./bench_section.ts";
import { createBenchTarget, syntheticModel } from "./bench_table.ts";
import { count, PatternRun, seconds } from "./scheduler_clock.ts";
import {
  type DispatcherChanges,
  pointDispatcherAt,
  restoreDispatcher,
  saveIdleDispatcher,
} from "./scheduler_dispatch_settings.ts";
import { schedulerSection, sentTotal } from "./scheduler_drain_report.ts";
import {
  type FunctionStandIn,
  type ProviderStandIn,
  startFunctionStandIn,
  startProviderStandIn,
} from "./scheduler_stand_ins.ts";
import {
  dispatcherTick,
  type DrainResult,
  drive,
  guide,
  guideTick,
  type TickOutcome,
} from "./scheduler_ticks.ts";
import { dropMeasurementTable } from "../tools/cli/measurement_target.ts";

const table = "bench_scheduler_rows";

function log(line: string): void {
  console.error(`scheduler_drain: ${line}`);
}

/**
 * The interval between a cron schedule's runs, for the schedules a tick-driven run can follow:
 * pg_cron's 'N seconds', '* * * * *' and '*\/N * * * *' (N dividing 60, so ticks are even).
 */
function scheduleIntervalMs(schedule: string): number {
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

/** public.bench_scheduler_rows with `rows` rows and an HNSW index, registered, every row queued. */
async function createBacklog(admin: postgres.Sql, rows: number): Promise<number> {
  const id = await createBenchTarget(admin, rows, true, { table, model: syntheticModel });
  const [{ queued }] = await admin<{ queued: number }[]>`
    select count(*)::int as queued from embeddings.queue where target_id = ${id}`;
  if (queued !== rows) throw new Error(`the backlog has ${queued} queued rows, not ${rows}`);
  return id;
}

/** The stand-ins and connections both patterns share. */
interface DrainSetup {
  admin: postgres.Sql;
  provider: ProviderStandIn;
  fn: FunctionStandIn;
  rows: number;
  requestIds: Set<string>;
}

/** One pattern's drain of a fresh backlog, with the provider calls it caused. */
async function drainPattern(
  { admin, provider, fn, rows, requestIds }: DrainSetup,
  intervalMs: number,
  tick: (targetId: number) => Promise<TickOutcome>,
): Promise<DrainResult & { providerCalls: number }> {
  const targetId = await createBacklog(admin, rows);
  const run = new PatternRun(targetId);
  fn.run = run;
  const callsBefore = provider.calls;
  const result = await drive(
    admin,
    run,
    { table, rows, intervalMs },
    () => tick(targetId),
    requestIds,
  );
  fn.run = null;
  const providerCalls = provider.calls - callsBefore;
  await dropMeasurementTable(admin, table);
  return { ...result, providerCalls };
}

/** Throws when the function served other than what the ticks sent: another client took part. */
function checkOnlyOursServed(
  fn: FunctionStandIn,
  ours: DrainResult,
  guided: DrainResult,
): void {
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
}

/** Both patterns, one after the other, pointed at the dispatcher's settings; then the section. */
async function drainBoth(
  setup: DrainSetup,
  changes: DispatcherChanges,
  command: string,
): Promise<BenchSection> {
  const { admin, fn, rows } = setup;
  const { settings, serviceKey } = await pointDispatcherAt(admin, fn.projectUrl, changes);
  fn.serviceKey = serviceKey;
  const ourIntervalMs = scheduleIntervalMs(settings.schedule);
  const urlPrefix = `${fn.projectUrl}/functions/v1/`;
  const [{ foreign }] = await admin<{ foreign: number }[]>`
    select count(*)::int as foreign from embeddings._claimable_queue`;

  log(`ours: ${count(rows)} rows, dispatcher defaults ${JSON.stringify(settings)}`);
  const ours = await drainPattern(setup, ourIntervalMs, () => dispatcherTick(admin, urlPrefix));
  log(`ours drained at ${seconds(ours.drainedAt)} virtual, ${seconds(ours.realMs)} real`);

  log(
    `guide: ${
      count(rows)
    } rows, ${guide.maxRequests} x ${guide.batchSize} every ${guide.intervalSeconds} s`,
  );
  const functionUrl = `${urlPrefix}${settings.function_name}`;
  const guided = await drainPattern(
    setup,
    guide.intervalSeconds * 1000,
    (targetId) => guideTick(admin, functionUrl, serviceKey, targetId, settings),
  );
  log(`guide drained at ${seconds(guided.drainedAt)} virtual, ${seconds(guided.realMs)} real`);

  checkOnlyOursServed(fn, ours, guided);
  return schedulerSection({ table, rows, command, settings, ourIntervalMs, foreign, ours, guided });
}

export async function schedulerDrain(context: BenchContext): Promise<BenchSection> {
  const rows = context.size === "quick" ? 1_000 : 10_000;
  const command = `deno run -A bench/scheduler_drain.ts${
    context.size === "quick" ? " --quick" : ""
  }`;
  const admin = postgres(context.databaseUrl, { max: 2, onnotice: () => {} });
  let saved;
  try {
    saved = await saveIdleDispatcher(admin);
  } catch (error) {
    await admin.end({ timeout: 5 });
    throw error;
  }

  const provider = startProviderStandIn();
  const fn = startFunctionStandIn(context.databaseUrl, provider.baseUrl, table);
  const setup = { admin, provider, fn, rows, requestIds: new Set<string>() };
  const changes: DispatcherChanges = { secretId: null, settingsChanged: false };
  let restoredUpdatedAt = true;
  try {
    return await drainBoth(setup, changes, command);
  } finally {
    fn.run = null;
    try {
      restoredUpdatedAt = await restoreDispatcher(admin, saved, changes, setup.requestIds);
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
