// The worker: chooses the targets, works them round-robin (round_robin_run.ts) and reports the run; every count it reports is read back from the database.
import { BatchPipeline } from "./batch_pipeline.ts";
import { errorMessage } from "./error_message.ts";
import { providerStopCode } from "./provider_backoff.ts";
import { ProviderPacer } from "./provider_pacer.ts";
import type { EmbeddingProvider } from "./providers/embedding_provider.ts";
import { RunDeadline } from "./run_deadline.ts";
import { RoundRobinRun } from "./round_robin_run.ts";
import type { RunOptions } from "./run_options.ts";
import type { Target, TargetQueue } from "./target_queue.ts";
import {
  emptyTargetReport,
  type ProviderFailure,
  queuedRows,
  summarize,
  type TargetReport,
  type WorkerReport,
} from "./worker_report.ts";

/** A request the worker cannot serve at all, such as a target name that is not registered. */
export class WorkerRequestError extends Error {
  override name = "WorkerRequestError";
}

function mismatch(target: Target, provider: EmbeddingProvider): string | null {
  if (target.model === provider.model && target.dimensions === provider.dimensions) return null;
  return `target ${target.name} embeds with model ${target.model} (${target.dimensions} dimensions) but this worker's provider ${provider.name} makes ${provider.model} (${provider.dimensions} dimensions); vectors of two models are never mixed. Switch the target with embeddings.set_target_model(${target.id}, '${provider.model}', ${provider.dimensions}) or configure a provider for ${target.model}`;
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
   * Paces the provider's calls; runs at once in one process share one, so a 429 pauses them all.
   * Default: the run's own, one call at a time.
   */
  pacer?: ProviderPacer;
}

export async function runWorker(
  queue: TargetQueue,
  provider: EmbeddingProvider,
  options: RunOptions,
  control: RunControl = {},
): Promise<WorkerReport> {
  const started = performance.now();
  const retriesBefore = queue.transientRetries ?? 0;
  const chosen = await chooseTargets(queue, options.target);
  const deadline = new RunDeadline(options.timeBudgetMs, control.stop);
  try {
    return await workTargets(
      { queue, provider, pacer: control.pacer ?? new ProviderPacer() },
      options,
      chosen,
      { started, retriesBefore },
      deadline,
    );
  } finally {
    deadline.dispose();
  }
}

/** A pipeline for each target whose model the provider makes; the others' reports say why not. */
function pipelinesFor(
  { queue, provider, pacer }: WorkerParts,
  chosen: readonly Target[],
): { pipelines: BatchPipeline[]; reports: TargetReport[] } {
  const pipelines: BatchPipeline[] = [];
  const reports: TargetReport[] = [];
  for (const target of chosen) {
    const report = emptyTargetReport(target);
    reports.push(report);
    const problem = mismatch(target, provider);
    if (problem) {
      report.ok = false;
      report.error = problem;
    } else {
      pipelines.push(new BatchPipeline(queue, provider, target, report, pacer));
    }
  }
  return { pipelines, reports };
}

/** A provider failure not followed by a success is why the run ended, whatever else was due. */
function unresolvedProviderFailure(run: RoundRobinRun): ProviderFailure | null {
  const unresolved = run.backoff.lastError;
  if (
    unresolved === null || run.stoppedBecause === "database_failed" ||
    run.stoppedBecause === "stopped"
  ) {
    return null;
  }
  run.stoppedBecause = providerStopCode(unresolved);
  const retryAt = new Date(Date.now() + run.backoff.waitMs(performance.now())).toISOString();
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

/** What a run works with: the queue, the provider, and the pacer of the provider's calls. */
interface WorkerParts {
  queue: TargetQueue;
  provider: EmbeddingProvider;
  pacer: ProviderPacer;
}

async function workTargets(
  parts: WorkerParts,
  options: RunOptions,
  chosen: readonly Target[],
  before: { started: number; retriesBefore: number },
  deadline: RunDeadline,
): Promise<WorkerReport> {
  const { queue, provider } = parts;
  const { pipelines, reports } = pipelinesFor(parts, chosen);
  const run = new RoundRobinRun(pipelines, reports, options, deadline);
  await run.run();
  const providerError = unresolvedProviderFailure(run);
  await settleReports(queue, pipelines, reports);
  const stopCode = run.stoppedBecause ?? "nothing_to_claim";
  return {
    ok: reports.every((report) => report.ok),
    message: summarize(stopCode, reports, providerError),
    provider: provider.name,
    model: provider.model,
    dimensions: provider.dimensions,
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
    inputLimit: provider.inputLimit ?? null,
    durationMs: Math.round(performance.now() - before.started),
    targets: reports,
  };
}
