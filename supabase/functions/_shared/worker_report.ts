// The worker's report: per-target and run totals, why the run stopped (a code and its message), and the one-line summary.
import type { InputLimit } from "./providers/input_limit.ts";
import type { ProviderErrorKind } from "./providers/provider_error.ts";
import type { Target, TargetStatus } from "./target_queue.ts";

/** Why a run stopped; callers decide on the code (the function's HTTP status, say), never on a message. */
export type StopCode =
  | "nothing_to_claim"
  | "max_rows_reached"
  | "time_budget_spent"
  | "stopped"
  | "provider_unavailable"
  | "provider_rate_limited"
  | "provider_malformed_answer"
  | "database_failed"
  | "no_target_matches_provider";

const stopMessages: Readonly<Record<StopCode, string>> = {
  nothing_to_claim: "nothing left to claim",
  max_rows_reached: "maxRows reached",
  time_budget_spent: "time budget spent",
  stopped:
    "stopped on request (the function is shutting down, or the command was interrupted); the rows in hand went back untried",
  provider_unavailable: "embedding provider is down",
  provider_rate_limited: "embedding provider is rate limiting",
  provider_malformed_answer: "embedding provider answers with what cannot be used",
  database_failed: "database call failed",
  no_target_matches_provider:
    "no target matches the provider (no configured provider makes its model)",
};

/** The provider failure a run stopped on: no row was charged for it. */
export interface ProviderFailure {
  kind: ProviderErrorKind;
  message: string;
  /** When the provider may be called again: its Retry-After, else the worker's own backoff. */
  retryAt: string;
}

export interface FailedRow {
  key: string;
  error: string;
  /** True when this failure used the row's last attempt: it is dead-lettered. */
  deadLettered: boolean;
}

export interface TargetReport {
  target: string;
  model: string;
  /** The configured provider that makes the target's model and worked it; null when none did. */
  provider: string | null;
  /**
   * Why the target was not worked because no configured provider makes its model (and how to fix
   * it); null when a provider serves it. A skipped target is not a failure: `ok` stays true.
   */
  skipped: string | null;
  /** False when the target could not be worked, or a row of it failed. */
  ok: boolean;
  /** Why the target was not worked, or why its work stopped; null when nothing went wrong. */
  error: string | null;
  batches: number;
  /** Rows claimed in this run (a row handed back and claimed again counts twice). */
  claimed: number;
  /** Rows the database says it wrote (write_batch's written_keys, from RETURNING). */
  written: number;
  /**
   * For a chunked target, the chunks of the rows written (each row's chunks as sent for the keys
   * write_chunks says it wrote; a blank row has none); null for a whole-row target.
   */
  chunksWritten: number | null;
  /** Rows that failed and cost an attempt: the length of failedRows. */
  failed: number;
  failedRows: FailedRow[];
  /** Rows whose text changed while they were embedded (write_batch's stale_keys): queued again. */
  staleKeys: string[];
  /** Rows deleted, or taken over by another worker after this lease ran out (lost_keys). */
  lostKeys: string[];
  /**
   * Rows written from text longer than the model reads (the report's inputLimit): cut, not whole.
   * Always empty for a chunked target: its chunks are sized to the limit and no text is cut.
   */
  truncatedKeys: string[];
  /**
   * Rows handed back untried, no attempt counted (the provider failed, or time ran out); a row
   * handed back and claimed again later in the run is counted in `claimed` each time.
   */
  released: number;
  /**
   * Why rows were handed back untried, each reason once, in the order they happened: the
   * provider's failure and what it said (the run may have retried and succeeded since), the
   * time budget, a stop, or a failed write. Empty when `released` is 0.
   */
  releasedBecause: string[];
  /**
   * Pauses the provider asked for (429/503 with Retry-After or x-ratelimit-reset-*) that this
   * target's batches waited out, holding their rows: pacing, not failure, no attempt charged.
   */
  rateLimitWaits: number;
  /** Milliseconds of those waits, summed over the batches (overlapping waits each count). */
  rateLimitWaitMs: number;
  /** The target's status after the run, read from the database; null when it was not worked. */
  status: TargetStatus | null;
}

/** A provider a run worked targets with. */
export interface ProviderUse {
  provider: string;
  model: string;
  dimensions: number;
  /** How much of a text its model reads; null when the provider does not say. */
  inputLimit: InputLimit | null;
}

