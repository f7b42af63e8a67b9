// `deno task cli requeue`: queue a target's dead-lettered rows again (--dead), or every one of its rows.
import type { Command } from "npm:commander@14.0.3";
import { databaseCommand, type FinishWith } from "./command_declaration.ts";
import { PostgresTargetQueue } from "../../supabase/functions/_shared/postgres_target_queue.ts";
import { withDatabase } from "./database_session.ts";
import { withConnection } from "./engine_session.ts";
import { exitCodes } from "./exit_codes.ts";
import { requeueDead, requeueEveryRow, type RequeueResult } from "./requeue_rows.ts";
import { chooseTargets } from "./target_choice.ts";
import { formatCount, plural } from "./text_table.ts";

interface RequeueOptions {
  dbUrl?: string;
  target?: string;
  dead?: boolean;
  json?: boolean;
}

const helpAfter = `
--dead: embeddings.requeue_dead(<target id>) for every target (or --target): dead-lettered rows
are queued again with fresh attempts.

Without --dead: every row of every target (or --target) is queued again, to be embedded anew:
dead letters get fresh attempts, the records of what was embedded are forgotten (the vectors stay
in the column, and in searches, until the worker replaces them; verify calls them unvouched
meanwhile) and the target's backfill starts over, queuing 10,000 rows now and the rest as workers
claim. Runs as the tables' owner (the role the URL logs in as).

Then embed them: deno task cli backfill.

Exit codes: 0 done, 2 bad usage or no database.`;

function describe(result: RequeueResult): string {
  if (result.recordsForgotten === null) {
    return `${result.target}: ${plural(result.deadRequeued, "dead-lettered row")} queued again`;
  }
  return `${result.target}: every row queued again (records of ${
    plural(result.recordsForgotten, "embedded row")
  } forgotten, ${plural(result.deadRequeued, "dead-lettered row")} given fresh attempts, ${
    formatCount(result.queuedNow ?? 0)
  } queued now, the rest as the backfill walks the table)`;
}

export function registerRequeueCommand(program: Command, finish: FinishWith): Command {
  return databaseCommand(program, {
    name: "requeue",
    summary: "queue dead-lettered rows again (--dead), or every row of a target",
    description:
      "Queues the dead-lettered rows of every target (or --target) again with --dead; without it, queues every row to be embedded anew.",
  })
    .option("--target <name>", "only the target of this name")
    .option("--dead", "only the dead-lettered rows (embeddings.requeue_dead)")
    .option("--json", "print what was queued as a JSON array")
    .addHelpText("after", helpAfter)
    .action(async (options: RequeueOptions) => {
      const results = await withDatabase(
        options.dbUrl,
        (database) =>
          withConnection(database.url, database.label, async (sql) => {
            const targets = await chooseTargets(new PostgresTargetQueue(sql), options.target);
            const done: RequeueResult[] = [];
            for (const target of targets) {
              done.push(
                options.dead ? await requeueDead(sql, target) : await requeueEveryRow(sql, target),
              );
            }
            return done;
          }),
      );
      if (options.json) {
        console.log(JSON.stringify(results, null, 2));
      } else {
        for (const result of results) console.log(describe(result));
        console.log(
          results.length === 0
            ? "requeue: no target is registered"
            : `requeue: done for ${
              plural(results.length, "target")
            }; embed the rows with deno task cli backfill`,
        );
      }
      finish(exitCodes.ok);
    });
}
