// One provider call's deadline: the provider's own timeout or the run's budget (the caller's signal), whichever ends first, and which one it was.

export interface CallDeadline {
  signal: AbortSignal;
  /** True once the provider's own timeout fired (not the run's budget). */
  timedOut(): boolean;
  /** Clears the timer; call when the call is settled, so no timer outlives it. */
  dispose(): void;
}

export function callDeadline(timeoutMs: number, runSignal: AbortSignal | undefined): CallDeadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError"));
  }, timeoutMs);
  const onRunAborted = () => controller.abort(runSignal?.reason);
  if (runSignal?.aborted) onRunAborted();
  else runSignal?.addEventListener("abort", onRunAborted, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      runSignal?.removeEventListener("abort", onRunAborted);
    },
  };
}
