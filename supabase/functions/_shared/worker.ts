// The worker: chooses the targets, works them round-robin (round_robin_run.ts) and reports the run; every count it reports is read back from the database.
import { BatchPipeline } from "./batch_pipeline.ts";
import { errorMessage } from "./error_message.ts";
import { providerStopCode } from "./provider_backoff.ts";
import { ProviderBackoff } from "./provider_backoff.ts";
import { ProviderPacers } from "./provider_pacers.ts";
import type { EmbeddingProvider } from "./providers/embedding_provider.ts";
import { ProviderRouter } from "./providers/provider_router.ts";
import { RunDeadline } from "./run_deadline.ts";
import { RoundRobinRun } from "./round_robin_run.ts";
import type { RunOptions } from "./run_options.ts";
import type { Target, TargetQueue } from "./target_queue.ts";
import {
  emptyTargetReport,
  type ProviderFailure,
  type ProviderUse,
  queuedRows,
  type StopCode,
  summarize,
  type TargetReport,
  type WorkerReport,
} from "./worker_report.ts";

/** A request the worker cannot serve at all, such as a target name that is not registered. */
export class WorkerRequestError extends Error {
  override name = "WorkerRequestError";
}

async function chooseTargets(queue: TargetQueue, name: string | null): Promise<Target[]> {
  const registered = await queue.listTargets();
  const chosen = name === null ? registered : registered.filter((target) => target.name === name);
  if (chosen.length > 0) return chosen;
  throw new WorkerRequestError(
    name === null
      ? "no embedding targets are registered: register one with embeddings.register_target"
      : `no embedding target is named ${JSON.stringify(name)}; registered: ${
        registered.map((target) => target.name).join(", ") || "none"
      }`,
  );
}

/** Reads each report's target status back; says what failed when it could not. */
async function readStatusBack(
  queue: TargetQueue,
  targets: readonly Target[],
  reports: readonly TargetReport[],
): Promise<string | null> {
  if (targets.length === 0) return null;
  try {
    const after = new Map(
      (await queue.readStatus(targets.map((target) => target.id))).map((status) => [
        status.id,
        status,
      ]),
    );
    targets.forEach((target, index) => reports[index].status = after.get(target.id) ?? null);
    return null;
  } catch (error) {
    return `could not read the status back: ${errorMessage(error)}`;
  }
}

/** Ways to steer a run from outside. */
export interface RunControl {
  /** Aborting it stops the run at once: the batch in hand goes back untried, nothing is lost. */
  stop?: AbortSignal;
  /**
   * Paces each provider's calls; runs at once in one process share them, so a 429 pauses every
   * call to that provider (and no other). Default: the run's own, one call at a time each.
   */
  pacers?: ProviderPacers;
}

/**
 * Works the queued rows of every target (or the one named), each with the provider that makes
 * its model: `providers` routes them (one provider routes only its own model's targets).
 */
export async function runWorker(
  queue: TargetQueue,
  providers: EmbeddingProvider | ProviderRouter,
  options: RunOptions,
  control: RunControl = {},
): Promise<WorkerReport> {
  const started = performance.now();
  const retriesBefore = queue.transientRetries ?? 0;
  const router = providers instanceof ProviderRouter ? providers : ProviderRouter.of(providers);
  const chosen = await chooseTargets(queue, options.target);
  const deadline = new RunDeadline(options.timeBudgetMs, control.stop);
  try {
    return await workTargets(
      { queue, router, pacers: control.pacers ?? new ProviderPacers() },
      options,
      chosen,
      { started, retriesBefore },
      deadline,
    );
  } finally {
    deadline.dispose();
  }
}

/** The pipelines of a run, each with its provider's backoff, and the providers they use. */
interface Lanes {
  pipelines: BatchPipeline[];
  reports: TargetReport[];
  backoffs: Map<BatchPipeline, ProviderBackoff>;
  used: ProviderUse[];
}

/**
 * A pipeline for each target a configured provider serves, with that provider, built now if no
 * earlier target needed it; the others' reports say why not. A provider that cannot be built
 * fails its targets alone.
 */
async function pipelinesFor(
  { queue, router, pacers }: WorkerParts,
  chosen: readonly Target[],
): Promise<Lanes> {
  const lanes: Lanes = { pipelines: [], reports: [], backoffs: new Map(), used: [] };
  const backoffOf = new Map<string, ProviderBackoff>();
  for (const target of chosen) {
    const report = emptyTargetReport(target);
    lanes.reports.push(report);
    const route = router.route(target);
    if (!route.ok) {
      report.skipped = route.reason;
      continue;
    }
    const name = route.entry.name;
    report.provider = name;
    let provider: EmbeddingProvider;
    try {
      provider = await router.provider(route.entry);
    } catch (error) {
      report.ok = false;
      report.error = errorMessage(error);
      continue;
    }
    if (!backoffOf.has(name)) {
      backoffOf.set(name, new ProviderBackoff());
      lanes.used.push(providerUse(provider));
    }
    const pipeline = new BatchPipeline(queue, provider, target, report, pacers.for(name));
    lanes.pipelines.push(pipeline);
    lanes.backoffs.set(pipeline, backoffOf.get(name) as ProviderBackoff);
  }
  return lanes;
}

