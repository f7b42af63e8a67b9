// Paces provider calls: a 429/503 with a wait pauses every call of the process until then, calls wait for the quota the provider's headers report, and the number of calls in flight adapts (AIMD) to what the provider answers.
import { ProviderError } from "./providers/provider_error.ts";
import type { QuotaHeaders, QuotaReading } from "./providers/request_limits.ts";

/** How a pacer adapts the calls it lets through at once. */
export interface PacerLimits {
  /** Calls in flight at most; 1 keeps one call at a time (a CPU-bound local model). */
  maxInFlight: number;
  /** Calls in flight to begin with (grows towards maxInFlight while answers come back). */
  initialInFlight: number;
}

/** One call at a time, no adaptation: the embed function's and a local model's behaviour. */
export const oneCallAtATime: PacerLimits = { maxInFlight: 1, initialInFlight: 1 };

/** A wait a limiting provider asked for: the worker waits it out instead of failing the batch. */
export function isPacingError(error: ProviderError): boolean {
  return error.kind === "rate_limited" ||
    (error.kind === "unavailable" && error.retryAfterMs !== null);
}

/** An answer slower than this many times the fastest seen counts as rising latency. */
const risingLatencyFactor = 2;
/** The shortest pause after a 429, so "retry-after: 0" cannot spin in a hot loop. */
const shortestPauseMs = 50;
/** A 429 without any wait in its headers pauses this long, doubling with each in a row. */
const firstUnsaidPauseMs = 1_000;
const longestUnsaidPauseMs = 30_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * The provider's bucket as its last answer reported it (x-ratelimit-*), brought forward: refilled
 * at its rate since, less what was sent since. Calls wait until it holds theirs, so a process
 * stays under the quota instead of finding it by its 429s.
 */
class QuotaEstimate {
  #reading: QuotaReading | null = null;
  /** When the call whose answer gave the reading was sent, and when the answer came. */
  #sentAt = -Infinity;
  #readAt = 0;
  #sentSince: { at: number; amount: number }[] = [];

