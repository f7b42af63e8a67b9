// The run's time budget as a deadline: how much is left, and a signal that aborts provider calls when it is spent.

export class RunDeadline {
  readonly #endsAt: number;
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;

  constructor(budgetMs: number) {
    this.#endsAt = performance.now() + budgetMs;
    this.#timer = setTimeout(
      () =>
        this.#controller.abort(
          new DOMException(`the run's time budget of ${budgetMs} ms is spent`, "TimeoutError"),
        ),
      budgetMs,
    );
  }

  /** Aborted when the budget is spent; every provider call is given it. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  remainingMs(): number {
    return Math.max(0, this.#endsAt - performance.now());
  }

  /** Stops the timer once the run is over, so nothing outlives it. */
  dispose(): void {
    clearTimeout(this.#timer);
  }
}
