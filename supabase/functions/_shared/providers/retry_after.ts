// Reads how long a limiting provider asks to be left alone: Retry-After (delay-seconds or an HTTP-date), retry-after-ms, and OpenAI's x-ratelimit-reset-* durations, as milliseconds.

import type { QuotaHeaders, QuotaReading } from "./request_limits.ts";

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

/** A duration as OpenAI writes it in x-ratelimit-reset-*: "120ms", "1.5s", "6m0s", "1h2m3s". */
export function parseResetDuration(value: string | null): number | null {
  const text = value?.trim();
  if (!text) return null;
  const units: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  // The parts must spell the whole value, so "5 minutes" or "-1s" is not read as something else.
  if (parts.length === 0 || parts.map((part) => part[0]).join("") !== text) return null;
  const ms = parts.reduce((sum, part) => sum + Number(part[1]) * units[part[2]], 0);
  return Math.min(Math.ceil(ms), longestRetryAfterMs);
}

/**
 * How long a limiting provider asked to be left alone, from the headers hosted providers send:
 * `retry-after-ms` (OpenAI's, exact), `retry-after`, else the longer of OpenAI's
 * `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` (which limit was hit is not said, so
 * the later reset is the safe one); null when none says anything usable.
 */
export function rateLimitWait(headers: Headers, nowMs: number): number | null {
  const exact = headers.get("retry-after-ms")?.trim();
  if (exact && /^\d+(\.\d+)?$/.test(exact)) {
    return Math.min(Math.ceil(Number(exact)), longestRetryAfterMs);
  }
  const retryAfter = parseRetryAfter(headers.get("retry-after"), nowMs);
  if (retryAfter !== null) return retryAfter;
  const resets = ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
    .map((name) => parseResetDuration(headers.get(name)))
    .filter((ms): ms is number => ms !== null);
  return resets.length > 0 ? Math.max(...resets) : null;
}

/** One limit of OpenAI's x-ratelimit-* ("tokens" or "requests"), or null when not all said. */
function quotaReading(headers: Headers, limit: "tokens" | "requests"): QuotaReading | null {
  const perMinute = Number(headers.get(`x-ratelimit-limit-${limit}`) ?? NaN);
  const remaining = Number(headers.get(`x-ratelimit-remaining-${limit}`) ?? NaN);
  if (!(perMinute > 0) || !(remaining >= 0)) return null;
  return {
    limitPerMinute: perMinute,
    remaining,
    resetMs: parseResetDuration(headers.get(`x-ratelimit-reset-${limit}`)),
  };
}

/** The quota an answer's x-ratelimit-* headers report; null when they report none. */
export function quotaHeaders(headers: Headers): QuotaHeaders | null {
  const quota = {
    tokens: quotaReading(headers, "tokens"),
    requests: quotaReading(headers, "requests"),
  };
  return quota.tokens === null && quota.requests === null ? null : quota;
}
