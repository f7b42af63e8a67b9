// Runs `deno task cli <args>` as a user would, in a child process, and times it: for the measurements and the command line's tests.
import { fileURLToPath } from "node:url";

/** tools/cli.ts: what `deno task cli` runs. */
export const cliEntry = fileURLToPath(new URL("../cli.ts", import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  wallMs: number;
}

export async function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cliEntry, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return finishedRun(output, started);
}

/** A finished child's exit code and streams as text, timed from `started`. */
export function finishedRun(output: Deno.CommandOutput, started: number): CliRun {
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    wallMs: performance.now() - started,
  };
}

/** A run as an assertion message shows it: the exit code and both streams. */
export function describeCliRun(run: Pick<CliRun, "code" | "stdout" | "stderr">): string {
  return `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}
