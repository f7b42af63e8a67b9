// The one error a provider throws, typed by whose fault it is, so the worker decides on the kind and never on a message.

/**
 * - "unavailable": the provider is down or refuses every request (5xx, a network error, a bad key).
 * - "rate_limited": the provider asks to be called less (429), until `retryAfterMs` when it says.
 * - "timeout": no answer in time (the provider's timeout, or what was left of the run's budget).
 * - "malformed_answer": an answer that cannot be mapped one-to-one onto the texts sent.
 * - "rejected_input": the provider refused the input itself (a 400): one of the texts is to blame.
 * Only "rejected_input" can be a row's fault; every other kind is the provider's.
 */
const providerErrorKinds = [
  "unavailable",
  "rate_limited",
  "timeout",
  "malformed_answer",
  "rejected_input",
] as const;
export type ProviderErrorKind = typeof providerErrorKinds[number];

export class ProviderError extends Error {
  override name = "ProviderError";

  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    /** How long the provider asked to be left alone (Retry-After), when it said. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

/**
 * A provider's error as a ProviderError. Anything else a provider throws is taken as the provider
 * being down: only the provider's own word ("rejected_input") may cost a row an attempt.
 */
export function toProviderError(error: unknown, providerName: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError("unavailable", `embedding provider ${providerName} failed: ${message}`);
}

/** For providers that work in steps: a "timeout" once the run's budget (the signal) is spent. */
export function throwIfOutOfTime(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw new ProviderError("timeout", `${what} stopped: the run's time budget is spent`);
  }
}
