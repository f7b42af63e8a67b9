// One target's batch pipeline in two stages, so the worker can embed one batch while the last one is written: prepare (claim a batch, embed it), then write and settle (fail the rows to blame, hand back the untried), keeping the target's report.
import { embedClaimedChunks } from "./embed_claimed_chunks.ts";
import { embedClaimedRows, type EmbeddedRows, type Pacing } from "./embed_claimed_rows.ts";
import { errorMessage } from "./error_message.ts";
import { ProviderPacer } from "./provider_pacer.ts";
import type { EmbeddingProvider } from "./providers/embedding_provider.ts";
import type { ProviderError } from "./providers/provider_error.ts";
import type { RunDeadline } from "./run_deadline.ts";
import {
  type ClaimedBatch,
  type RowChunks,
  type RowEmbedding,
  type RowFailure,
  type Target,
  TargetBrokenError,
  type TargetQueue,
} from "./target_queue.ts";
import type { StopCode, TargetReport } from "./worker_report.ts";
import { writeClaimedRows, type WrittenRows } from "./write_claimed_rows.ts";

/**
 * - "queue empty": nothing was claimable.
 * - "done": the batch is settled.
 * - "provider failed": the provider failed (not the rows); its rows went back without an attempt,
 *   and the worker decides whether to wait and retry.
 * - "target broken": this target cannot be worked; the others can.
 * - "stop": the run must stop (the database failed, or time ran out).
 */
export type BatchResult =
  | { outcome: "queue empty" }
  | { outcome: "done" }
  | { outcome: "provider failed"; error: ProviderError }
  | { outcome: "target broken"; error: string }
  | { outcome: "stop"; stop: StopCode; error: string | null };

/** Why a claim brought nothing to write. */
export type NothingToWrite = Extract<
  BatchResult,
  { outcome: "queue empty" | "target broken" | "stop" }
>;

/** A claimed batch, embedded and not yet written: whole rows' vectors, or (chunked) rows' chunks. */
export type PreparedBatch =
  & { outcome: "prepared"; lease: string }
  & (
    | { chunked: false; embedded: EmbeddedRows<RowEmbedding> }
    | { chunked: true; embedded: EmbeddedRows<RowChunks> }
  );

/** The keys of the rows a prepared batch holds vectors for. */
function embeddedKeys({ embedded }: PreparedBatch): string[] {
  const keys: string[] = [];
  for (const row of embedded.embeddings) keys.push(row.key);
  return keys;
}

/** Why a batch's rows were not embedded: the provider's failure, or the time budget. */
function whyUntried(embedded: EmbeddedRows<unknown>): string {
  if (embedded.providerError !== null) {
    return `the embedding provider failed (${embedded.providerError.message})`;
  }
  return "the time budget was spent before their provider call";
}

/** The chunks of the rows written (write_chunks' written_keys); 0 for a whole-row batch. */
function chunksWritten(prepared: PreparedBatch, writtenKeys: readonly string[]): number {
  if (!prepared.chunked) return 0;
  const written = new Set(writtenKeys);
  return prepared.embedded.embeddings
    .filter((row) => written.has(row.key))
    .reduce((sum, row) => sum + row.chunks.length, 0);
}

/**
 * How much of a lease a batch may spend waiting out the provider's pauses: the rest is kept for
 * the call after the wait and the write, so the rows are written under the lease that claimed
 * them. A wait past it hands the rows back (claimed again after it) instead of losing the lease.
 */
export function waitableLeaseMs(leaseSeconds: number): number {
  const leaseMs = leaseSeconds * 1000;
  return leaseMs - Math.max(leaseMs / 4, 5_000);
}

export class BatchPipeline {
  constructor(
    private readonly queue: TargetQueue,
    private readonly provider: EmbeddingProvider,
    readonly target: Target,
    readonly report: TargetReport,
    /** Shared by every pipeline calling the same provider: a 429 pauses them all. */
    private readonly pacer: ProviderPacer = new ProviderPacer(),
  ) {}

  /** Both stages, one after the other. */
  async runBatch(
    batchSize: number,
    leaseSeconds: number,
    deadline: Pick<RunDeadline, "signal" | "remainingMs">,
  ): Promise<BatchResult> {
    const prepared = await this.prepareBatch(batchSize, leaseSeconds, deadline);
    return prepared.outcome === "prepared" ? await this.writeBatch(prepared) : prepared;
  }

