// Reads an HTTP Retry-After header (delay-seconds or an HTTP-date) as milliseconds to wait.

/** Longest wait a provider may ask for and be believed: a day. */
const longestRetryAfterMs = 24 * 60 * 60 * 1000;

/**
 * Milliseconds from `nowMs` (epoch) until the provider may be called again, or null when the
 * header is absent or says nothing usable. A date in the past means "now" (0).
 */
export function parseRetryAfter(header: string | null, nowMs: number): number | null {
  const value = header?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) {
    return Math.min(Math.ceil(Number(value) * 1000), longestRetryAfterMs);
  }
  // Every HTTP-date form (IMF-fixdate, RFC 850, asctime) starts with the day's name; Date.parse
  // alone would read "-5" or "1" as dates.
  if (!/^(mon|tue|wed|thu|fri|sat|sun)/i.test(value)) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - nowMs), longestRetryAfterMs);
}
