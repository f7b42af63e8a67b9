// Ctrl-C for the command line: the first asks the command to stop cleanly, the second ends the process at once.
import { exitCodes } from "./exit_codes.ts";

export const interruptedExitCode = exitCodes.interrupted;

/**
 * One Ctrl-C can arrive more than once: the terminal sends SIGINT to every process of the
 * foreground group, and `deno task` (and npx) forward the one they get to their child as well,
 * a millisecond later. Repeats closer together than this are the same key press.
 */
const samePressMs = 500;

/**
 * Until the returned function is called, SIGINT aborts `controller` (the command stops cleanly,
 * saying so through `onFirst`); a second Ctrl-C calls `onSecond` (default: exit 130 at once).
 */
export function stopOnInterrupt(
  controller: AbortController,
  onFirst: () => void,
  onSecond: () => void = () => Deno.exit(interruptedExitCode),
): () => void {
  let firstAt = 0;
  const listener = () => {
    const now = performance.now();
    if (controller.signal.aborted) {
      if (now - firstAt >= samePressMs) onSecond();
      return;
    }
    firstAt = now;
    onFirst();
    controller.abort(new DOMException("interrupted (Ctrl-C)", "AbortError"));
  };
  Deno.addSignalListener("SIGINT", listener);
  return () => Deno.removeSignalListener("SIGINT", listener);
}
