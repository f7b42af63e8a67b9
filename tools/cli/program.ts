// The command line's commands, parsed by commander, and the exit code each ends with.
//
// Argument parsing is commander (npm, pinned): the most used and longest-maintained parser for
// JavaScript, with subcommands that each get their own --help, option validation (custom parsers)
// and an exitOverride hook that lets usage errors end with this CLI's exit code 2. citty is smaller
// but younger, with sparser help output; node:util parseArgs has no subcommands or help.
// (commander 14, not 15: 15 declares Node 22 and npm warns about it on Node 20; Deno runs either.)
import { Command, CommanderError } from "npm:commander@14.0.3";
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import { registerBackfillCommand } from "./backfill_command.ts";
import { registerDoctorCommand } from "./doctor_command.ts";
import { registerEmbedCommand } from "./embed_command.ts";
import { CliFailure, type ExitCode, exitCodes } from "./exit_codes.ts";
import { MissingDependencyError, missingPackageOf } from "./missing_dependency.ts";
import { registerModelChangeCommand } from "./model_change_command.ts";
import { registerRequeueCommand } from "./requeue_command.ts";
import { registerSearchCommand } from "./search_command.ts";
import { registerStatusCommand } from "./status_command.ts";
import { registerVerifyCommand } from "./verify_command.ts";

const helpAfter = `
Every command takes --db-url (default: SUPABASE_DB_URL, then the embedded database: PGlite with
pgvector in .local/pglite, or EMBEDDED_DB_DIR, created and migrated on first use) and runs the
engine's API as service_role. verify, doctor and status are SQL too, for Supabase's SQL editor:
select * from embeddings.verify(); select * from embeddings.doctor(); select * from embeddings.status;

Exit codes: 0 all good, 1 the command found a problem, 2 bad usage or the command could not run,
130 interrupted (Ctrl-C).`;

/** Parses the arguments, runs the command, and returns the exit code. */
export async function runCli(args: readonly string[]): Promise<ExitCode> {
  let exitCode: ExitCode = exitCodes.ok;
  let commandName = "cli";
  const finish = (code: ExitCode) => {
    exitCode = code;
  };
  const program = new Command("deno task cli")
    .description("The embedding kit's command line: the embed function's engine, for operators.")
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .addHelpText("after", helpAfter)
    .hook("preAction", (_program, actionCommand) => {
      commandName = actionCommand.name();
    });
  registerBackfillCommand(program, finish);
  registerStatusCommand(program, finish);
  registerEmbedCommand(program, finish);
  registerRequeueCommand(program, finish);
  registerVerifyCommand(program, finish);
  registerDoctorCommand(program, finish);
  registerSearchCommand(program, finish);
  registerModelChangeCommand(program, finish);
  try {
    await program.parseAsync([...args], { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed the help or the usage error already.
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usageOrFailure;
    }
    if (error instanceof CliFailure) {
      console.error(`${commandName}: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof MissingDependencyError) {
      console.error(error.message);
      return exitCodes.usageOrFailure;
    }
    const missing = missingPackageOf(error);
    if (missing !== null) {
      console.error(new MissingDependencyError(missing, `deno task cli ${commandName}`).message);
      return exitCodes.usageOrFailure;
    }
    console.error(`${commandName}: ${errorMessage(error)}`);
    return exitCodes.usageOrFailure;
  }
}
