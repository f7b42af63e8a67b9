// The command line's exit codes, and the error that ends a command with one of them.

/** 0: all good; 1: the command found problems; 2: bad usage, or the command could not run; 130: stopped by Ctrl-C. */
export const exitCodes = { ok: 0, problemsFound: 1, usageOrFailure: 2, interrupted: 130 } as const;

export type ExitCode = typeof exitCodes[keyof typeof exitCodes];

/** Ends a command with its message on stderr and the given exit code. */
export class CliFailure extends Error {
  override name = "CliFailure";
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = exitCodes.usageOrFailure) {
    super(message);
    this.exitCode = exitCode;
  }
}
