// The run options as command-line flags (--target, --batch-size, --max-rows, --time-budget-ms, --lease-seconds): names, limits and defaults from run_options.ts, the table the function's body and the dispatch settings use too.
import { type Command, Option } from "npm:commander@14.0.3";
import {
  type NumericRunOption,
  numericRunOptionFields,
  numericRunOptions,
  parseRunOptions,
  type RunOptions,
  targetOption,
} from "../../supabase/functions/_shared/run_options.ts";

export type RunOptionFlagValues = Partial<Record<keyof RunOptions, string>>;

export type ParsedRunOptionFlags = { ok: true; options: RunOptions } | { ok: false; error: string };

const defaultDescriptions: Readonly<Record<keyof RunOptions, string>> = {
  target: "work only the target of this name (default: every target, round-robin)",
  batchSize: "rows per claim, provider call and write",
  maxRows: "rows the run claims at most",
  timeBudgetMs: "no new batch starts once the run's time budget is spent",
  leaseSeconds: "how long a claim holds its rows before another worker may take them",
};

/** Every run option flag in the order run_options.ts lists the fields (commander stores each under its field's name). */
const flags: readonly { field: keyof RunOptions; flag: string }[] = [
  { field: "target", flag: targetOption.flag },
  ...numericRunOptionFields.map((field) => ({ field, flag: numericRunOptions[field].flag })),
];

function limits(field: NumericRunOption): string {
  const { min, max, defaultValue } = numericRunOptions[field];
  return `${min}-${max}, default ${defaultValue}`;
}

/** Adds the run option flags; `descriptions` rewords what they mean for this command. */
export function addRunOptionFlags(
  command: Command,
  descriptions: Partial<Record<keyof RunOptions, string>> = {},
): Command {
  for (const { field, flag } of flags) {
    const description = descriptions[field] ?? defaultDescriptions[field];
    command.addOption(
      field === "target"
        ? new Option(`${flag} <name>`, description)
        : new Option(`${flag} <n>`, `${description} (${limits(field)})`),
    );
  }
  return command;
}

/** A number when the text is one, else the text itself, so the error shows what was typed. */
function flagValue(raw: string): number | string {
  return raw.trim() !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
}

/** Validates the flags given with run_options.ts's parser; an error names the flag. */
export function runOptionsFromFlags(values: RunOptionFlagValues): ParsedRunOptionFlags {
  const fields: Record<string, unknown> = {};
  for (const { field } of flags) {
    const raw = values[field];
    if (typeof raw === "string") fields[field] = field === "target" ? raw : flagValue(raw);
  }
  const parsed = parseRunOptions(fields);
  if (parsed.ok) return parsed;
  const flag = flags.find((option) => option.field === parsed.field)?.flag;
  return { ok: false, error: flag ? `${flag}: ${parsed.error}` : parsed.error };
}
