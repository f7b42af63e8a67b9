// How a backfill ends: what the workers reported and what the database holds afterwards, as one JSON object or as text, and the exit code (non-zero if any row was not written).
import type {
  FailedRow,
  StopCode,
  WorkerReport,
} from "../../supabase/functions/_shared/worker_report.ts";
import { type ExitCode, exitCodes } from "./exit_codes.ts";
import { formatDuration } from "./backfill_progress.ts";
import type { TargetStatusView } from "./status_view.ts";
import { formatCount, plural } from "./text_table.ts";

export interface BackfillIndexes {
  /** schema.name of each vector index this backfill dropped (--defer-index). */
  dropped: string[];
  /** Built again at the end (including ones an earlier, interrupted backfill left dropped). */
  rebuilt: string[];
  /** Still dropped: Ctrl-C during the rebuild, or it failed; the next backfill builds them. */
  leftDropped: string[];
}

/** `backfill --json`: one object. */
export interface BackfillOutcome {
  ok: boolean;
  interrupted: boolean;
  provider: string;
  model: string;
  workers: number;
  /** Runs of the engine's worker, over all workers. */
  runs: number;
  written: number;
  /**
   * The chunks of the rows written to chunked targets (the runs' chunksWritten, summed); 0 when
   * no target worked is chunked.
   */
  chunksWritten: number;
  failed: number;
  /** Rows handed back untried (Ctrl-C, provider or database trouble): still queued, no attempt spent. */
  released: number;
  /**
   * Pauses the provider asked for (429/503 with a wait) that batches waited out holding their
   * rows, and the milliseconds they took (summed over batches: overlapping waits each count).
   */
  rateLimitWaits: number;
  rateLimitWaitMs: number;
  durationMs: number;
  rowsPerSecond: number;
  /** Why each worker's last run stopped. */
  stoppedBecause: StopCode[];
  /** Failures of a worker or a target (not of a row). */
  errors: string[];
  /** Rows that failed in this backfill, with their errors (the first 100). */
  failedRows: (FailedRow & { target: string })[];
  indexes: BackfillIndexes;
  /** Every target worked, read back from the database afterwards. */
  targets: TargetStatusView[];
  message: string;
}

export interface BackfillTally {
  provider: string;
  model: string;
  workers: number;
  written: number;
  failed: number;
  released: number;
  durationMs: number;
  interrupted: boolean;
  /** Each run's report, in the order they ended. */
  reports: WorkerReport[];
  /** Each worker's last report. */
  lastReports: WorkerReport[];
  workerErrors: string[];
  indexes: BackfillIndexes;
  after: TargetStatusView[];
}

function notWritten(status: TargetStatusView): number {
  return status.pending + status.inFlight + status.deadLettered;
}

/** The runs' rate-limit waits, summed. */
function rateLimitWaits(reports: readonly WorkerReport[]): { waits: number; waitMs: number } {
  return {
    waits: reports.reduce((sum, report) => sum + report.rateLimitWaits, 0),
    waitMs: reports.reduce((sum, report) => sum + report.rateLimitWaitMs, 0),
  };
}

/** The runs' chunks written, summed; null when no chunked target was worked. */
function chunksWritten(reports: readonly WorkerReport[]): number | null {
  const counts = reports.flatMap((report) => report.targets.map((target) => target.chunksWritten))
    .filter((count): count is number => count !== null);
  return counts.length === 0 ? null : counts.reduce((sum, count) => sum + count, 0);
}

