// `deno task cli embed`: one run of the worker, as one invocation of the embed function does, printing its JSON report.
import type { Command } from "npm:commander@14.0.3";
import { databaseCommand, type FinishWith } from "./command_declaration.ts";
import { PostgresTargetQueue } from "../../supabase/functions/_shared/postgres_target_queue.ts";
import { runWorker, WorkerRequestError } from "../../supabase/functions/_shared/worker.ts";
import { withDatabase } from "./database_session.ts";
import { withConnection } from "./engine_session.ts";
import { CliFailure, exitCodes } from "./exit_codes.ts";
import { interruptedExitCode, stopOnInterrupt } from "./interrupt.ts";
import { chooseProvider, providerHelp, routerFor } from "./provider_choice.ts";
import { providerOption } from "./provider_option.ts";
import {
  addRunOptionFlags,
  type RunOptionFlagValues,
  runOptionsFromFlags,
} from "./run_option_flags.ts";

interface EmbedOptions extends RunOptionFlagValues {
  dbUrl?: string;
  provider?: string;
}

const helpAfter = `
One run of the same worker the embed function runs, straight against the database: every target
(or --target) round-robin, one batch each per round, until nothing is left to claim, --max-rows
are claimed or --time-budget-ms is spent. Prints the worker's report as JSON (the function's
answer). For a backfill longer than one run, use backfill. A chunked target needs no flag: its rows
are cut into chunks, each embedded (chunksWritten counts them).

Ctrl-C stops the run: the rows in hand go back untried (a second Ctrl-C quits at once).

Exit codes: 0 every target's work went through, 1 a row or a target failed, 2 bad usage or no
database, 130 interrupted.`;

export function registerEmbedCommand(program: Command, finish: FinishWith): Command {
  const command = databaseCommand(program, {
    name: "embed",
    summary: "one run of the worker (as one call of the embed function), its report as JSON",
    description:
      "Embeds the queued rows of every target (or --target) in one run of the worker, verifying every batch, and prints the report.",
  })
    .addOption(providerOption(providerHelp));
  return addRunOptionFlags(command)
    .addHelpText("after", helpAfter)
    .action(async (flags: EmbedOptions) => {
      const parsed = runOptionsFromFlags(flags);
      if (!parsed.ok) throw new CliFailure(parsed.error);
      await withDatabase(flags.dbUrl, (database) => {
        const provider = chooseProvider(flags.provider, database.url);
        return withConnection(database.url, database.label, async (sql) => {
          const stop = new AbortController();
          const stopListening = stopOnInterrupt(
            stop,
            () =>
              console.error(
                "embed: stopping; the rows in hand go back untried (Ctrl-C again to quit at once)",
              ),
          );
          try {
            const report = await runWorker(
              new PostgresTargetQueue(sql),
              routerFor(provider),
              parsed.options,
              { stop: stop.signal },
            );
            console.log(JSON.stringify(report, null, 2));
            finish(
              stop.signal.aborted
                ? interruptedExitCode
                : report.ok
                ? exitCodes.ok
                : exitCodes.problemsFound,
            );
          } catch (error) {
            if (error instanceof WorkerRequestError) throw new CliFailure(error.message);
            throw error;
          } finally {
            stopListening();
          }
        });
      });
    });
}
