// `deno task cli <command>`: the project's command line (verify, doctor; later issues add more), each command also an SQL function.
//
// Argument parsing is commander (npm, pinned): the most used and longest-maintained parser for
// JavaScript, with subcommands that each get their own --help, option validation (choices, custom
// parsers) and an exitOverride hook that lets usage errors end with this CLI's exit code 2. citty
// is smaller but younger, with sparser help output; node:util parseArgs has no subcommands or help.
import { Command, CommanderError } from "npm:commander@15.1.0";
import { errorMessage } from "../supabase/functions/_shared/error_message.ts";
import { registerDoctorCommand } from "./cli/doctor_command.ts";
import { CliFailure, type ExitCode, exitCodes } from "./cli/exit_codes.ts";
import { registerVerifyCommand } from "./cli/verify_command.ts";

const helpAfter = `
Every command takes --db-url (default: SUPABASE_DB_URL, then the local stack) and runs its SQL as
service_role. Each is also an SQL function for Supabase's SQL editor: select * from
embeddings.verify(); and select * from embeddings.doctor();

Exit codes: 0 all good, 1 the command found a problem, 2 bad usage or the command could not run.`;

/** Parses the arguments, runs the command, and returns the exit code. */
export async function runCli(args: readonly string[]): Promise<ExitCode> {
  let exitCode: ExitCode = exitCodes.ok;
  let commandName = "cli";
  const finish = (code: ExitCode) => {
    exitCode = code;
  };
  const program = new Command("deno task cli")
    .description("The embedding kit's command line.")
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .addHelpText("after", helpAfter)
    .hook("preAction", (_program, actionCommand) => {
      commandName = actionCommand.name();
    });
  registerVerifyCommand(program, finish);
  registerDoctorCommand(program, finish);
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
    console.error(`${commandName}: ${errorMessage(error)}`);
    return exitCodes.usageOrFailure;
  }
}

if (import.meta.main) Deno.exit(await runCli(Deno.args));
