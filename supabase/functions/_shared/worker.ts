// The worker: round-robin over the targets, claim a batch, embed it, write it, and hold the database's account of every write against the batch.
import { embedClaimedRows } from "./embed_claimed_rows.ts";
import type { EmbeddingProvider } from "./providers/embedding_provider.ts";
import type {
  ClaimedBatch,
  RowEmbedding,
  RowFailure,
  TargetQueue,
  TargetStatus,
  WriteOutcome,
} from "./target_queue.ts";

export interface WorkerOptions {
  /** Rows per claim, provider call and write. */
  batchSize: number;
  /** Rows to claim at most in this run, over all targets. */
  maxRows: number;
  /** No new batch starts when the slowest batch so far would overrun this. */
  timeBudgetMs: number;
  /** How long a claim holds its rows before another worker may take them. */
  leaseSeconds: number;
  /** Work only this target (by name); null works every target. */
  target: string | null;
}

export const defaultWorkerOptions: Readonly<WorkerOptions> = {
  batchSize: 50,
  maxRows: 10_000,
  timeBudgetMs: 60_000,
  leaseSeconds: 300,
  target: null,
};

export type StopReason =
  | "no pending rows left"
  | "maxRows reached"
  | "time budget spent"
  | "embedding provider failed"
  | "database call failed"
  | "no target matches the provider";

export interface FailedRow {
  key: string;
  error: string;
  /** True when this failure used the row's last attempt: it is dead-lettered. */
  deadLettered: boolean;
}

export interface TargetReport {
  target: string;
  model: string;
  /** False when the target could not be worked, or a row of it failed. */
  ok: boolean;
  /** Why the target was not worked, or why its work stopped; null when nothing went wrong. */
  error: string | null;
  batches: number;
  /** Rows claimed in this run. */
  claimed: number;
  /** Rows the database says it wrote (keys from RETURNING). */
  written: number;
  /** Rows that failed and cost an attempt. */
  failed: FailedRow[];
  /** Rows whose text changed while they were embedded: not written, queued again. */
  stale: string[];
  /** Rows deleted, or taken over by another worker after this lease ran out: not written. */
  lost: string[];
  /** Rows handed back untried (the provider was down, or the run stopped). */
  released: number;
  /** The target's status after the run, read from the database. */
  status: TargetStatus | null;
}

export interface WorkerReport {
  ok: boolean;
  message: string;
  provider: string;
  model: string;
  dimensions: number;
  claimed: number;
  written: number;
  failed: number;
  /** Rows still queued (pending or leased) over the targets worked, counted by the database. */
  pending: number;
  batches: number;
  stoppedBecause: StopReason;
  durationMs: number;
  targets: TargetReport[];
}

/** A request the worker cannot serve at all, such as a target name that is not registered. */
export class WorkerRequestError extends Error {
  override name = "WorkerRequestError";
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function emptyReport(target: TargetStatus): TargetReport {
  return {
    target: target.name,
    model: target.model,
    ok: true,
    error: null,
    batches: 0,
    claimed: 0,
    written: 0,
    failed: [],
    stale: [],
    lost: [],
    released: 0,
    status: null,
  };
}

/** Null when the database's account covers exactly the keys sent, each once; else what is wrong. */
function accountProblem(sent: readonly RowEmbedding[], outcome: WriteOutcome): string | null {
  const sentKeys = new Set(sent.map((row) => row.key));
  const answered = [...outcome.writtenKeys, ...outcome.staleKeys, ...outcome.lostKeys];
  const unexpected = answered.filter((key) => !sentKeys.has(key));
  const answeredKeys = new Set(answered);
  const unaccounted = [...sentKeys].filter((key) => !answeredKeys.has(key));
  if (unexpected.length === 0 && unaccounted.length === 0 && answered.length === sentKeys.size) {
    return null;
  }
  return `the database's account of the write does not match the batch (unexpected keys: ${
    unexpected.join(", ") || "none"
  }; unaccounted keys: ${
    unaccounted.join(", ") || "none"
  }; ${answered.length} answers for ${sentKeys.size} rows)`;
}

type BatchResult = "queue empty" | "done" | { fatal: StopReason; error: string };

class TargetWorker {
  constructor(
    private readonly queue: TargetQueue,
    private readonly provider: EmbeddingProvider,
    private readonly target: TargetStatus,
    readonly report: TargetReport,
  ) {}

