// The embed function's HTTP status for a worker report: 200, 422 when no target is the provider's model, 502 when the provider is down or garbled, 503 with Retry-After when it is rate limiting, 500 otherwise.
import assert from "node:assert/strict";
import { httpAnswerFor } from "../supabase/functions/_shared/report_http.ts";
import type { StopCode, WorkerReport } from "../supabase/functions/_shared/worker_report.ts";

function report(
  stoppedBecause: StopCode,
  ok: boolean,
  retryAt: string | null = null,
): WorkerReport {
  return {
    ok,
    message: "",
    provider: "openai",
    model: "m",
    dimensions: 384,
    providers: [],
    claimed: 0,
    written: 0,
    chunksWritten: 0,
    failed: 0,
    queued: 0,
    batches: 0,
    stoppedBecause,
    providerError: retryAt === null
      ? null
      : { kind: "rate_limited", message: "answered 429", retryAt },
    providerRetries: 0,
    rateLimitWaits: 0,
    rateLimitWaitMs: 0,
    databaseRetries: 0,
    inputLimit: null,
    durationMs: 0,
    targets: [],
  };
}

Deno.test("report http: the status says whether the provider is down, limiting, or something else failed", () => {
  const now = Date.parse("2026-11-22T10:00:00Z");
  assert.deepEqual(httpAnswerFor(report("nothing_to_claim", true), now), {
    status: 200,
    headers: {},
  });
  assert.deepEqual(httpAnswerFor(report("time_budget_spent", true), now), {
    status: 200,
    headers: {},
  });
  for (const code of ["provider_unavailable", "provider_malformed_answer"] as const) {
    assert.deepEqual(httpAnswerFor(report(code, false), now), { status: 502, headers: {} }, code);
  }
  assert.deepEqual(
    httpAnswerFor(report("provider_rate_limited", false, "2026-11-22T10:00:41.200Z"), now),
    { status: 503, headers: { "retry-after": "42" } },
    "Retry-After in whole seconds, rounded up",
  );
  assert.deepEqual(
    httpAnswerFor(report("provider_rate_limited", false, "2026-11-22T09:59:00.000Z"), now),
    { status: 503, headers: { "retry-after": "1" } },
    "never less than a second",
  );
  for (const code of ["nothing_to_claim", "database_failed"] as const) {
    assert.deepEqual(httpAnswerFor(report(code, false), now), { status: 500, headers: {} }, code);
  }
  assert.deepEqual(
    httpAnswerFor(report("no_target_matches_provider", false), now),
    { status: 422, headers: {} },
    "nothing could be served: not a server fault, and no retry helps until a target or the provider is switched",
  );
});
