// One target's batch pipeline: claim a batch, embed it, write it, then settle it (fail the rows to blame, hand back the untried), keeping the target's report.
import { embedClaimedRows } from "./embed_claimed_rows.ts";
import { errorMessage } from "./error_message.ts";
import type { EmbeddingProvider } from "./providers/embedding_provider.ts";
import type { ClaimedBatch, RowFailure, Target, TargetQueue } from "./target_queue.ts";
import type { StopCode, TargetReport } from "./worker_report.ts";
import { writeClaimedRows } from "./write_claimed_rows.ts";

/** "queue empty": nothing was claimable; "done": the batch is settled; else the run must stop. */
export type BatchResult = "queue empty" | "done" | { stop: StopCode; error: string };

export class BatchPipeline {
  constructor(
    private readonly queue: TargetQueue,
    private readonly provider: EmbeddingProvider,
    readonly target: Target,
    readonly report: TargetReport,
  ) {}

  async runBatch(batchSize: number, leaseSeconds: number): Promise<BatchResult> {
    let batch: ClaimedBatch;
    try {
      batch = await this.queue.claimBatch(this.target.id, batchSize, leaseSeconds);
    } catch (error) {
      return { stop: "database_failed", error: `claim failed: ${errorMessage(error)}` };
    }
    if (batch.leaseToken === null || batch.rows.length === 0) return "queue empty";
    const lease = batch.leaseToken;
    this.report.batches += 1;
    this.report.claimed += batch.rows.length;

    const embedded = await embedClaimedRows(this.provider, this.target.dimensions, batch.rows);
    const failures = [...embedded.failures];
    let result: BatchResult = "done";

    if (embedded.embeddings.length > 0) {
      const written = await writeClaimedRows(this.queue, this.target, lease, embedded.embeddings);
      this.report.written += written.writtenKeys.length;
      this.report.staleKeys.push(...written.staleKeys);
      this.report.lostKeys.push(...written.lostKeys);
      failures.push(...written.failures);
      if (written.databaseFailed !== null) {
        result = { stop: "database_failed", error: written.databaseFailed };
      }
    }
    await this.#fail(lease, failures);
    if (embedded.untried.length > 0) {
      await this.#release(lease, embedded.untried.map((row) => row.key));
    }
    if (embedded.providerDown !== null && result === "done") {
      result = { stop: "provider_failed", error: embedded.providerDown };
    }
    return result;
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
      this.report.failedRows.push({
        key: failure.key,
        error: recordError ? `${failure.error} (${recordError})` : failure.error,
        deadLettered: dead.has(failure.key),
      });
    }
    this.report.failed = this.report.failedRows.length;
  }

  async #release(lease: string, keys: readonly string[]): Promise<void> {
    try {
      this.report.released += await this.queue.releaseRows(this.target.id, lease, keys);
    } catch {
      // Not released: the lease runs out and the rows are claimed again; nothing is lost.
    }
  }
}
