// A backfill: N Web Workers running the engine's worker until nothing is left to claim, progress from each batch the database confirms, Ctrl-C handled, vector indexes deferred on request, the outcome read back from the database.
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import { PostgresTargetQueue } from "../../supabase/functions/_shared/postgres_target_queue.ts";
import type { ProviderEntry } from "../../supabase/functions/_shared/providers/provider_router.ts";
import type { RunOptions } from "../../supabase/functions/_shared/run_options.ts";
import type { Target } from "../../supabase/functions/_shared/target_queue.ts";
import type { WorkerReport } from "../../supabase/functions/_shared/worker_report.ts";
import type { FromWorker, ProgressDelta, ToWorker } from "./backfill_messages.ts";
import { progressDisplay, type ProgressMode } from "./backfill_progress.ts";
import {
  type BackfillIndexes,
  type BackfillOutcome,
  summarizeBackfill,
} from "./backfill_summary.ts";
import {
  type DeferredIndex,
  dropVectorIndexes,
  readDeferredIndexes,
  rebuildDeferredIndex,
  targetLocations,
} from "./deferred_indexes.ts";
import { CliFailure, type ExitCode } from "./exit_codes.ts";
import { stopOnInterrupt } from "./interrupt.ts";
import { type ProviderSpec, routerFor } from "./provider_choice.ts";
import { readStatusView } from "./status_view.ts";
import { chooseTargets } from "./target_choice.ts";
import { plural } from "./text_table.ts";

export interface BackfillRequest {
  databaseUrl: string;
  provider: ProviderSpec;
  /** Each run's options (a backfill is runs one after another until nothing is left). */
  options: RunOptions;
  /** --concurrency: Web Workers, one batch in flight each; null (not given) chooses by provider. */
  concurrency: number | null;
  deferIndex: boolean;
  progress: ProgressMode;
}

/**
 * Batches one worker keeps in flight for a remote provider when --concurrency is not given: the
 * ceiling of its adapting window (provider_pacer.ts), which starts at two.
 */
export const remoteLanes = 8;

/** How the backfill spreads its work: Web Workers, and batches in flight in each. */
interface Spread {
  workers: number;
  lanes: number;
}

/**
 * --concurrency N: N Web Workers, one batch each (a CPU-bound local model uses N cores). Without
 * it, targets of a remote provider (openai: a server answers) get one worker with several
 * batches in flight, each provider's paced together; local models one batch at a time, as before.
 */
export function spreadFor(concurrency: number | null, providers: readonly ProviderEntry[]): Spread {
  if (concurrency !== null) return { workers: concurrency, lanes: 1 };
  return {
    workers: 1,
    lanes: providers.some((entry) => entry.name === "openai") ? remoteLanes : 1,
  };
}

/** The providers the targets' models route to, in the order configured (none is built here). */
function providersFor(spec: ProviderSpec, targets: readonly Target[]): ProviderEntry[] {
  const router = routerFor(spec);
  const routed = new Set(
    targets.map((target) => router.route(target)).flatMap((route) =>
      route.ok ? [route.entry.name] : []
    ),
  );
  return router.entries.filter((entry) => routed.has(entry.name));
}

/** Lines about what the backfill does go to stderr: stdout is the result. */
function say(line: string): void {
  console.error(line);
}

function indexName(index: DeferredIndex): string {
  return `${index.indexSchema}.${index.indexName}`;
}

interface WorkerTally {
  progress: ProgressDelta;
  reports: WorkerReport[];
  lastReports: WorkerReport[];
  errors: string[];
}

/**
 * Follows one Web Worker's messages into the tally until it is done or has failed; `onFailure`
 * hears of a failure at once, so the other workers stop and hand their leases back.
 */
function followWorker(
  worker: Worker,
  index: number,
  tally: WorkerTally,
  onProgress: (total: ProgressDelta) => void,
  onFailure: () => void,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const end = () => resolve();
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      switch (message.kind) {
        case "progress":
          tally.progress.written += message.written;
          tally.progress.failed += message.failed;
          tally.progress.released += message.released;
          onProgress(tally.progress);
          break;
        case "run":
          tally.reports.push(message.report);
          if (message.last) tally.lastReports.push(message.report);
          break;
        case "failed":
          tally.errors.push(message.error);
          onFailure();
          end();
          break;
        case "done":
          end();
          break;
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      tally.errors.push(`worker ${index}: ${event.message}`);
      onFailure();
      end();
    };
  });
}

