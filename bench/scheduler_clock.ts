// The scheduler benchmark's virtual clock, and what one pattern's run records on it: the invocations its ticks caused and when the backlog drained.
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function count(value: number): string {
  return value.toLocaleString("en-US");
}

/**
 * Real time, plus the idle time skipped: the driver jumps to the next tick when nothing is in
 * flight, instead of sleeping through it, so a run of many ticks takes minutes, not hours.
 */
class VirtualClock {
  readonly #realStart = performance.now();
  #skippedMs = 0;

  now(): number {
    return performance.now() - this.#realStart + this.#skippedMs;
  }

  realElapsed(): number {
    return performance.now() - this.#realStart;
  }

  /** Only ever forward, and only when no work is in flight (the driver's duty). */
  skipTo(virtualMs: number): void {
    const gap = virtualMs - this.now();
    if (gap > 0) this.#skippedMs += gap;
  }
}

export interface Invocation {
  /** Virtual ms when the function received it and when it answered. */
  startedAt: number;
  endedAt: number;
  written: number;
  status: number;
  /** What a failed invocation answered, to name why a drain stalls. */
  failure: string | null;
}

/** One pattern's run: its clock, the invocations its ticks caused and when the backlog drained. */
export class PatternRun {
  readonly clock = new VirtualClock();
  readonly invocations: Invocation[] = [];
  drainedAt: number | null = null;
  constructor(readonly targetId: number) {}
}