  /** A reading from the answer to a call sent at `sentAt`; an older call's reading is older news. */
  note(reading: QuotaReading, sentAt: number, now: number): void {
    if (sentAt < this.#sentAt) return;
    this.#reading = reading;
    this.#sentAt = sentAt;
    this.#readAt = now;
    this.#sentSince = this.#sentSince.filter((sent) => sent.at > sentAt);
  }

  sent(amount: number, at: number): void {
    // A provider that reports no quota is not tracked (the list would only grow).
    if (this.#reading !== null) this.#sentSince.push({ at, amount });
  }

  /** Milliseconds from `now` until the bucket holds `amount` (0 now, or when none was reported). */
  waitFor(amount: number, now: number): number {
    const reading = this.#reading;
    if (reading === null) return 0;
    const perMs = reading.limitPerMinute / 60_000;
    const capacity = reading.resetMs === null
      ? Infinity
      : reading.remaining + reading.resetMs * perMs;
    // Calls sent after the reading's call are taken off whether or not the provider counted them
    // in it, and the refill is counted from the answer, not from when the provider read its bucket:
    // both err low, so the estimate stays under the provider's (the rate is the same).
    const spent = this.#sentSince.reduce((sum, sent) => sum + sent.amount, 0);
    const level = Math.min(capacity, reading.remaining + (now - this.#readAt) * perMs) - spent;
    // A call larger than the bucket holds goes when it is full: the provider decides then.
    const needed = Math.min(amount, capacity);
    return level >= needed ? 0 : Math.ceil((needed - level) / perMs);
  }
}

/** A call let through: when it was sent, and the provider's pauses it waited out first. */
export interface Acquired {
  sentAt: number;
  waits: number;
  waitedMs: number;
}

export class ProviderPacer {
  #pausedUntil = 0;
  #unsaidInARow = 0;
  #window: number;
  #inFlight = 0;
  #waiting: (() => void)[] = [];
  #fastestMs = Infinity;
  #lastDecreaseAt = -Infinity;
  #tokens = new QuotaEstimate();
  #requests = new QuotaEstimate();

  constructor(readonly limits: PacerLimits = oneCallAtATime) {
    this.#window = Math.max(1, Math.min(limits.initialInFlight, limits.maxInFlight));
  }

  /** Calls the provider may have in flight now. */
  get window(): number {
    return Math.floor(this.#window);
  }

  /** Milliseconds from `now` (performance.now()) until the provider may be called again. */
  pauseMs(now: number): number {
    return Math.max(0, this.#pausedUntil - now);
  }

  /**
   * Waits out a pause and the quota, then for a free call slot; says when it may send and what it
   * waited. A wait that would end past `waitUntil` (performance.now()) is not waited: a "too
   * long" ProviderError, for the caller to hand its rows back.
   */
  async acquire(signal: AbortSignal, tokens = 0, waitUntil = Infinity): Promise<Acquired> {
    const acquired: Acquired = { sentAt: 0, waits: 0, waitedMs: 0 };
    while (!signal.aborted) {
      const now = performance.now();
      const wait = Math.max(
        this.pauseMs(now),
        this.#tokens.waitFor(tokens, now),
        this.#requests.waitFor(1, now),
      );
      if (wait > 0) {
        if (now + wait > waitUntil) {
          if (this.#inFlight < this.window) this.#waiting.shift()?.();
          throw new ProviderError(
            "rate_limited",
            `the provider's rate limit leaves no call for ${wait} ms, past what this batch's lease allows: its rows go back untried`,
            wait,
          );
        }
        await this.#waitFor(wait, signal, acquired);
      } else if (this.#inFlight >= this.window) {
        await new Promise<void>((resolve) => this.#waiting.push(resolve));
      } else {
        break;
      }
    }
    this.#inFlight += 1;
    acquired.sentAt = performance.now();
    this.#tokens.sent(tokens, acquired.sentAt);
    this.#requests.sent(1, acquired.sentAt);
    return acquired;
  }

  /** The quota the answer to a call sent at `sentAt` reported. */
  noteQuota(quota: QuotaHeaders, sentAt: number): void {
    const now = performance.now();
    if (quota.tokens) this.#tokens.note(quota.tokens, sentAt, now);
    if (quota.requests) this.#requests.note(quota.requests, sentAt, now);
  }

  /** Frees a call's slot, whatever its outcome. */
  release(): void {
    this.#inFlight -= 1;
    this.#waiting.shift()?.();
  }

  /** An answer came back: the window grows by one call per window of answers (additive). */
  answered(sentAt: number, now: number): void {
    this.#unsaidInARow = 0;
    const latency = now - sentAt;
    this.#fastestMs = Math.min(this.#fastestMs, latency);
    if (latency > risingLatencyFactor * this.#fastestMs) {
      this.#decrease(sentAt);
      return;
    }
    const before = this.window;
    this.#window = Math.min(this.limits.maxInFlight, this.#window + 1 / this.#window);
    // A grown window lets a waiting call through now.
    for (let slot = before; slot < this.window; slot++) this.#waiting.shift()?.();
  }

  /**
   * The provider asked to be left alone: every call pauses until then, and the window halves once
   * for the calls sent before this decrease. Returns the pause from `now`.
   */
  limited(error: ProviderError, sentAt: number, now: number): number {
    let pause = error.retryAfterMs;
    if (pause === null) {
      pause = Math.min(firstUnsaidPauseMs * 2 ** this.#unsaidInARow, longestUnsaidPauseMs);
      this.#unsaidInARow += 1;
    }
    pause = Math.max(shortestPauseMs, pause);
    this.#pausedUntil = Math.max(this.#pausedUntil, now + pause);
    this.#decrease(sentAt);
    return pause;
  }

  #decrease(sentAt: number): void {
    // Calls sent before the last decrease answer for the old window: one halving is enough.
    if (sentAt < this.#lastDecreaseAt) return;
    this.#lastDecreaseAt = performance.now();
    this.#window = Math.max(1, this.#window / 2);
  }

  async #waitFor(ms: number, signal: AbortSignal, acquired: Acquired): Promise<void> {
    const started = performance.now();
    await sleep(ms, signal);
    acquired.waits += 1;
    acquired.waitedMs += Math.round(performance.now() - started);
  }
}
