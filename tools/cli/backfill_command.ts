// `deno task cli backfill`: embeds every queued row, however long that takes, with N workers, a progress bar, Ctrl-C handled and, on request, the vector indexes built after instead of row by row.
import { type Command, InvalidArgumentError } from "npm:commander@14.0.3";
import { databaseCommand, type FinishWith } from "./command_declaration.ts";
import { runBackfill } from "./backfill_run.ts";
import {
  estimateCutFor,
  pricePerMillion,
  readBackfillEstimate,
  renderBackfillEstimate,
} from "./backfill_estimate.ts";
import { progressMode } from "./backfill_progress.ts";
import { renderBackfillTail } from "./backfill_summary.ts";
import { withDatabase } from "./database_session.ts";
import { withConnection } from "./engine_session.ts";
import { CliFailure, exitCodes } from "./exit_codes.ts";
import { chooseProvider, providerHelp } from "./provider_choice.ts";
import { providerOption } from "./provider_option.ts";
import {
  addRunOptionFlags,
  type RunOptionFlagValues,
  runOptionsFromFlags,
} from "./run_option_flags.ts";
import { asServiceRole } from "./service_role_session.ts";
import { renderStatus } from "./status_view.ts";
import { chooseTargets } from "./target_choice.ts";
import { PostgresTargetQueue } from "../../supabase/functions/_shared/postgres_target_queue.ts";
import { terminalColors } from "./terminal_colors.ts";

interface BackfillOptions extends RunOptionFlagValues {
  dbUrl?: string;
  provider?: string;
  concurrency?: number;
  deferIndex?: boolean;
  json?: boolean;
  estimate?: boolean;
  pricePerMillion?: number;
}

const maxConcurrency = 64;

function concurrency(raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < 1 || value > maxConcurrency) {
    throw new InvalidArgumentError(`must be a whole number from 1 to ${maxConcurrency}`);
  }
  return value;
}

const helpAfter = `
Runs the engine's worker (the embed function's code) again and again until nothing is left to
claim: for backfills longer than an Edge Function may run. The run options size each run, as
each call of the function; the backfill starts runs until one finds nothing to claim.

--concurrency N starts N workers, each on its own thread (a Web Worker) with its own connection:
the local model is CPU-bound, so N workers use N cores. Leases keep them (and any other worker)
apart. Without it, a remote provider (openai) gets one worker keeping up to 8 batches in flight,
each its own claim and lease: the calls in flight grow while answers come back and halve on a 429
or rising latency, every call waits out the pause a 429 asks for (holding its rows: no attempt
charged) and the quota the provider's x-ratelimit-* headers report.

A chunked target (registered with chunking) needs no flag: each row's text is cut into chunks,
each embedded, and written to its chunk table; --json counts them in chunksWritten, and
--defer-index defers the chunk table's index.

Progress: a bar with rows, rate and ETA when stderr is a terminal; a line every 5 s when it is
not; nothing with --json, which prints one JSON object at the end.

Ctrl-C stops cleanly: no new batch, the rows in hand go back untried (releaseRows), then the
deferred indexes are built; Ctrl-C again quits at once. A killed backfill loses nothing: its
leases run out (on the embedded database, the next command hands them back at once) and the next
backfill carries on, building any index the killed one left dropped.

--defer-index: drops the targets' vector indexes (HNSW, IVFFlat) first and builds them again at
the end, instead of updating them row by row: much faster for a large first backfill, but vector
searches scan the table until the index is back. Each dropped definition is recorded, in the same
transaction as the drop, in embeddings_cli.deferred_indexes; needs the table's owner (postgres).

--estimate embeds nothing and calls no provider: per target (or --target), the rows a backfill
would send (queued, and not yet reached by the chunked backfill), their characters, estimated
tokens (3 characters a token, per row) and, with --price-per-million P, the price; exit 0. The
same in SQL: select * from embeddings.estimate_backfill(null, <price per million>);

Exit codes: 0 every row written (--estimate: the estimate was read), 1 a row was not written
(failed, dead-lettered, still queued or leased) or a target failed, 2 bad usage or no database,
130 interrupted.`;

/** --estimate: reads embeddings.estimate_backfill as service_role and prints it; embeds nothing. */
async function printEstimate(flags: BackfillOptions, target: string | null): Promise<void> {
  const estimate = await withDatabase(flags.dbUrl, (database) => {
    const cut = estimateCutFor(chooseProvider(flags.provider, database.url));
    return withConnection(database.url, database.label, async (sql) => {
      const chosen = await chooseTargets(new PostgresTargetQueue(sql), target);
      return await asServiceRole(
        sql,
        (tx) => readBackfillEstimate(tx, chosen, flags.pricePerMillion ?? null, cut),
      );
    });
  });
  console.log(flags.json ? JSON.stringify(estimate, null, 2) : renderBackfillEstimate(estimate));
}

export function registerBackfillCommand(program: Command, finish: FinishWith): Command {
  const command = databaseCommand(program, {
    name: "backfill",
    summary: "embed everything queued, however long it takes: N workers, progress, Ctrl-C safe",
    description:
      "Embeds every queued row of every target (or --target) with the embed function's worker, run after run, until nothing is left to claim.",
  })
    .addOption(providerOption(providerHelp))
    .option(
      "--concurrency <n>",
      `workers at once, each on its own thread and connection (1-${maxConcurrency}); default: one, with several batches in flight for a remote provider`,
      concurrency,
    )
    .option(
      "--defer-index",
      "drop the targets' vector indexes first and build them again at the end",
    )
    .option("--json", "print one JSON object when done, and no progress")
    .option(
      "--estimate",
      "embed nothing: the rows, characters, tokens and price a backfill would take",
    )
    .option(
      "--price-per-million <price>",
      "with --estimate: the provider's price per million tokens",
      pricePerMillion,
    );
  return addRunOptionFlags(command, {
    maxRows: "rows each run claims at most",
    timeBudgetMs: "each run's time budget: no new batch starts once it is spent",
  })
    .addHelpText("after", helpAfter)
    .action(async (flags: BackfillOptions) => {
      const parsed = runOptionsFromFlags(flags);
      if (!parsed.ok) throw new CliFailure(parsed.error);
      if (flags.pricePerMillion !== undefined && !flags.estimate) {
        throw new CliFailure("--price-per-million goes with --estimate");
      }
      if (flags.estimate) {
        await printEstimate(flags, parsed.options.target);
        finish(exitCodes.ok);
        return;
      }
      const { outcome, exitCode } = await withDatabase(flags.dbUrl, (database) => {
        const provider = chooseProvider(flags.provider, database.url);
        return withConnection(database.url, database.label, (sql) =>
          runBackfill(sql, {
            databaseUrl: database.url,
            provider,
            options: parsed.options,
            concurrency: flags.concurrency ?? null,
            deferIndex: flags.deferIndex === true,
            progress: progressMode(flags.json === true),
          }));
      });
      if (flags.json) {
        console.log(JSON.stringify(outcome, null, 2));
      } else {
        console.log(renderStatus(outcome.targets, terminalColors()));
        console.log(renderBackfillTail(outcome));
      }
      finish(exitCode);
    });
}
