// The embed function's HTTP answer to a worker report: how many targets no provider serves (skipped), whether work remains, and the status code and headers, decided on stop codes, never on a message.
import type { WorkerReport } from "./worker_report.ts";

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
}

/** The report as the function answers it. */
export interface AnsweredReport extends WorkerReport {
  /** Targets skipped because no configured provider makes their model. */
  skipped: number;
  /**
   * True when the run stopped with work left (maxRows or its time budget) after writing rows: the
   * scheduled dispatch follows such an invocation at once. False after a run that wrote nothing,
   * so a target that keeps failing waits for the next tick instead of looping.
   */
  more: boolean;
}

/** Counts the skipped targets and says whether the dispatch should follow on. */
export function answerReport(report: WorkerReport): AnsweredReport {
  const skipped = report.targets.filter((target) => target.skipped !== null).length;
  const workLeft = report.stoppedBecause === "max_rows_reached" ||
    report.stoppedBecause === "time_budget_spent";
  return {
    ...report,
    skipped,
    more: workLeft && report.written > 0 && report.queued > 0,
  };
}

/**
 * - 200: every target a configured provider serves went through; targets of a model no configured
 *   provider makes are skipped (`skipped` in their part of the answer), never a failure.
 * - 422 Unprocessable Content: no target asked for is of a configured provider's model
 *   (no_target_matches_provider): nothing could be served, and no retry changes that until a
 *   target or the providers are switched.
 * - 502 Bad Gateway: the provider is down, did not answer in time, or answered what cannot be
 *   used (provider_unavailable, provider_malformed_answer): the fault is upstream.
 * - 503 Service Unavailable with Retry-After: the provider is rate limiting
 *   (provider_rate_limited). Not 429, which would tell the caller that it called too often; 503
 *   with Retry-After says that the work cannot be done until then, which is what happened.
 * - 500: anything else that did not go through (a row failed, the database failed, a target is
 *   broken).
 */
export function httpAnswerFor(
  report: WorkerReport,
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
