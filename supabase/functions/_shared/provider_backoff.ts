// When to call a failing provider again: when it said (Retry-After), else after a capped exponential backoff; and which stop code its failure gives.
import type { ProviderError } from "./providers/provider_error.ts";
import type { StopCode } from "./worker_report.ts";

/** The first wait after a failure the provider gave no time for; it doubles with each failure. */
export const firstBackoffMs = 1_000;
/** The longest wait the worker chooses itself (a provider's Retry-After may ask for longer). */
export const longestBackoffMs = 30_000;
/** The shortest wait after any failure, so "Retry-After: 0" cannot spin the run in a hot loop. */
export const shortestWaitMs = 250;

/** The stop code a provider failure ends a run with: the provider is down, limiting, or garbled. */
export function providerStopCode(error: ProviderError): StopCode {
  switch (error.kind) {
    case "rate_limited":
      return "provider_rate_limited";
    case "malformed_answer":
      return "provider_malformed_answer";
    default:
      // Down, or not answering in time, or refusing input it was sent (a whole batch that probing
      // could not settle): nothing a row did.
      return "provider_unavailable";
  }
}

export class ProviderBackoff {
  #consecutive = 0;
  #retryAt = 0;
  #lastError: ProviderError | null = null;

  /** The provider failure not yet followed by a success, or null. */
  get lastError(): ProviderError | null {
    return this.#lastError;
  }

  /** Records a failure at `now` (performance.now()) and returns how long to wait before the next call. */
  failed(error: ProviderError, now: number): number {
    this.#consecutive += 1;
    this.#lastError = error;
    const wait = Math.max(
      shortestWaitMs,
      error.retryAfterMs ??
        Math.min(firstBackoffMs * 2 ** (this.#consecutive - 1), longestBackoffMs),
    );
    this.#retryAt = now + wait;
    return wait;
  }

  succeeded(): void {
    this.#consecutive = 0;
    this.#lastError = null;
  }

  /** Milliseconds from `now` until the provider may be called again (0 when it may now). */
  waitMs(now: number): number {
    return this.#lastError === null ? 0 : Math.max(0, this.#retryAt - now);
  }
}
