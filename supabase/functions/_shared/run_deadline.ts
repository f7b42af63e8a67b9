// The run's time budget as a deadline: how much is left, and a signal that aborts provider calls when it is spent.

export class RunDeadline {
  readonly #endsAt: number;
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;

  #stopped = false;
  readonly #stop: AbortSignal | undefined;
  readonly #onStop = () => {
    this.#stopped = true;
    this.#controller.abort(new DOMException("the run was asked to stop", "AbortError"));
  };

  /** `stop`, when given, ends the run early: a shutting-down function, or Ctrl-C on the command line. */
  constructor(budgetMs: number, stop?: AbortSignal) {
    this.#endsAt = performance.now() + budgetMs;
    this.#timer = setTimeout(
      () =>
        this.#controller.abort(
          new DOMException(`the run's time budget of ${budgetMs} ms is spent`, "TimeoutError"),
        ),
      budgetMs,
    );
    this.#stop = stop;
    if (stop?.aborted) this.#onStop();
    else stop?.addEventListener("abort", this.#onStop, { once: true });
  }

  /** True once the run was asked to stop (not merely out of time). */
  get stopRequested(): boolean {
    return this.#stopped;
  }

  /** Aborted when the budget is spent; every provider call is given it. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  remainingMs(): number {
    return this.#stopped ? 0 : Math.max(0, this.#endsAt - performance.now());
  }

  /** Stops the timer once the run is over, so nothing outlives it. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#stop?.removeEventListener("abort", this.#onStop);
  }
}
