// The worker's run options: their names (JSON body, SQL, CLI flag), defaults and limits, and the one validation of them.

export interface RunOptions {
  /** Rows per claim, provider call and write. */
  batchSize: number;
  /** Rows to claim at most in this run, over all targets. */
  maxRows: number;
  /** No new batch starts when the slowest batch so far would overrun this. */
  timeBudgetMs: number;
  /** How long a claim holds its rows before another worker may take them. */
  leaseSeconds: number;
  /** Work only this target (by name); null works every target. */
  target: string | null;
}

export type NumericRunOption = Exclude<keyof RunOptions, "target">;

export interface NumericRunOptionSpec {
  /** The option's name in SQL (embeddings.run_option_limits, embeddings.dispatch_settings). */
  sqlName: string;
  /** The option's flag on the command line (tools/cli/run_option_flags.ts). */
  flag: string;
  defaultValue: number;
  /** Smallest accepted value. */
  min: number;
  /** Largest accepted value; the SQL engine's embeddings.run_option_limits() says the same. */
  max: number;
}

/** Every numeric option, keyed by its JSON body field: the only list of them. */
export const numericRunOptions: Readonly<Record<NumericRunOption, Readonly<NumericRunOptionSpec>>> =
  {
    batchSize: {
      sqlName: "batch_size",
      flag: "--batch-size",
      defaultValue: 50,
      min: 1,
      max: 1000,
    },
    maxRows: {
      sqlName: "max_rows",
      flag: "--max-rows",
      defaultValue: 10_000,
      min: 1,
      max: 1_000_000,
    },
    timeBudgetMs: {
      sqlName: "time_budget_ms",
      flag: "--time-budget-ms",
      defaultValue: 60_000,
      min: 100,
      // Below Supabase's 150 s request idle timeout, which ends a longer run with a 504.
      max: 140_000,
    },
    leaseSeconds: {
      sqlName: "lease_seconds",
      flag: "--lease-seconds",
      defaultValue: 300,
      min: 1,
      max: 3600,
    },
  };

/** `target` has no limits and no SQL setting: it names a row of embeddings.targets. */
export const targetOption = { flag: "--target", defaultValue: null } as const;

export const numericRunOptionFields = Object.keys(numericRunOptions) as NumericRunOption[];

/** Every field a request may set, in the order error messages list them. */
export const runOptionFields: readonly (keyof RunOptions)[] = ["target", ...numericRunOptionFields];

export const defaultRunOptions: Readonly<RunOptions> = {
  batchSize: numericRunOptions.batchSize.defaultValue,
  maxRows: numericRunOptions.maxRows.defaultValue,
  timeBudgetMs: numericRunOptions.timeBudgetMs.defaultValue,
  leaseSeconds: numericRunOptions.leaseSeconds.defaultValue,
  target: targetOption.defaultValue,
};

export type ParsedRunOptions =
  | { ok: true; options: RunOptions }
  | {
    ok: false;
    /** The field that was refused, so a caller can name it its own way (a CLI flag, say). */
    field: string;
    error: string;
  };

function isRunOptionField(field: string): field is keyof RunOptions {
  return (runOptionFields as readonly string[]).includes(field);
}

/** A value as an error message shows it: short, and never the whole of a large or nested value. */
function previewValue(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object" && value !== null) return "an object";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

/**
 * Validates the given fields; fields not given keep their defaults. Only the fields' own
 * properties are read (Object.hasOwn), and options are built from the known names alone, so a
 * field named like a built-in property ("__proto__", "constructor", "valueOf") is refused by
 * name like any other unknown field.
 */
export function parseRunOptions(fields: Readonly<Record<string, unknown>>): ParsedRunOptions {
  for (const field of Object.keys(fields)) {
    if (!isRunOptionField(field)) {
      return {
        ok: false,
        field,
        error: `unknown field ${previewValue(field)}; allowed: ${runOptionFields.join(", ")}`,
      };
    }
  }
  let target = defaultRunOptions.target;
  if (Object.hasOwn(fields, "target")) {
    const value = fields.target;
    if (value !== null && (typeof value !== "string" || value.trim() === "")) {
      return {
        ok: false,
        field: "target",
        error: `target must be a target's name, got ${previewValue(value)}`,
      };
    }
    target = value;
  }
  const numbers = { ...defaultRunOptions };
  for (const field of numericRunOptionFields) {
    if (!Object.hasOwn(fields, field)) continue;
    const value = fields[field];
    const { min, max } = numericRunOptions[field];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      return {
        ok: false,
        field,
        error: `${field} must be an integer from ${min} to ${max}, got ${previewValue(value)}`,
      };
    }
    numbers[field] = value;
  }
  return {
    ok: true,
    options: {
      batchSize: numbers.batchSize,
      maxRows: numbers.maxRows,
      timeBudgetMs: numbers.timeBudgetMs,
      leaseSeconds: numbers.leaseSeconds,
      target,
    },
  };
}
