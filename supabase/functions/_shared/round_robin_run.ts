// One worker run's rounds: each target with work gets one batch per round within the row and time budget, a batch's write overlapping the next batch's claim and embedding.
import type {
  BatchPipeline,
  BatchResult,
  NothingToWrite,
  PreparedBatch,
} from "./batch_pipeline.ts";
import type { ProviderBackoff } from "./provider_backoff.ts";
import type { RunDeadline } from "./run_deadline.ts";
import type { RunOptions } from "./run_options.ts";
import type { StopCode, TargetReport } from "./worker_report.ts";

/** The counts a run adds up over its targets' reports. */
export type CountedField = "claimed" | "batches" | "written" | "failed" | "released";

// A batch's write runs while the next batch is claimed and embedded: the database and the
// provider work at the same time. At most one write is in flight, so every count stays exact.
interface WriteInFlight {
  pipeline: BatchPipeline;
  prepareMs: number;
  written: Promise<{ result: BatchResult; writeMs: number }>;
}

/** Whether the round goes on to its next target or the run ends. */
type TurnEnd = "next" | "end";

/** Waits `ms`; the worker only waits when the time budget allows it. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class RoundRobinRun {
  stoppedBecause: StopCode | null = null;
  providerRetries = 0;
  /** The pipeline whose batch the provider failed last, to carry the failure's message. */
  lastProviderFailure: BatchPipeline | null = null;
  private slowestBatchMs = 0;
  private inFlight: WriteInFlight | null = null;

  constructor(
    private readonly pipelines: readonly BatchPipeline[],
    private readonly reports: readonly TargetReport[],
    private readonly options: RunOptions,
    private readonly deadline: RunDeadline,
    /**
     * Each pipeline's provider's backoff, one per provider: after a provider fails, none of its
     * targets calls it before it may; another provider's targets go on meanwhile.
     */
    private readonly backoffs: ReadonlyMap<BatchPipeline, ProviderBackoff>,
  ) {}

  /** The pipeline's provider's backoff. */
  backoffOf(pipeline: BatchPipeline): ProviderBackoff {
    const backoff = this.backoffs.get(pipeline);
    if (!backoff) throw new Error(`target ${pipeline.target.name} has no provider backoff`);
    return backoff;
  }

  /** The backoff of the provider that failed last without a success since; null when none. */
  failingBackoff(): ProviderBackoff | null {
    const last = this.lastProviderFailure;
    if (last !== null && this.backoffOf(last).lastError !== null) return this.backoffOf(last);
    return this.pipelines.map((pipeline) => this.backoffOf(pipeline))
      .find((backoff) => backoff.lastError !== null) ?? null;
  }

  total(field: CountedField): number {
    return this.reports.reduce((sum, report) => sum + report[field], 0);
  }

  /** Works the rounds until a reason to stop or no target has work left. */
  async run(): Promise<void> {
    if (this.pipelines.length === 0) {
      this.stoppedBecause = "no_target_matches_provider";
      return;
    }
    let active = this.pipelines;
    try {
      while (this.stoppedBecause === null && active.length > 0) active = await this.round(active);
    } finally {
      await this.settleInFlight();
    }
  }

  /** One batch for each target with work; returns the targets that may have more. */
  private async round(active: readonly BatchPipeline[]): Promise<BatchPipeline[]> {
    const stillActive: BatchPipeline[] = [];
    for (const pipeline of active) {
      if (this.waitsWhileOthersMayGo(pipeline, active)) {
        stillActive.push(pipeline);
        continue;
      }
      if (await this.turn(pipeline, stillActive) === "end") break;
    }
    return stillActive;
  }

  // Rows handed back untried do not use up maxRows: the run may claim them again.
  private kept(): number {
    return this.total("claimed") - this.total("released");
  }

  private reasonToStop(): StopCode | null {
    if (this.deadline.stopRequested) return "stopped";
    if (this.kept() >= this.options.maxRows) return "max_rows_reached";
    if (this.deadline.remainingMs() <= 0) return "time_budget_spent";
    if (this.total("batches") > 0 && this.deadline.remainingMs() < this.slowestBatchMs) {
      return "time_budget_spent";
    }
    return null;
  }

  /**
   * A target whose provider is waiting out a failure gives its turn to targets of a provider that
   * may be called now; it waits only when no such target is left.
   */
  private waitsWhileOthersMayGo(
    pipeline: BatchPipeline,
    active: readonly BatchPipeline[],
  ): boolean {
    const now = performance.now();
    if (this.backoffOf(pipeline).waitMs(now) <= 0) return false;
    return active.some((other) => this.backoffOf(other).waitMs(now) <= 0);
  }

  /** Waits out a failing provider; false when a batch would no longer fit after the wait. */
  private async waitForProvider(pipeline: BatchPipeline): Promise<boolean> {
    const wait = this.backoffOf(pipeline).waitMs(performance.now());
    if (wait <= 0) return true;
    // Wait only when a batch still fits in the budget after the wait; else the run ends (on the
    // provider's failure: the worker reports it).
    if (this.deadline.remainingMs() < wait + this.slowestBatchMs) {
      this.stoppedBecause = "time_budget_spent";
      return false;
    }
    await sleep(wait);
    this.providerRetries += 1;
    return true;
  }

  private async turn(pipeline: BatchPipeline, stillActive: BatchPipeline[]): Promise<TurnEnd> {
    this.stoppedBecause = this.reasonToStop();
    if (this.stoppedBecause !== null) return "end";
    if (!await this.waitForProvider(pipeline)) return "end";
    const prepareStarted = performance.now();
    const prepared = await pipeline.prepareBatch(
      Math.min(this.options.batchSize, this.options.maxRows - this.kept()),
      this.options.leaseSeconds,
      this.deadline,
    );
    const prepareMs = performance.now() - prepareStarted;
    // The last batch's write ends before this one's starts: one write at a time. When that
    // write failed, or a stop was asked for meanwhile, this batch goes back unwritten.
    const settledPipeline = this.inFlight?.pipeline;
    await this.settleInFlight();
    if (this.stoppedBecause === null && this.deadline.stopRequested) {
      this.stoppedBecause = "stopped";
    }
    if (this.stoppedBecause !== null) {
      if (prepared.outcome === "prepared") {
        stillActive.push(pipeline);
        await pipeline.abandonBatch(
          prepared,
          `the run ended (${this.stoppedBecause}) before their write`,
        );
      }
      return "end";
    }
    if (prepared.outcome === "prepared") {
      return await this.writePrepared(pipeline, prepared, prepareMs, stillActive);
    }
    return this.nothingToWrite(pipeline, prepared, settledPipeline === pipeline, stillActive);
  }

  private async writePrepared(
    pipeline: BatchPipeline,
    prepared: PreparedBatch,
    prepareMs: number,
    stillActive: BatchPipeline[],
  ): Promise<TurnEnd> {
    // Known already: the next batch costs at least as long to claim and embed as this one.
    this.slowestBatchMs = Math.max(this.slowestBatchMs, prepareMs);
    stillActive.push(pipeline);
    this.startWrite(pipeline, prepared, prepareMs);
    if (prepared.embedded.providerError !== null || prepared.embedded.outOfTime) {
      // Nothing to overlap with: the provider needs a rest, or the time is spent.
      await this.settleInFlight();
      if (this.stoppedBecause !== null) return "end";
    }
    return "next";
  }

  private nothingToWrite(
    pipeline: BatchPipeline,
    prepared: NothingToWrite,
    justWrote: boolean,
    stillActive: BatchPipeline[],
  ): TurnEnd {
    if (prepared.outcome === "queue empty") {
      // Claimed while this target's last write was in flight: that write may have queued rows
      // again (their text changed), so the target gets one more look.
      if (justWrote) stillActive.push(pipeline);
      return "next";
    }
    if (prepared.outcome === "target broken") {
      // Only this target stops: the others are worked as if it were not registered.
      pipeline.report.ok = false;
      pipeline.report.error = prepared.error;
      return "next";
    }
    stillActive.push(pipeline);
    this.stoppedBecause = prepared.stop;
    if (prepared.error !== null) pipeline.report.error = prepared.error;
    return "end";
  }

  private startWrite(pipeline: BatchPipeline, prepared: PreparedBatch, prepareMs: number): void {
    const writeStarted = performance.now();
    // writeBatch settles every row and never throws.
    const written = pipeline.writeBatch(prepared).then((result) => ({
      result,
      writeMs: performance.now() - writeStarted,
    }));
    this.inFlight = { pipeline, prepareMs, written };
  }

  private async settleInFlight(): Promise<void> {
    if (this.inFlight === null) return;
    const { pipeline, prepareMs, written } = this.inFlight;
    this.inFlight = null;
    const { result, writeMs } = await written;
    // What a batch costs, however much of it overlapped the next one: its claim and embedding,
    // then its write.
    this.slowestBatchMs = Math.max(this.slowestBatchMs, prepareMs + writeMs);
    if (result.outcome === "provider failed") {
      this.backoffOf(pipeline).failed(result.error, performance.now());
      this.lastProviderFailure = pipeline;
    } else if (result.outcome === "stop") {
      // A failed write outranks why the run was ending meanwhile (rows, time): it went wrong.
      if (this.stoppedBecause === null || result.stop === "database_failed") {
        this.stoppedBecause = result.stop;
      }
      if (result.error !== null) pipeline.report.error = result.error;
    } else if (result.outcome === "done") {
      this.backoffOf(pipeline).succeeded();
    }
  }
}
