// `deno task embed`: the command-line way in, running the same engine as the embed function straight against a database URL.
import { parseArgs } from "node:util";
import { connectDatabase } from "../supabase/functions/_shared/database.ts";
import { readEmbedConfig } from "../supabase/functions/_shared/embed_config.ts";
import { parseEmbedRequest } from "../supabase/functions/_shared/embed_request.ts";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { createProvider } from "../supabase/functions/_shared/providers/create_provider.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import { databaseUrl as localDatabaseUrl } from "./stack/local_stack_settings.ts";

const usage = `usage: deno task embed [--db-url URL] [--provider local|openai] [--target NAME]
                       [--batch-size N] [--max-rows N] [--time-budget-ms N] [--lease-seconds N]
       deno task embed --status [--db-url URL]
Embeds the queued rows of every registered target (or --target), verifying every batch, and
prints the report as JSON; exits 1 when any row or target failed. --status prints
embeddings.status instead. The database URL defaults to SUPABASE_DB_URL, then to the local stack.`;

let args;
try {
  args = parseArgs({
    args: Deno.args,
    options: {
      "db-url": { type: "string" },
      provider: { type: "string" },
      target: { type: "string" },
      "lease-seconds": { type: "string" },
      status: { type: "boolean" },
      "batch-size": { type: "string" },
      "max-rows": { type: "string" },
      "time-budget-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  Deno.exit(2);
}
if (args.help) {
  console.log(usage);
  Deno.exit(0);
}

// The same validation as the function's request body, so both ways in accept the same options.
const requested: Record<string, number | string> = {};
if (args.target !== undefined) requested.target = args.target;
for (
  const [flag, field] of [
    ["batch-size", "batchSize"],
    ["max-rows", "maxRows"],
    ["time-budget-ms", "timeBudgetMs"],
    ["lease-seconds", "leaseSeconds"],
  ] as const
) {
  const raw = args[flag];
  if (raw !== undefined) requested[field] = Number(raw);
}
const parsed = parseEmbedRequest(JSON.stringify(requested));
if (!parsed.ok) {
  console.error(`${parsed.error}\n${usage}`);
  Deno.exit(2);
}

const env = {
  ...Deno.env.toObject(),
  SUPABASE_DB_URL: args["db-url"] ?? Deno.env.get("SUPABASE_DB_URL") ?? localDatabaseUrl,
  ...(args.provider ? { EMBEDDING_PROVIDER: args.provider } : {}),
};
let exitCode = 1;
let sql;
try {
  const config = readEmbedConfig(env, false);
  sql = connectDatabase(config.databaseUrl);
  const queue = new PostgresTargetQueue(sql);
  if (args.status) {
    console.log(JSON.stringify(await queue.targets(), null, 2));
    exitCode = 0;
  } else {
    const report = await runWorker(queue, await createProvider(config), parsed.options);
    console.log(JSON.stringify(report, null, 2));
    exitCode = report.ok ? 0 : 1;
  }
} catch (error) {
  console.error(`embed: ${(error as Error).message}`);
} finally {
  await sql?.end();
}
Deno.exit(exitCode);