/** Starts `count` Web Workers, relays Ctrl-C to them, and waits until every one has finished. */
async function runWorkers(
  count: number,
  start: Omit<Extract<ToWorker, { kind: "start" }>, "worker">,
  stop: AbortSignal,
  onProgress: (total: ProgressDelta) => void,
): Promise<WorkerTally> {
  const tally: WorkerTally = {
    progress: { written: 0, failed: 0, released: 0 },
    reports: [],
    lastReports: [],
    errors: [],
  };
  const workers: Worker[] = [];
  const finished: Promise<void>[] = [];
  // One worker failing ends the run: the others stop now and hand back what they hold.
  const relayStop = () => {
    for (const worker of workers) worker.postMessage({ kind: "stop" } satisfies ToWorker);
  };
  for (let index = 1; index <= count; index++) {
    const worker = new Worker(new URL("./backfill_worker.ts", import.meta.url).href, {
      type: "module",
    });
    workers.push(worker);
    finished.push(followWorker(worker, index, tally, onProgress, relayStop));
    worker.postMessage({ ...start, worker: index } satisfies ToWorker);
  }
  stop.addEventListener("abort", relayStop, { once: true });
  try {
    await Promise.all(finished);
  } finally {
    stop.removeEventListener("abort", relayStop);
    for (const worker of workers) worker.terminate();
  }
  return tally;
}

/**
 * Builds the recorded indexes of these targets again; returns what it built and what it could not.
 * Ctrl-C a second time quits the process: the records stay, and the next backfill builds them.
 */