export interface WorkerReport {
  /** True when every target worked went well and at least one target was worked (none all skipped). */
  ok: boolean;
  /** Starts with stopMessages[stoppedBecause], then one part per target. */
  message: string;
  /** The first of `providers` (the first configured when none worked a target). */
  provider: string;
  model: string;
  dimensions: number;
  /** Every provider that worked a target in this run, in the order configured. */
  providers: ProviderUse[];
  claimed: number;
  written: number;
  /** The chunked targets' chunksWritten, summed (0 when no chunked target was worked). */
  chunksWritten: number;
  /** Rows that failed, over the targets worked. */
  failed: number;
  /** Rows still queued (pending or leased) over the targets worked, counted by the database. */
  queued: number;
  batches: number;
  stoppedBecause: StopCode;
  /** Set when the run stopped because of the provider (stoppedBecause provider_*): what it said. */
  providerError: ProviderFailure | null;
  /** Provider failures the run waited out and tried again after; no row was charged for them. */
  providerRetries: number;
  /** The targets' rateLimitWaits and rateLimitWaitMs, summed. */
  rateLimitWaits: number;
  rateLimitWaitMs: number;
  /**
   * Database calls aborted as transient (deadlock, serialization failure, lock timeout) and tried
   * again; no row was charged for them.
   */
  databaseRetries: number;
  /** How much of a text the first provider's model reads; null when it does not say (`providers` has each one's). */
  inputLimit: InputLimit | null;
  durationMs: number;
  targets: TargetReport[];
}

export function emptyTargetReport(target: Target): TargetReport {
  return {
    target: target.name,
    model: target.model,
    provider: null,
    skipped: null,
    ok: true,
    error: null,
    batches: 0,
    claimed: 0,
    written: 0,
    chunksWritten: target.chunking === null ? null : 0,
    failed: 0,
    failedRows: [],
    staleKeys: [],
    lostKeys: [],
    truncatedKeys: [],
    released: 0,
    releasedBecause: [],
    rateLimitWaits: 0,
    rateLimitWaitMs: 0,
    status: null,
  };
}

/** Rows still queued by the target's status, pending or leased; 0 when it could not be read. */
export function queuedRows(report: TargetReport): number {
  return report.status ? report.status.pending + report.status.inFlight : 0;
}

/** The rows handed back untried, and why: a count without a reason leaves the reader guessing. */
function handedBack(target: TargetReport): string {
  const because = target.releasedBecause.length > 0
    ? ` because ${target.releasedBecause.join("; then ")}`
    : "";
  return `${target.released} handed back untried${because}`;
}

function summarizeTarget(target: TargetReport): string {
  if (target.skipped !== null) return `${target.target}: skipped: ${target.skipped}`;
  if (target.error && target.claimed === 0) return `${target.target}: ${target.error}`;
  const extras = [
    target.failed > 0
      ? `${target.failed} failed (${
        target.failedRows.filter((row) => row.deadLettered).length
      } dead-lettered)`
      : "",
    target.staleKeys.length > 0
      ? `${target.staleKeys.length} changed while embedded, queued again`
      : "",
    target.lostKeys.length > 0 ? `${target.lostKeys.length} deleted or taken over` : "",
    target.truncatedKeys.length > 0
      ? `${target.truncatedKeys.length} cut to the model's input limit`
      : "",
    target.released > 0 ? handedBack(target) : "",
  ].filter((part) => part !== "");
  const chunks = target.chunksWritten === null ? "" : ` in ${target.chunksWritten} chunks`;
  return `${target.target}: wrote ${target.written} of ${target.claimed} claimed${chunks}${
    extras.length > 0 ? ` (${extras.join(", ")})` : ""
  }${target.status ? `; ${describeStatus(target.status)}` : ""}`;
}

/**
 * What a target holds now, in words that agree with the numbers: rows still queued are said to
 * be leased by another worker (until when) or waiting out a backoff, never left unexplained.
 */
function describeStatus(status: TargetStatus): string {
  if (status.broken !== null) return `broken: ${status.broken}`;
  const chunks = status.chunks === null ? "" : ` in ${status.chunks} chunks`;
  const parts = [`now ${status.embedded}/${status.totalRows} embedded${chunks}`];
  const claimable = status.pending - status.retrying;
  if (claimable > 0) parts.push(`${claimable} queued`);
  if (status.inFlight > 0) {
    parts.push(`${status.inFlight} leased by another worker until ${status.leasedUntil}`);
  }
  if (status.retrying > 0) {
    parts.push(`${status.retrying} waiting to retry from ${status.nextRetryAt}`);
  }
  if (status.deadLettered > 0) parts.push(`${status.deadLettered} dead-lettered`);
  if (parts.length === 1) parts.push("0 queued");
  return parts.join(", ");
}

/** Why the run stopped, in words: for a provider stop, what it said and (rate limit) until when. */
function stopSentence(stoppedBecause: StopCode, providerError: ProviderFailure | null): string {
  if (providerError === null) return stopMessages[stoppedBecause];
  const until = stoppedBecause === "provider_rate_limited" ? ` until ${providerError.retryAt}` : "";
  return `${stopMessages[stoppedBecause]}${until} (${providerError.message})`;
}

/** The report's `message`: why the run stopped, then what each target did and holds now. */
export function summarize(
  stoppedBecause: StopCode,
  targets: readonly TargetReport[],
  providerError: ProviderFailure | null = null,
): string {
  return [stopSentence(stoppedBecause, providerError), ...targets.map(summarizeTarget)].join("; ");
}
