// Starts the stack's long-running Deno processes detached (they outlive the command that started them) and stops them by pid file.
import { existsSync, readFileSync } from "node:fs";
import { runCommand } from "./run_command.ts";

/** Starts `deno run -A <script>` in its own session, output appended to `logFile`. */
export async function startDetached(script: string, logFile: string): Promise<void> {
  await runCommand("setsid", [
    "-f",
    "sh",
    "-c",
    'exec "$0" run -A --no-prompt "$1" >>"$2" 2>&1 </dev/null',
    Deno.execPath(),
    script,
    logFile,
  ]);
}

/** The pid a process wrote to `pidFile`, when that process still runs. */
export function runningPid(pidFile: string): number | null {
  let text: string;
  try {
    text = readFileSync(pidFile, "utf8");
  } catch {
    // No file, or a process that stopped removed it just now: nothing runs.
    return null;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return existsSync(`/proc/${pid}`) ? pid : null;
}

/** Polls `ready` every 100 ms until it is true or `timeoutMs` passes. */
export async function waitUntil(
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ready()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/**
 * The detached process's own side of stopping: on SIGTERM or SIGINT it runs `beforeExit`, removes
 * its pid file and exits 0, so that the pid file names a running process only.
 */
export function exitOnStopSignals(pidFile: string, beforeExit: () => void): void {
  const shutDown = () => {
    beforeExit();
    try {
      Deno.removeSync(pidFile);
    } catch {
      // Already removed.
    }
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", shutDown);
  Deno.addSignalListener("SIGINT", shutDown);
}