async function rebuildIndexes(
  sql: Sql,
  targets: readonly Target[],
): Promise<Pick<BackfillIndexes, "rebuilt" | "leftDropped">> {
  const records = await leftByAnEarlierBackfill(sql, targets);
  const rebuilt: string[] = [];
  const leftDropped: string[] = [];
  for (const index of records) {
    const started = performance.now();
    say(`backfill: building vector index ${indexName(index)} again...`);
    try {
      const result = await rebuildDeferredIndex(sql, index);
      rebuilt.push(indexName(index));
      say(
        `backfill: vector index ${indexName(index)} ${
          result === "built" ? "built" : "was there already"
        } in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    } catch (error) {
      leftDropped.push(indexName(index));
      say(`backfill: could not build ${indexName(index)}: ${errorMessage(error)}`);
    }
  }
  return { rebuilt, leftDropped };
}

/** Indexes an earlier backfill --defer-index dropped and never built again, of these targets. */
async function leftByAnEarlierBackfill(
  sql: Sql,
  targets: readonly Target[],
): Promise<DeferredIndex[]> {
  const names = new Set(targets.map((target) => target.name));
  return (await readDeferredIndexes(sql)).filter((index) => names.has(index.targetName));
}

/**
 * Builds again what an earlier --defer-index left dropped (at the end instead, when this backfill
 * defers too); returns those indexes.
 */
async function handleEarlierDeferrals(
  sql: Sql,
  targets: readonly Target[],
  deferIndex: boolean,
  indexes: BackfillIndexes,
): Promise<DeferredIndex[]> {
  const earlier = await leftByAnEarlierBackfill(sql, targets);
  if (earlier.length === 0) return earlier;
  say(
    `backfill: an earlier backfill --defer-index left ${
      plural(earlier.length, "vector index", "vector indexes")
    } dropped (${earlier.map(indexName).join(", ")}); ${
      deferIndex ? "they are built again at the end" : "building them again first"
    }`,
  );
  if (!deferIndex) {
    const { rebuilt, leftDropped } = await rebuildIndexes(sql, targets);
    indexes.rebuilt.push(...rebuilt);
    if (leftDropped.length > 0) {
      throw new CliFailure(`could not build ${leftDropped.join(", ")} again; see above`);
    }
  }
  return earlier;
}

/** --defer-index: drops the targets' vector indexes, recorded to be built again at the end. */
async function deferIndexes(
  sql: Sql,
  targets: readonly Target[],
  indexes: BackfillIndexes,
  earlierCount: number,
): Promise<void> {
  for (const location of await targetLocations(sql, targets.map((target) => target.id))) {
    try {
      const dropped = await dropVectorIndexes(sql, location);
      indexes.dropped.push(...dropped.map(indexName));
    } catch (error) {
      throw new CliFailure(
        `could not drop the vector indexes of ${location.name} (--defer-index needs the table's owner): ${
          errorMessage(error)
        }`,
      );
    }
  }
  if (indexes.dropped.length > 0) {
    say(
      `backfill: dropped ${
        indexes.dropped.join(", ")
      } for the backfill (recorded in embeddings_cli.deferred_indexes; built again at the end)`,
    );
  } else if (earlierCount === 0) {
    say("backfill: --defer-index: no vector index on these targets' columns to defer");
  }
}

/** Rows of the targets that have no vector yet and are not dead-lettered (broken targets: none). */
async function rowsToDo(queue: PostgresTargetQueue, targets: readonly Target[]): Promise<number> {
  const before = await queue.readStatus(targets.map((target) => target.id));
  return before.reduce(
    (sum, status) =>
      sum +
      (status.broken
        ? 0
        : Math.max(0, (status.totalRows ?? 0) - status.embedded - status.deadLettered)),
    0,
  );
}

/** The workers' run, showing progress against `toDo` (raised when more rows turn up). */
async function runWorkersShowingProgress(
  request: BackfillRequest & { spread: Spread },
  toDo: number,
  stop: AbortSignal,
): Promise<{ tally: WorkerTally; durationMs: number }> {
  const display = await progressDisplay(request.progress, "backfill");
  const started = performance.now();
  let total = toDo;
  display.update(0, total);
  try {
    const tally = await runWorkers(
      request.spread.workers,
      {
        kind: "start",
        databaseUrl: request.databaseUrl,
        provider: request.provider,
        options: request.options,
        lanes: request.spread.lanes,
      },
      stop,
      (progress) => {
        const done = progress.written + progress.failed;
        total = Math.max(total, done);
        display.update(done, total);
      },
    );
    return { tally, durationMs: performance.now() - started };
  } finally {
    display.stop();
  }
}

/**
 * The workers' run, then the deferred indexes built again (when `rebuild`); Ctrl-C stops the
 * workers first, then (a second time) leaves the indexes for the next backfill.
 */
async function workThenRebuild(
  sql: Sql,
  request: BackfillRequest & { spread: Spread },
  { targets, toDo, rebuild }: { targets: readonly Target[]; toDo: number; rebuild: boolean },
  indexes: BackfillIndexes,
): Promise<{ tally: WorkerTally; durationMs: number; interrupted: boolean }> {
  const stop = new AbortController();
  let phase: "workers" | "indexes" = "workers";
  const stopListening = stopOnInterrupt(stop, () =>
    say(
      phase === "workers"
        ? "backfill: stopping: no new batch, the rows in hand go back untried (Ctrl-C again to quit at once)"
        : "backfill: Ctrl-C again to quit now and leave the vector indexes for the next backfill",
    ));
  try {
    const run = await runWorkersShowingProgress(request, toDo, stop.signal);
    const interrupted = stop.signal.aborted;
    phase = "indexes";
    if (rebuild) {
      const { rebuilt, leftDropped } = await rebuildIndexes(sql, targets);
      indexes.rebuilt.push(...rebuilt);
      indexes.leftDropped.push(...leftDropped);
    }
    return { ...run, interrupted };
  } finally {
    stopListening();
  }
}

export async function runBackfill(
  sql: Sql,
  request: BackfillRequest,
): Promise<{ outcome: BackfillOutcome; exitCode: ExitCode }> {
  const queue = new PostgresTargetQueue(sql);
  const targets = await chooseTargets(queue, request.options.target);
  if (targets.length === 0) {
    throw new CliFailure(
      "no embedding targets are registered: register one with embeddings.register_target",
    );
  }
  const providers = providersFor(request.provider, targets);
  const providerNames = providers.map((entry) => entry.name).join(", ") || "none";
  const models = providers.map((entry) => entry.model).join(", ") || "none";
  const indexes: BackfillIndexes = { dropped: [], rebuilt: [], leftDropped: [] };
  const earlier = await handleEarlierDeferrals(sql, targets, request.deferIndex, indexes);
  if (request.deferIndex) await deferIndexes(sql, targets, indexes, earlier.length);

  const toDo = await rowsToDo(queue, targets);
  const spread = spreadFor(request.concurrency, providers);
  say(
    `backfill: ${plural(toDo, "row")} to embed in ${
      targets.map((target) => target.name).join(", ")
    }, ${plural(spread.workers, "worker")}${
      spread.lanes > 1
        ? ` with up to ${spread.lanes} batches in flight (paced by the provider)`
        : ""
    }, ${providers.length > 1 ? "providers" : "provider"} ${providerNames} (${models}) on ${
      plural(request.options.batchSize, "row")
    } a batch`,
  );

  const { tally, durationMs, interrupted } = await workThenRebuild(
    sql,
    { ...request, spread },
    { targets, toDo, rebuild: request.deferIndex || earlier.length > 0 },
    indexes,
  );
  const after = await readStatusView(sql, targets.map((target) => target.id));
  return summarizeBackfill({
    provider: providerNames,
    model: models,
    workers: spread.workers,
    written: tally.progress.written,
    failed: tally.progress.failed,
    released: tally.progress.released,
    durationMs,
    interrupted,
    reports: tally.reports,
    lastReports: tally.lastReports,
    workerErrors: tally.errors,
    indexes,
    after,
  });
}
