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

/**
 * Consecutive groups of `items`, each within the limits by `tokensOf`: a request never holds more
 * than maxInputs items or (unless one item alone does) maxTokens. One group without limits.
 */
export function requestGroups<T>(
  items: readonly T[],
  tokensOf: (item: T) => number,
  limits: RequestLimits | undefined,
): T[][] {
  if (limits === undefined) return items.length > 0 ? [[...items]] : [];
  const groups: T[][] = [];
  let group: T[] = [];
  let tokens = 0;
  for (const item of items) {
    const itemTokens = tokensOf(item);
    if (
      group.length >= limits.maxInputs ||
      (group.length > 0 && tokens + itemTokens > limits.maxTokens)
    ) {
      groups.push(group);
      group = [];
      tokens = 0;
    }
    group.push(item);
    tokens += itemTokens;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * Whether a refused request (a 400) was refused for its size, not for a text in it: OpenAI's
 * "maximum context length", "Requested N tokens, max M tokens per request", too many inputs.
 * Such a request is split, not blamed on its rows.
 */
export function refusedAsTooLarge(message: string): boolean {
  return /maximum context length|too many (tokens|inputs)|tokens per request|max(imum)?[ _]inputs|at most \d+ per request|max_tokens_per_request/i
    .test(message);
}