function providerUse(provider: EmbeddingProvider): ProviderUse {
  return {
    provider: provider.name,
    model: provider.model,
    dimensions: provider.dimensions,
    inputLimit: provider.inputLimit ?? null,
  };
}

/** A provider failure not followed by a success is why the run ended, whatever else was due. */
function unresolvedProviderFailure(run: RoundRobinRun): ProviderFailure | null {
  const backoff = run.failingBackoff();
  const unresolved = backoff?.lastError ?? null;
  if (
    backoff === null || unresolved === null || run.stoppedBecause === "database_failed" ||
    run.stoppedBecause === "stopped"
  ) {
    return null;
  }
  run.stoppedBecause = providerStopCode(unresolved);
  const retryAt = new Date(Date.now() + backoff.waitMs(performance.now())).toISOString();
  if (run.lastProviderFailure) run.lastProviderFailure.report.error = unresolved.message;
  return { kind: unresolved.kind, message: unresolved.message, retryAt };
}

/** Reads the worked targets' status back and marks every report that did not go well. */
async function settleReports(
  queue: TargetQueue,
  pipelines: readonly BatchPipeline[],
  reports: readonly TargetReport[],
): Promise<void> {
  // Only the targets worked are counted again: counting scans their tables.
  const statusError = await readStatusBack(
    queue,
    pipelines.map((pipeline) => pipeline.target),
    pipelines.map((pipeline) => pipeline.report),
  );
  for (const report of reports) {
    if (report.failed > 0 || report.error !== null || report.status?.broken) report.ok = false;
    if (statusError) {
      report.ok = false;
      report.error ??= statusError;
    }
  }
}

/** What a run works with: the queue, the providers' router, and the pacers of their calls. */
interface WorkerParts {
  queue: TargetQueue;
  router: ProviderRouter;
  pacers: ProviderPacers;
}

/** A run that worked nothing because the providers its targets need could not be built. */
function noProviderBuilt(
  pipelines: readonly BatchPipeline[],
  reports: readonly TargetReport[],
): StopCode | null {
  const unbuilt = reports.some((report) => report.provider !== null && report.error !== null);
  return pipelines.length === 0 && unbuilt ? "provider_unavailable" : null;
}

function firstConfigured(router: ProviderRouter): Omit<ProviderUse, "inputLimit"> {
  const [entry] = router.entries;
  return { provider: entry.name, model: entry.model, dimensions: entry.dimensions };
}

async function workTargets(
  parts: WorkerParts,
  options: RunOptions,
  chosen: readonly Target[],
  before: { started: number; retriesBefore: number },
  deadline: RunDeadline,
): Promise<WorkerReport> {
  const { queue, router } = parts;
  const { pipelines, reports, backoffs, used } = await pipelinesFor(parts, chosen);
  const run = new RoundRobinRun(pipelines, reports, options, deadline, backoffs);
  await run.run();
  const providerError = unresolvedProviderFailure(run);
  await settleReports(queue, pipelines, reports);
  const stopCode = noProviderBuilt(pipelines, reports) ??
    run.stoppedBecause ?? "nothing_to_claim";
  const first = used[0] ?? { ...firstConfigured(router), inputLimit: null };
  return {
    // A run whose every target was skipped served nothing: not ok.
    ok: reports.every((report) => report.ok) && reports.some((report) => report.skipped === null),
    message: summarize(stopCode, reports, providerError),
    provider: first.provider,
    model: first.model,
    dimensions: first.dimensions,
    providers: used,
    claimed: run.total("claimed"),
    written: run.total("written"),
    chunksWritten: reports.reduce((sum, report) => sum + (report.chunksWritten ?? 0), 0),
    failed: run.total("failed"),
    queued: reports.reduce((sum, report) => sum + queuedRows(report), 0),
    batches: run.total("batches"),
    stoppedBecause: stopCode,
    providerError,
    providerRetries: run.providerRetries,
    rateLimitWaits: reports.reduce((sum, report) => sum + report.rateLimitWaits, 0),
    rateLimitWaitMs: reports.reduce((sum, report) => sum + report.rateLimitWaitMs, 0),
    databaseRetries: (queue.transientRetries ?? 0) - before.retriesBefore,
    inputLimit: first.inputLimit,
    durationMs: Math.round(performance.now() - before.started),
    targets: reports,
  };
}
