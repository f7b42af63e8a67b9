// `deno task embed`: the command-line way in, running the same engine as the embed function straight against a database URL.
import { parseArgs } from "node:util";
import { connectDatabase, type Sql } from "../supabase/functions/_shared/database.ts";
import { readEmbedConfig } from "../supabase/functions/_shared/embed_config.ts";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { createProvider } from "../supabase/functions/_shared/providers/create_provider.ts";
import {
  numericRunOptionFields,
  numericRunOptions,
  parseRunOptions,
  type RunOptions,
  targetOption,
} from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import { databaseUrl as localDatabaseUrl } from "./stack/local_stack_settings.ts";

const usageIndent = "                       ";

/** The run option flags, from run_options.ts's table, wrapped under the command. */
function runOptionUsage(): string {
  const parts = [
    `[${targetOption.flag} NAME]`,
    ...numericRunOptionFields.map((field) => {
      const { flag, min, max, defaultValue } = numericRunOptions[field];
      return `[${flag} ${min}-${max} (${defaultValue})]`;
    }),
  ];
  const lines: string[] = [];
  for (const part of parts) {
    const last = lines.length - 1;
    if (last >= 0 && usageIndent.length + lines[last].length + part.length < 96) {
      lines[last] += ` ${part}`;
    } else lines.push(part);
  }
  return lines.map((line) => `${usageIndent}${line}`).join("\n");
}

export const usage = `usage: deno task embed [--db-url URL] [--provider local|openai]
${runOptionUsage()}
       deno task embed --status [--db-url URL]
Embeds the queued rows of every registered target (or ${targetOption.flag}), verifying every
batch, and prints the report as JSON; exits 1 when any row or target failed. --status prints
every target's embeddings.status instead. The database URL defaults to SUPABASE_DB_URL, then to
the local stack.`;

export interface CliCommand {
  help: boolean;
  status: boolean;
  databaseUrl: string | undefined;
  provider: string | undefined;
  options: RunOptions;
}

export type ParsedCliArguments = { ok: true; command: CliCommand } | { ok: false; error: string };

/** The flag's name as node:util's parseArgs takes it: without the leading dashes. */
function optionName(flag: string): string {
  return flag.replace(/^--/, "");
}

/** The run option flags come from run_options.ts's table, so CLI and body accept the same. */
const runOptionFlags: readonly { field: keyof RunOptions; flag: string }[] = [
  { field: "target", flag: targetOption.flag },
  ...numericRunOptionFields.map((field) => ({ field, flag: numericRunOptions[field].flag })),
];

/** A number when the text is one, else the text itself, so the error shows what was typed. */
function flagValue(raw: string): number | string {
  return raw.trim() !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
}

export function parseCliArguments(args: readonly string[]): ParsedCliArguments {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        "db-url": { type: "string" },
        provider: { type: "string" },
        status: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        ...Object.fromEntries(
          runOptionFlags.map(({ flag }) => [optionName(flag), { type: "string" as const }]),
        ),
      },
    }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  const fields: Record<string, unknown> = {};
  for (const { field, flag } of runOptionFlags) {
    const raw = values[optionName(flag)];
    if (typeof raw === "string") fields[field] = field === "target" ? raw : flagValue(raw);
  }
  const parsed = parseRunOptions(fields);
  if (!parsed.ok) {
    const flag = runOptionFlags.find((option) => option.field === parsed.field)?.flag;
    return { ok: false, error: flag ? `${flag}: ${parsed.error}` : parsed.error };
  }
  const text = (name: string) => typeof values[name] === "string" ? values[name] : undefined;
  return {
    ok: true,
    command: {
      help: values.help === true,
      status: values.status === true,
      databaseUrl: text("db-url"),
      provider: text("provider"),
      options: parsed.options,
    },
  };
}

async function main(): Promise<number> {
  const parsed = parseCliArguments(Deno.args);
  if (!parsed.ok) {
    console.error(`${parsed.error}\n${usage}`);
    return 2;
  }
  const command = parsed.command;
  if (command.help) {
    console.log(usage);
    return 0;
  }
  const env = {
    ...Deno.env.toObject(),
    SUPABASE_DB_URL: command.databaseUrl ?? Deno.env.get("SUPABASE_DB_URL") ?? localDatabaseUrl,
    ...(command.provider ? { EMBEDDING_PROVIDER: command.provider } : {}),
  };
  let sql: Sql | undefined;
  try {
    const config = readEmbedConfig(env, false);
    sql = connectDatabase(config.databaseUrl);
    const queue = new PostgresTargetQueue(sql);
    if (command.status) {
      console.log(JSON.stringify(await queue.readStatus(), null, 2));
      return 0;
    }
    const provider = await createProvider(config.providerSettings);
    const report = await runWorker(queue, provider, command.options);
    console.log(JSON.stringify(report, null, 2));
    return report.ok ? 0 : 1;
  } catch (error) {
    console.error(`embed: ${(error as Error).message}`);
    return 1;
  } finally {
    await sql?.end();
  }
}

if (import.meta.main) Deno.exit(await main());
