// Runs an external program and returns its output, or throws an error that quotes what it printed.

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Return the result instead of throwing when the program exits non-zero. */
  allowFailure?: boolean;
}

export async function runCommand(
  program: string,
  args: string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(program, {
      args,
      env: options.env,
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new Error(`could not run ${program}: ${(error as Error).message}`);
  }
  const result = {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
  if (result.code !== 0 && !options.allowFailure) {
    const printed = (result.stderr || result.stdout).trim().split("\n").slice(-15).join("\n");
    throw new Error(`${program} ${args.join(" ")} exited with ${result.code}:\n${printed}`);
  }
  return result;
}

/** True when this process runs as root (initdb and pg_ctl then run as the postgres user). */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/** Runs a PostgreSQL server program as the postgres user when we are root (initdb refuses root). */
export function runAsPostgresUser(
  program: string,
  args: string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  // From "/": the postgres user may not be allowed into the directory we run from.
  return isRoot()
    ? runCommand("runuser", ["-u", "postgres", "--", program, ...args], { cwd: "/", ...options })
    : runCommand(program, args, options);
}
