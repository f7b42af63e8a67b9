// The embed function's HTTP answer to a worker report: its status code and headers, decided on the stop code, never on a message.
import type { WorkerReport } from "./worker_report.ts";

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
}

/**
 * - 200: every target's work went through.
 * - 502 Bad Gateway: the provider is down, did not answer in time, or answered what cannot be
 *   used (provider_unavailable, provider_malformed_answer): the fault is upstream.
 * - 503 Service Unavailable with Retry-After: the provider is rate limiting
 *   (provider_rate_limited). Not 429, which would tell the caller that it called too often; 503
 *   with Retry-After says that the work cannot be done until then, which is what happened.
 * - 500: anything else that did not go through (a row failed, the database failed, a target is
 *   broken or of another model).
 */
export function httpAnswerFor(report: WorkerReport, nowMs = Date.now()): HttpAnswer {
  if (report.ok) return { status: 200, headers: {} };
  switch (report.stoppedBecause) {
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