  async runBatch(batchSize: number, leaseSeconds: number): Promise<BatchResult> {
    let batch: ClaimedBatch;
    try {
      batch = await this.queue.claimBatch(this.target.id, batchSize, leaseSeconds);
    } catch (error) {
      return { fatal: "database call failed", error: `claim failed: ${errorMessage(error)}` };
    }
    if (batch.leaseToken === null || batch.rows.length === 0) return "queue empty";
    const lease = batch.leaseToken;
    this.report.batches += 1;
    this.report.claimed += batch.rows.length;

    const embedded = await embedClaimedRows(this.provider, this.target.dimensions, batch.rows);
    const failures = [...embedded.failures];
    let fatal: BatchResult = "done";

    if (embedded.embeddings.length > 0) {
      const written = await this.#write(lease, embedded.embeddings);
      failures.push(...written.failures);
      if (written.fatal) fatal = { fatal: "database call failed", error: written.fatal };
    }
    await this.#fail(lease, failures);
    if (embedded.untried.length > 0) {
      await this.#release(lease, embedded.untried.map((row) => row.key));
    }
    if (embedded.providerDown !== null && fatal === "done") {
      fatal = { fatal: "embedding provider failed", error: embedded.providerDown };
    }
    return fatal;
  }

  /** Writes the batch; when the database refuses it, writes row by row to find the rows to blame. */
  async #write(
    lease: string,
    rows: readonly RowEmbedding[],
  ): Promise<{ failures: RowFailure[]; fatal: string | null }> {
    let batchError: string;
    try {
      const outcome = await this.queue.writeBatch(this.target.id, lease, this.target.model, rows);
      return { failures: [], fatal: this.#record(rows, outcome) };
    } catch (error) {
      batchError = errorMessage(error);
    }
    if (rows.length === 1) {
      return {
        failures: [{ key: rows[0].key, error: `database refused the write: ${batchError}` }],
        fatal: null,
      };
    }
    const failures: RowFailure[] = [];
    let anyWritten = false;
    for (const row of rows) {
      try {
        const outcome = await this.queue.writeBatch(this.target.id, lease, this.target.model, [
          row,
        ]);
        const problem = this.#record([row], outcome);
        if (problem) return { failures, fatal: problem };
        anyWritten = true;
      } catch (error) {
        failures.push({
          key: row.key,
          error: `database refused the write: ${errorMessage(error)}`,
        });
      }
    }
    return {
      failures,
      fatal: anyWritten ? null : `the database refused every row of the batch: ${batchError}`,
    };
  }

  /** Adds the database's account to the report; returns a problem when the account is not whole. */
  #record(sent: readonly RowEmbedding[], outcome: WriteOutcome): string | null {
    const problem = accountProblem(sent, outcome);
    if (problem) return problem;
    this.report.written += outcome.writtenKeys.length;
    this.report.stale.push(...outcome.staleKeys);
    this.report.lost.push(...outcome.lostKeys);
    return null;
  }

  async #fail(lease: string, failures: readonly RowFailure[]): Promise<void> {
    if (failures.length === 0) return;
    let dead = new Set<string>();
    let recordError: string | null = null;
    try {
      dead = new Set((await this.queue.failRows(this.target.id, lease, failures)).deadKeys);
    } catch (error) {
      // The rows stay leased until the lease runs out, then are claimed again.
      recordError = `could not record the failures: ${errorMessage(error)}`;
    }
    for (const failure of failures) {
      this.report.failed.push({
        key: failure.key,
        error: recordError ? `${failure.error} (${recordError})` : failure.error,
        deadLettered: dead.has(failure.key),
      });
    }
  }

  async #release(lease: string, keys: readonly string[]): Promise<void> {
    try {
      this.report.released += await this.queue.releaseRows(this.target.id, lease, keys);
    } catch {
      // Not released: the lease runs out and the rows are claimed again; nothing is lost.
    }
  }
}

function mismatch(target: TargetStatus, provider: EmbeddingProvider): string | null {
  if (target.model === provider.model && target.dimensions === provider.dimensions) return null;
  return `target ${target.name} embeds with model ${target.model} (${target.dimensions} dimensions) but this worker's provider ${provider.name} makes ${provider.model} (${provider.dimensions} dimensions); vectors of two models are never mixed. Switch the target with embeddings.set_target_model(${target.id}, '${provider.model}', ${provider.dimensions}) or configure a provider for ${target.model}`;
}

