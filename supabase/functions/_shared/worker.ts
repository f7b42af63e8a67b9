// The worker: round-robin over the targets, one batch each per round, within the run's row and time budget; every count it reports is read back from the database.
import { BatchPipeline } from "./batch_pipeline.ts";
import { errorMessage } from "./error_message.ts";
import type { EmbeddingProvider } from "./providers/embedding_provider.ts";
import type { RunOptions } from "./run_options.ts";
import type { Target, TargetQueue } from "./target_queue.ts";
import {
  emptyTargetReport,
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

export async function runWorker(
  queue: TargetQueue,
  provider: EmbeddingProvider,
  options: RunOptions,
): Promise<WorkerReport> {
  const started = performance.now();
  const chosen = await chooseTargets(queue, options.target);

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
      pipelines.push(new BatchPipeline(queue, provider, target, report));
    }
  }

  const total = (field: "claimed" | "batches" | "written" | "failed") =>
    reports.reduce((sum, report) => sum + report[field], 0);
  let slowestBatchMs = 0;
  const reasonToStop = (): StopCode | null => {
    if (total("claimed") >= options.maxRows) return "max_rows_reached";
    const elapsed = performance.now() - started;
    if (total("batches") > 0 && elapsed + slowestBatchMs > options.timeBudgetMs) {
      return "time_budget_spent";
    }
    return null;
  };

  // Round robin: each target with work gets one batch per round, so they share the budget.
  let stoppedBecause: StopCode | null = pipelines.length === 0
    ? "no_target_matches_provider"
    : null;
  let active = pipelines;
  while (stoppedBecause === null && active.length > 0) {
    const stillActive: BatchPipeline[] = [];
    for (const pipeline of active) {
      stoppedBecause = reasonToStop();
      if (stoppedBecause !== null) break;
      const batchStarted = performance.now();
      const result = await pipeline.runBatch(
        Math.min(options.batchSize, options.maxRows - total("claimed")),
        options.leaseSeconds,
      );
      if (result === "queue empty") continue;
      slowestBatchMs = Math.max(slowestBatchMs, performance.now() - batchStarted);
      stillActive.push(pipeline);
      if (result !== "done") {
        stoppedBecause = result.stop;
        pipeline.report.error = result.error;
        break;
      }
    }
    active = stillActive;
  }

  // Only the targets worked are counted again: counting scans their tables.
  const statusError = await readStatusBack(
    queue,
    pipelines.map((pipeline) => pipeline.target),
    pipelines.map((pipeline) => pipeline.report),
  );
  for (const report of reports) {
    if (report.failed > 0 || report.error !== null) report.ok = false;
    if (statusError) {
      report.ok = false;
      report.error ??= statusError;
    }
  }

  const stopCode = stoppedBecause ?? "nothing_to_claim";
  return {
    ok: reports.every((report) => report.ok),
    message: summarize(stopCode, reports),
    provider: provider.name,
    model: provider.model,
    dimensions: provider.dimensions,
    claimed: total("claimed"),
    written: total("written"),
    failed: total("failed"),
    queued: reports.reduce((sum, report) => sum + queuedRows(report), 0),
    batches: total("batches"),
    stoppedBecause: stopCode,
    durationMs: Math.round(performance.now() - started),
    targets: reports,
  };
}