  /** Stage one: claims a batch and embeds it; or says why there is nothing to write. */
  async prepareBatch(
    batchSize: number,
    leaseSeconds: number,
    deadline: Pick<RunDeadline, "signal" | "remainingMs">,
  ): Promise<PreparedBatch | NothingToWrite> {
    let batch: ClaimedBatch;
    const claimedAt = performance.now();
    try {
      batch = await this.queue.claimBatch(
        this.target.id,
        batchSize,
        leaseSeconds,
        this.target.chunking !== null,
      );
    } catch (error) {
      if (error instanceof TargetBrokenError) {
        return { outcome: "target broken", error: error.message };
      }
      return {
        outcome: "stop",
        stop: "database_failed",
        error: `claim from target ${this.target.name} failed: ${errorMessage(error)}`,
      };
    }
    if (batch.leaseToken === null || batch.rows.length === 0) return { outcome: "queue empty" };
    this.report.batches += 1;
    this.report.claimed += batch.rows.length;
    const prepared = await this.#embed(batch.leaseToken, batch, deadline, {
      pacer: this.pacer,
      waitUntil: claimedAt + waitableLeaseMs(leaseSeconds),
    });
    this.report.rateLimitWaits += prepared.embedded.rateLimitWaits;
    this.report.rateLimitWaitMs += prepared.embedded.rateLimitWaitMs;
    return prepared;
  }

  /** A whole row's text is one vector; a chunked target's rows are cut and each chunk embedded. */
  async #embed(
    lease: string,
    { rows, chunking }: ClaimedBatch,
    deadline: Pick<RunDeadline, "signal" | "remainingMs">,
    pacing: Pacing,
  ): Promise<PreparedBatch> {
    const { provider, target } = this;
    if (target.chunking === null) {
      const embedded = await embedClaimedRows(provider, target.dimensions, rows, deadline, pacing);
      return { outcome: "prepared", lease, chunked: false, embedded };
    }
    // The chunking read with the claim: set_target_chunking may have changed it since the run began.
    const embedded = await embedClaimedChunks(
      provider,
      target.dimensions,
      chunking ?? target.chunking,
      rows,
      deadline,
      pacing,
    );
    return { outcome: "prepared", lease, chunked: true, embedded };
  }

  /** write_batch for whole rows, write_chunks for a chunked target's. */
  #write(prepared: PreparedBatch): Promise<WrittenRows> {
    const { queue, target: { id, model } } = this;
    const { lease } = prepared;
    return prepared.chunked
      ? writeClaimedRows(
        (rows: readonly RowChunks[]) => queue.writeChunks(id, lease, model, rows),
        prepared.embedded.embeddings,
      )
      : writeClaimedRows(
        (rows: readonly RowEmbedding[]) => queue.writeBatch(id, lease, model, rows),
        prepared.embedded.embeddings,
      );
  }

  /** Stage two: writes a prepared batch and settles every row of it. Never throws. */
  async writeBatch(prepared: PreparedBatch): Promise<BatchResult> {
    const { lease, embedded } = prepared;
    const failures = [...embedded.failures];
    let result: BatchResult = { outcome: "done" };
    let writtenUntried: string[] | null = null;
    let stale: string[] = [];

    if (embedded.embeddings.length > 0) {
      const written = await this.#write(prepared);
      writtenUntried = written.untriedKeys;
      this.report.written += written.writtenKeys.length;
      if (this.report.chunksWritten !== null) {
        this.report.chunksWritten += chunksWritten(prepared, written.writtenKeys);
      }
      this.report.staleKeys.push(...written.staleKeys);
      stale = written.staleKeys;
      this.report.lostKeys.push(...written.lostKeys);
      const writtenKeys = new Set(written.writtenKeys);
      this.report.truncatedKeys.push(
        ...embedded.truncatedKeys.filter((key) => writtenKeys.has(key)),
      );
      failures.push(...written.failures);
      if (written.databaseFailed !== null) {
        result = { outcome: "stop", stop: "database_failed", error: written.databaseFailed };
      }
    }
    await this.#fail(lease, failures);
    if (embedded.untried.length > 0) {
      await this.#release(lease, embedded.untried.map((row) => row.key), whyUntried(embedded));
    }
    if (writtenUntried !== null && writtenUntried.length > 0) {
      await this.#release(lease, writtenUntried, `the database failed during the write`);
    }
    // A stale row the app held during the write is still under this lease (the write does not
    // wait for the app); handed back now, outside the write, it is claimable again at once.
    if (stale.length > 0) await this.#handBack(lease, stale);
    if (result.outcome === "done" && embedded.providerError !== null) {
      result = { outcome: "provider failed", error: embedded.providerError };
    } else if (result.outcome === "done" && embedded.outOfTime) {
      result = { outcome: "stop", stop: "time_budget_spent", error: null };
    }
    return result;
  }

  /**
   * Hands a prepared batch back unwritten, every row untried: the run stopped (`because`) before
   * its write.
   */
  async abandonBatch(prepared: PreparedBatch, because: string): Promise<void> {
    const { lease, embedded } = prepared;
    const keys = [...embeddedKeys(prepared), ...embedded.untried.map((row) => row.key)];
    await this.#fail(lease, embedded.failures);
    if (keys.length > 0) await this.#release(lease, keys, because);
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

  /**
   * Hands rows back without an attempt; returns how many the database released (0 when it could
   * not: the lease runs out and the rows are claimed again, nothing is lost).
   */
  async #handBack(lease: string, keys: readonly string[]): Promise<number> {
    try {
      return await this.queue.releaseRows(this.target.id, lease, keys);
    } catch {
      return 0;
    }
  }

  /** Hands untried rows back, counted as the report's `released`, and says why once. */
  async #release(lease: string, keys: readonly string[], because: string): Promise<void> {
    const released = await this.#handBack(lease, keys);
    this.report.released += released;
    if (released > 0 && !this.report.releasedBecause.includes(because)) {
      this.report.releasedBecause.push(because);
    }
  }
}
