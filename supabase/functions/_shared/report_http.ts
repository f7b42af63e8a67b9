// The embed function's HTTP answer to a worker report: targets of another model marked skipped, whether work remains, and the status code and headers, decided on stop codes, never on a message.
import type { TargetReport, WorkerReport } from "./worker_report.ts";

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
}

/** A target's part of the answer: `skipped` holds why this function did not work it, else null. */
export interface AnsweredTarget extends TargetReport {
  skipped: string | null;
}

/** The report as the function answers it. */
export interface AnsweredReport extends Omit<WorkerReport, "targets"> {
  targets: AnsweredTarget[];
  /** Targets skipped because this function's provider does not make their model. */
  skipped: number;
  /**
   * True when the run stopped with work left (maxRows or its time budget) after writing rows: the
   * scheduled dispatch follows such an invocation at once. False after a run that wrote nothing,
   * so a target that keeps failing waits for the next tick instead of looping.
   */
  more: boolean;
}

/**
 * A target the worker did not work because its model is not the provider's: never worked (no
 * status read back, nothing claimed) and of another model. The worker reports it as an error;
 * the function's answer reports it as skipped.
 */
function isOtherModel(target: TargetReport, report: WorkerReport): boolean {
  return target.status === null && target.claimed === 0 && target.error !== null &&
    target.model !== report.model;
}

/** Marks the targets of another model skipped and says whether the dispatch should follow on. */
export function answerReport(report: WorkerReport): AnsweredReport {
  const targets = report.targets.map((target): AnsweredTarget =>
    isOtherModel(target, report)
      ? { ...target, ok: true, error: null, skipped: target.error }
      : { ...target, skipped: null }
  );
  const skipped = targets.filter((target) => target.skipped !== null).length;
  const workLeft = report.stoppedBecause === "max_rows_reached" ||
    report.stoppedBecause === "time_budget_spent";
  return {
    ...report,
    // A run whose every target was skipped served nothing: not ok, whatever else it says.
    ok: skipped < targets.length && targets.every((target) => target.ok),
    targets,
    skipped,
    more: workLeft && report.written > 0 && report.queued > 0,
  };
}

/**
 * - 200: every target this function's provider serves went through; targets of another model are
 *   skipped (`skipped` in their part of the answer), never a failure.
 * - 422 Unprocessable Content: no target asked for is of the provider's model
 *   (no_target_matches_provider): nothing could be served, and no retry changes that until a
 *   target or the provider is switched.
 * - 502 Bad Gateway: the provider is down, did not answer in time, or answered what cannot be
 *   used (provider_unavailable, provider_malformed_answer): the fault is upstream.
 * - 503 Service Unavailable with Retry-After: the provider is rate limiting
 *   (provider_rate_limited). Not 429, which would tell the caller that it called too often; 503
 *   with Retry-After says that the work cannot be done until then, which is what happened.
 * - 500: anything else that did not go through (a row failed, the database failed, a target is
 *   broken).
 */
export function httpAnswerFor(
  report: WorkerReport | AnsweredReport,
  nowMs = Date.now(),
): HttpAnswer {
  if (report.ok) return { status: 200, headers: {} };
  switch (report.stoppedBecause) {
    case "no_target_matches_provider":
      return { status: 422, headers: {} };
    case "provider_unavailable":
    case "provider_malformed_answer":
      return { status: 502, headers: {} };
    case "provider_rate_limited": {
      const retryAt = Date.parse(report.providerError?.retryAt ?? "");
      const seconds = Number.isNaN(retryAt) ? 1 : Math.max(1, Math.ceil((retryAt - nowMs) / 1000));
      return { status: 503, headers: { "retry-after": String(seconds) } };
    }
    default:
      return { status: 500, headers: {} };
  }
}
