// Kept only for tests/run_options_test.ts (it checks the CLI's run option flags against the function's body fields): `deno task embed` is `deno task cli embed` (tools/cli/embed_command.ts), whose flags come from tools/cli/run_option_flags.ts, as these do. Delete once that test imports run_option_flags.ts.
import { parseArgs } from "node:util";
import type { RunOptions } from "../supabase/functions/_shared/run_options.ts";
import {
  type RunOptionFlagValues,
  runOptionsFromFlags,
  runOptionUsage,
} from "./cli/run_option_flags.ts";
import {
  numericRunOptionFields,
  numericRunOptions,
  targetOption,
} from "../supabase/functions/_shared/run_options.ts";

export const usage = `usage: deno task cli embed [--db-url URL] [--provider gte-small|openai|local]
       ${runOptionUsage().join(" ")}`;

export interface CliCommand {
  options: RunOptions;
}

export type ParsedCliArguments = { ok: true; command: CliCommand } | { ok: false; error: string };

/** The run option flags as `deno task cli embed` reads them (run_option_flags.ts). */
export function parseCliArguments(args: readonly string[]): ParsedCliArguments {
  const flags = [
    { field: "target" as const, flag: targetOption.flag },
    ...numericRunOptionFields.map((field) => ({ field, flag: numericRunOptions[field].flag })),
  ];
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      options: Object.fromEntries(
        flags.map(({ flag }) => [flag.replace(/^--/, ""), { type: "string" as const }]),
      ),
    }).values;
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  const given: RunOptionFlagValues = {};
  for (const { field, flag } of flags) {
    const raw = values[flag.replace(/^--/, "")];
    if (typeof raw === "string") given[field] = raw;
  }
  const parsed = runOptionsFromFlags(given);
  return parsed.ok ? { ok: true, command: { options: parsed.options } } : parsed;
}
