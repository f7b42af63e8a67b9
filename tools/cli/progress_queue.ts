// The engine's TargetQueue with a listener on it: every write, failure and release is reported as it happens, so the backfill's progress is the database's own account of each batch.
import type {
  ClaimedBatch,
  FailOutcome,
  RowEmbedding,
  RowFailure,
  Target,
  TargetQueue,
  TargetStatus,
  WriteOutcome,
} from "../../supabase/functions/_shared/target_queue.ts";
import type { ProgressDelta } from "./backfill_messages.ts";

export class ProgressQueue implements TargetQueue {
  readonly #queue: TargetQueue;
  readonly #report: (delta: ProgressDelta) => void;

  constructor(queue: TargetQueue, report: (delta: ProgressDelta) => void) {
    this.#queue = queue;
    this.#report = report;
  }

  listTargets(): Promise<Target[]> {
    return this.#queue.listTargets();
  }

  readStatus(targetIds?: readonly number[]): Promise<TargetStatus[]> {
    return this.#queue.readStatus(targetIds);
  }

  claimBatch(targetId: number, batchSize: number, leaseSeconds: number): Promise<ClaimedBatch> {
    return this.#queue.claimBatch(targetId, batchSize, leaseSeconds);
  }

  async writeBatch(
    targetId: number,
    leaseToken: string,
    model: string,
    rows: readonly RowEmbedding[],
  ): Promise<WriteOutcome> {
    const outcome = await this.#queue.writeBatch(targetId, leaseToken, model, rows);
    this.#report({ written: outcome.writtenKeys.length, failed: 0, released: 0 });
    return outcome;
  }

  async failRows(
    targetId: number,
    leaseToken: string,
    failures: readonly RowFailure[],
  ): Promise<FailOutcome> {
    const outcome = await this.#queue.failRows(targetId, leaseToken, failures);
    this.#report({ written: 0, failed: failures.length, released: 0 });
    return outcome;
  }

  async releaseRows(
    targetId: number,
    leaseToken: string,
    keys: readonly string[],
  ): Promise<number> {
    const released = await this.#queue.releaseRows(targetId, leaseToken, keys);
    this.#report({ written: 0, failed: 0, released });
    return released;
  }
}