function closingSentence(tally: BackfillTally, ok: boolean, rate: number): string {
  const { waits, waitMs } = rateLimitWaits(tally.reports);
  const chunks = chunksWritten(tally.reports);
  const paced = waits > 0
    ? `; waited out the provider's rate limit ${plural(waits, "time")} (${
      formatDuration(waitMs / 1000)
    } over the batches)`
    : "";
  const done = `wrote ${plural(tally.written, "row")}${
    chunks === null ? "" : ` (${plural(chunks, "chunk")})`
  } in ${formatDuration(tally.durationMs / 1000)} (${rate.toFixed(rate < 10 ? 1 : 0)} rows/s, ${
    plural(tally.workers, "worker")
  })${paced}`;
  if (ok) {
    return `backfill: ${done}; every row of ${
      tally.after.map((status) => status.name).join(", ")
    } is embedded`;
  }
  const left = tally.after.filter((status) => notWritten(status) > 0 || status.broken);
  const parts = left.map((status) => {
    if (status.broken) return `${status.name} is broken`;
    const pieces = [
      status.pending > 0 ? `${formatCount(status.pending)} queued` : "",
      status.inFlight > 0
        ? `${formatCount(status.inFlight)} leased until ${status.leasedUntil}`
        : "",
      status.deadLettered > 0 ? `${formatCount(status.deadLettered)} dead-lettered` : "",
    ].filter(Boolean);
    return `${status.name}: ${pieces.join(", ")}`;
  });
  const next = tally.interrupted
    ? "run backfill again to carry on"
    : tally.after.some((status) => status.deadLettered > 0)
    ? "see the errors above; requeue --dead queues the dead letters again"
    : "see the errors above, then run backfill again";
  return `backfill: ${tally.interrupted ? "interrupted; " : ""}${done}; NOT all written: ${
    parts.join("; ") || "see the errors above"
  }; ${next}`;
}

export function summarizeBackfill(
  tally: BackfillTally,
): { outcome: BackfillOutcome; exitCode: ExitCode } {
  const failedRows = tally.reports.flatMap((report) =>
    report.targets.flatMap((target) =>
      target.failedRows.map((row) => ({ ...row, target: target.target }))
    )
  );
  const everyRowWritten = tally.after.every((status) => !status.broken && notWritten(status) === 0);
  const targetErrors = [
    ...new Set(
      // A worker that stopped on the provider's failure while others wrote every row left
      // nothing undone: the failure was waited out by the backfill as a whole.
      tally.lastReports.filter((report) => !(everyRowWritten && report.providerError !== null))
        .flatMap((report) =>
          report.targets.filter((target) => target.error !== null && !target.ok).map((target) =>
            `${target.target}: ${target.error}`
          )
        ),
    ),
  ];
  const errors = [...tally.workerErrors, ...targetErrors];
  const { waits, waitMs } = rateLimitWaits(tally.reports);
  const ok = !tally.interrupted && errors.length === 0 && failedRows.length === 0 &&
    everyRowWritten && tally.indexes.leftDropped.length === 0;
  const rate = tally.durationMs > 0 ? tally.written / (tally.durationMs / 1000) : 0;
  const outcome: BackfillOutcome = {
    ok,
    interrupted: tally.interrupted,
    provider: tally.provider,
    model: tally.model,
    workers: tally.workers,
    runs: tally.reports.length,
    written: tally.written,
    chunksWritten: chunksWritten(tally.reports) ?? 0,
    failed: tally.failed,
    released: tally.released,
    rateLimitWaits: waits,
    rateLimitWaitMs: waitMs,
    durationMs: Math.round(tally.durationMs),
    rowsPerSecond: Math.round(rate * 10) / 10,
    stoppedBecause: [...new Set(tally.lastReports.map((report) => report.stoppedBecause))],
    errors,
    failedRows: failedRows.slice(0, 100),
    indexes: tally.indexes,
    targets: tally.after,
    message: closingSentence(tally, ok, rate),
  };
  const exitCode = tally.interrupted
    ? exitCodes.interrupted
    : ok
    ? exitCodes.ok
    : exitCodes.problemsFound;
  return { outcome, exitCode };
}

/** The text after the status table: errors, failed rows (the first 20), indexes, the closing sentence. */
export function renderBackfillTail(outcome: BackfillOutcome): string {
  const lines: string[] = [];
  for (const error of outcome.errors) lines.push(`error: ${error}`);
  for (const row of outcome.failedRows.slice(0, 20)) {
    lines.push(
      `failed: ${row.target} ${row.key}${row.deadLettered ? " (dead-lettered)" : ""}: ${row.error}`,
    );
  }
  if (outcome.failedRows.length > 20) {
    lines.push(`... and ${formatCount(outcome.failed - 20)} more failures (--json lists 100)`);
  }
  if (outcome.indexes.leftDropped.length > 0) {
    lines.push(
      `vector indexes still dropped (the next backfill builds them): ${
        outcome.indexes.leftDropped.join(", ")
      }`,
    );
  }
  lines.push(outcome.message);
  return lines.join("\n");
}
