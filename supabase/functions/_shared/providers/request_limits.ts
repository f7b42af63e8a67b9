// What one provider request may hold (inputs, estimated tokens), the token estimate every limit is counted in, and the quota a provider's answer reports.

/** Characters a token, as embeddings.estimate_backfill counts (English averages about 4: errs high). */
export const charactersPerToken = 3;

/** A text's estimated tokens: characters / 3, rounded up (the estimate SQL's rule). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / charactersPerToken);
}

/** The most one request may hold; a provider refuses a larger one (OpenAI: a 400). */
export interface RequestLimits {
  maxInputs: number;
  /** Estimated tokens (estimateTokens) over the request's texts. */
  maxTokens: number;
}

/** One of the provider's rate limits as its answer reported it (OpenAI's x-ratelimit-*). */
export interface QuotaReading {
  /** The rate: units a minute. */
  limitPerMinute: number;
  /** What was left when the provider admitted the call (after taking the call's own share). */
  remaining: number;
  /** Milliseconds until it is full again; null when not said. */
  resetMs: number | null;
}

/** The quota an answer reported: tokens and requests, each when said. */
export interface QuotaHeaders {
  tokens: QuotaReading | null;
  requests: QuotaReading | null;
}
