// How a command of the command line is declared: its name, summary and description, the --db-url every command takes, and the hook it hands its exit code to.
import type { Command } from "npm:commander@14.0.3";
import { databaseUrlHelp } from "./database_url.ts";
import type { ExitCode } from "./exit_codes.ts";

/** What a command's action calls with the exit code the process ends with. */
export type FinishWith = (exitCode: ExitCode) => void;

export interface CommandWords {
  name: string;
  /** One line, for the program's list of commands. */
  summary: string;
  /** A few sentences, for the command's own --help. */
  description: string;
}

/** A subcommand of `program` with its words and --db-url; the caller adds its own flags. */
export function databaseCommand(program: Command, words: CommandWords): Command {
  return program.command(words.name)
    .summary(words.summary)
    .description(words.description)
    .option("--db-url <url>", databaseUrlHelp);
}
