// A process's memory as the kernel counts it (/proc/<pid>/status): its resident set now and its high-water mark, for the memory benchmarks.
import { type CliRun, finishedRun } from "../tools/cli/run_cli.ts";

export interface ProcessMemory {
  /** VmHWM: the largest resident set the process has had, in kB. */
  peakKb: number;
  /** VmRSS: its resident set now, in kB. */
  rssKb: number;
}

/** Reads /proc/<pid>/status; an error when the process is gone or the kernel does not say. */
export async function processMemory(pid: number): Promise<ProcessMemory> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const field = (name: string): number => {
    const value = status.match(new RegExp(`^${name}:\\s+(\\d+) kB$`, "m"))?.[1];
    if (value === undefined) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(value);
  };
  return { peakKb: field("VmHWM"), rssKb: field("VmRSS") };
}

export interface MeasuredRun extends CliRun {
  /** The child's VmHWM, last read 50 ms or less before it exited, in kB. */
  peakKb: number;
}

/**
 * Runs a command and follows its peak resident set until it exits. The high-water mark only
 * grows, so the last reading is the peak, short of what the final 50 ms may add.
 */
export async function runWithPeakMemory(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<MeasuredRun> {
  const started = performance.now();
  const child = new Deno.Command(command, {
    args: [...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peakKb = 0;
  let running = true;
  const output = child.output().finally(() => running = false);
  while (running) {
    try {
      peakKb = Math.max(peakKb, (await processMemory(child.pid)).peakKb);
    } catch {
      // Gone between the check and the read: the last reading stands.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { ...finishedRun(await output, started), peakKb };
}
