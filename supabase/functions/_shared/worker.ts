// The worker: round-robin over the targets, one batch each per round, within the run's row and time budget, waiting out a failing provider when the budget allows; every count it reports is read back from the database.
import { BatchPipeline, type BatchResult, type PreparedBatch } from "./batch_pipeline.ts";
import { errorMessage } from "./error_message.ts";
import { ProviderBackoff, providerStopCode } from "./provider_backoff.ts";
import type { EmbeddingProvider } from "./providers/embedding_provider.ts";
import { RunDeadline } from "./run_deadline.ts";
import type { RunOptions } from "./run_options.ts";
import type { Target, TargetQueue } from "./target_queue.ts";
import {
  emptyTargetReport,
  type ProviderFailure,
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

/** Waits `ms`; the worker only waits when the time budget allows it. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Ways to steer a run from outside. */
export interface RunControl {
  /** Aborting it stops the run at once: the batch in hand goes back untried, nothing is lost. */
  stop?: AbortSignal;
}

export async function runWorker(
  queue: TargetQueue,
  provider: EmbeddingProvider,
  options: RunOptions,
  control: RunControl = {},
): Promise<WorkerReport> {
  const started = performance.now();
  const chosen = await chooseTargets(queue, options.target);
  const deadline = new RunDeadline(options.timeBudgetMs, control.stop);
  try {
    return await workTargets(queue, provider, options, chosen, started, deadline);
  } finally {
    deadline.dispose();
  }
}

async function workTargets(
  queue: TargetQueue,
  provider: EmbeddingProvider,
  options: RunOptions,
  chosen: readonly Target[],
  started: number,
  deadline: RunDeadline,
): Promise<WorkerReport> {
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

  const total = (field: "claimed" | "batches" | "written" | "failed" | "released") =>
    reports.reduce((sum, report) => sum + report[field], 0);
  // Rows handed back untried do not use up maxRows: the run may claim them again.
  const kept = () => total("claimed") - total("released");
  let slowestBatchMs = 0;
  const reasonToStop = (): StopCode | null => {
    if (deadline.stopRequested) return "stopped";
    if (kept() >= options.maxRows) return "max_rows_reached";
    if (deadline.remainingMs() <= 0) return "time_budget_spent";
    if (total("batches") > 0 && deadline.remainingMs() < slowestBatchMs) {
      return "time_budget_spent";
    }
    return null;
  };

  // The provider is one for every target: after it fails, no target calls it before it may.
  const backoff = new ProviderBackoff();
  let lastProviderFailure = null as BatchPipeline | null;
  let providerRetries = 0;

  // A batch's write runs while the next batch is claimed and embedded: the database and the
  // provider work at the same time. At most one write is in flight, so every count stays exact.
  interface WriteInFlight {
    pipeline: BatchPipeline;
    prepareMs: number;
    written: Promise<{ result: BatchResult; writeMs: number }>;
  }
  let inFlight = null as WriteInFlight | null;
  const startWrite = (pipeline: BatchPipeline, prepared: PreparedBatch, prepareMs: number) => {
    const writeStarted = performance.now();
    // writeBatch settles every row and never throws.
    const written = pipeline.writeBatch(prepared).then((result) => ({
      result,
      writeMs: performance.now() - writeStarted,
    }));
    inFlight = { pipeline, prepareMs, written };
  };
  const settleInFlight = async (): Promise<void> => {
    if (inFlight === null) return;
    const { pipeline, prepareMs, written } = inFlight;
    inFlight = null;
    const { result, writeMs } = await written;
    // What a batch costs, however much of it overlapped the next one: its claim and embedding,
    // then its write.
    slowestBatchMs = Math.max(slowestBatchMs, prepareMs + writeMs);
    if (result.outcome === "provider failed") {
      backoff.failed(result.error, performance.now());
      lastProviderFailure = pipeline;
    } else if (result.outcome === "stop") {
      // A failed write outranks why the run was ending meanwhile (rows, time): it went wrong.
      if (stoppedBecause === null || result.stop === "database_failed") {
        stoppedBecause = result.stop;
      }
      if (result.error !== null) pipeline.report.error = result.error;
    } else if (result.outcome === "done") {
      backoff.succeeded();
    }
  };

  // Round robin: each target with work gets one batch per round, so they share the budget.
  let stoppedBecause: StopCode | null = pipelines.length === 0
    ? "no_target_matches_provider"
    : null;
  let active = pipelines;
  try {
    while (stoppedBecause === null && active.length > 0) {
      const stillActive: BatchPipeline[] = [];
      for (const pipeline of active) {
        stoppedBecause = reasonToStop();
        if (stoppedBecause !== null) break;
        const wait = backoff.waitMs(performance.now());
        if (wait > 0) {
          // Wait only when a batch still fits in the budget after the wait; else the run ends
          // (on the provider's failure: see below).
          if (deadline.remainingMs() < wait + slowestBatchMs) {
            stoppedBecause = "time_budget_spent";
            break;
          }
          await sleep(wait);
          providerRetries += 1;
        }
        const prepareStarted = performance.now();
        const prepared = await pipeline.prepareBatch(
          Math.min(options.batchSize, options.maxRows - kept()),
          options.leaseSeconds,
          deadline,
        );
        const prepareMs = performance.now() - prepareStarted;
        // The last batch's write ends before this one's starts: one write at a time. When that
        // write failed, or a stop was asked for meanwhile, this batch goes back unwritten.
        const settledPipeline = inFlight?.pipeline;
        await settleInFlight();
        if (stoppedBecause === null && deadline.stopRequested) stoppedBecause = "stopped";
        if (stoppedBecause !== null) {
          if (prepared.outcome === "prepared") {
            stillActive.push(pipeline);
            await pipeline.abandonBatch(prepared);
          }
          break;
        }
        if (prepared.outcome === "prepared") {
          // Known already: the next batch costs at least as long to claim and embed as this one.
          slowestBatchMs = Math.max(slowestBatchMs, prepareMs);
          stillActive.push(pipeline);
          startWrite(pipeline, prepared, prepareMs);
          if (prepared.embedded.providerError !== null || prepared.embedded.outOfTime) {
            // Nothing to overlap with: the provider needs a rest, or the time is spent.
            await settleInFlight();
            if (stoppedBecause !== null) break;
          }
          continue;
        }
        if (prepared.outcome === "queue empty") {
          // Claimed while this target's last write was in flight: that write may have queued
          // rows again (their text changed), so the target gets one more look.
          if (settledPipeline === pipeline) stillActive.push(pipeline);
          continue;
        }
        if (prepared.outcome === "target broken") {
          // Only this target stops: the others are worked as if it were not registered.
          pipeline.report.ok = false;
          pipeline.report.error = prepared.error;
          continue;
        }
        stillActive.push(pipeline);
        stoppedBecause = prepared.stop;
        if (prepared.error !== null) pipeline.report.error = prepared.error;
        break;
      }
      active = stillActive;
    }
  } finally {
    await settleInFlight();
  }

  // A provider failure not followed by a success is why the run ended, whatever else was due.
  let providerError: ProviderFailure | null = null;
  const unresolved = backoff.lastError;
  if (unresolved !== null && stoppedBecause !== "database_failed" && stoppedBecause !== "stopped") {
    stoppedBecause = providerStopCode(unresolved);
    const retryAt = new Date(Date.now() + backoff.waitMs(performance.now())).toISOString();
    providerError = { kind: unresolved.kind, message: unresolved.message, retryAt };
    if (lastProviderFailure) lastProviderFailure.report.error = unresolved.message;
  }

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

  const stopCode = stoppedBecause ?? "nothing_to_claim";
  return {
    ok: reports.every((report) => report.ok),
    message: summarize(stopCode, reports, providerError),
    provider: provider.name,
    model: provider.model,
    dimensions: provider.dimensions,
    claimed: total("claimed"),
    written: total("written"),
    failed: total("failed"),
    queued: reports.reduce((sum, report) => sum + queuedRows(report), 0),
    batches: total("batches"),
    stoppedBecause: stopCode,
    providerError,
    providerRetries,
    inputLimit: provider.inputLimit ?? null,
    durationMs: Math.round(performance.now() - started),
    targets: reports,
  };
}