function summarize(report: Omit<WorkerReport, "ok" | "message">): string {
  const parts = report.targets.map((target) => {
    if (target.error && target.claimed === 0) return `${target.target}: ${target.error}`;
    const extras = [
      target.failed.length > 0
        ? `${target.failed.length} failed (${
          target.failed.filter((row) => row.deadLettered).length
        } dead-lettered)`
        : "",
      target.stale.length > 0 ? `${target.stale.length} changed while embedded, queued again` : "",
      target.lost.length > 0 ? `${target.lost.length} deleted or taken over` : "",
    ].filter((part) => part !== "");
    const status = target.status
      ? `; now ${target.status.embedded}/${target.status.totalRows} embedded, ${
        target.status.pending + target.status.inFlight
      } queued`
      : "";
    return `${target.target}: wrote ${target.written} of ${target.claimed} claimed${
      extras.length > 0 ? ` (${extras.join(", ")})` : ""
    }${status}`;
  });
  return `${report.stoppedBecause}; ${parts.join("; ")}`;
}

export async function runWorker(
  queue: TargetQueue,
  provider: EmbeddingProvider,
  options: WorkerOptions,
): Promise<WorkerReport> {
  const started = performance.now();
  const registered = await queue.targets();
  const chosen = options.target === null
    ? registered
    : registered.filter((target) => target.name === options.target);
  if (chosen.length === 0) {
    throw new WorkerRequestError(
      options.target === null
        ? "no embedding targets are registered: register one with embeddings.register_target"
        : `no embedding target is named ${JSON.stringify(options.target)}; registered: ${
          registered.map((target) => target.name).join(", ") || "none"
        }`,
    );
  }

  const workers: TargetWorker[] = [];
  const reports: TargetReport[] = [];
  for (const target of chosen) {
    const report = emptyReport(target);
    reports.push(report);
    const problem = mismatch(target, provider);
    if (problem) {
      report.ok = false;
      report.error = problem;
    } else {
      workers.push(new TargetWorker(queue, provider, target, report));
    }
  }

  const total = (field: "claimed" | "batches" | "written") =>
    reports.reduce((sum, report) => sum + report[field], 0);
  let slowestBatchMs = 0;
  const reasonToStop = (): StopReason | null => {
    if (total("claimed") >= options.maxRows) return "maxRows reached";
    const elapsed = performance.now() - started;
    if (total("batches") > 0 && elapsed + slowestBatchMs > options.timeBudgetMs) {
      return "time budget spent";
    }
    return null;
  };

  // Round robin: each target with work gets one batch per round, so they share the budget.
  let stoppedBecause: StopReason | null = workers.length === 0
    ? "no target matches the provider"
    : null;
  let active = workers;
  while (stoppedBecause === null && active.length > 0) {
    const stillActive: TargetWorker[] = [];
    for (const worker of active) {
      stoppedBecause = reasonToStop();
      if (stoppedBecause !== null) break;
      const batchStarted = performance.now();
      const result = await worker.runBatch(
        Math.min(options.batchSize, options.maxRows - total("claimed")),
        options.leaseSeconds,
      );
      if (result === "queue empty") continue;
      slowestBatchMs = Math.max(slowestBatchMs, performance.now() - batchStarted);
      stillActive.push(worker);
      if (result !== "done") {
        stoppedBecause = result.fatal;
        worker.report.error = result.error;
        break;
      }
    }
    active = stillActive;
  }

  // Every count below is read back from the database.
  let statusError: string | null = null;
  try {
    const after = new Map((await queue.targets()).map((status) => [status.id, status]));
    for (const [index, target] of chosen.entries()) {
      reports[index].status = after.get(target.id) ?? null;
    }
  } catch (error) {
    statusError = `could not read the status back: ${errorMessage(error)}`;
  }
  for (const report of reports) {
    if (report.failed.length > 0 || report.error !== null) report.ok = false;
    if (statusError) {
      report.ok = false;
      report.error ??= statusError;
    }
  }

  const body = {
    provider: provider.name,
    model: provider.model,
    dimensions: provider.dimensions,
    claimed: total("claimed"),
    written: total("written"),
    failed: reports.reduce((sum, report) => sum + report.failed.length, 0),
    pending: reports.reduce(
      (sum, report) => sum + (report.status ? report.status.pending + report.status.inFlight : 0),
      0,
    ),
    batches: total("batches"),
    stoppedBecause: stoppedBecause ?? "no pending rows left",
    durationMs: Math.round(performance.now() - started),
    targets: reports,
  };
  return {
    ok: reports.every((report) => report.ok),
    message: summarize(body),
    ...body,
  };
}
