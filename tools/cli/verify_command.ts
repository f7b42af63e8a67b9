// `deno task cli verify`: embeddings.verify() for every target (or one), printed as a table per target, optionally fixing what it can.
import { type Command, InvalidArgumentError } from "npm:commander@14.0.3";
import { withDatabase } from "./database_session.ts";
import { databaseUrlHelp } from "./database_url.ts";
import type { ExitCode } from "./exit_codes.ts";
import { withServiceRole } from "./service_role_session.ts";
import { terminalColors } from "./terminal_colors.ts";
import { renderVerifyReport, verifyExitCode } from "./verify_report.ts";
import { readFixActions, readRowCounts, readVerifyRows, targetIdByName } from "./verify_rows.ts";

interface VerifyOptions {
  dbUrl?: string;
  target?: string;
  fix?: boolean;
  json?: boolean;
  sample: number;
}

const defaultSampleSize = 5;
const maxSampleSize = 1000;

function sampleSize(raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value > maxSampleSize) {
    throw new InvalidArgumentError(`must be a whole number from 0 to ${maxSampleSize}`);
  }
  return value;
}

const helpAfter = `
Reads every row of every target (or --target) against the engine's bookkeeping, as
select * from embeddings.verify(); does in Supabase's SQL editor. Problems: missing_vector,
unvouched_vector, other_model_vector, stale_vector, wrong_dimensions, non_finite, off_unit_norm,
orphan_bookkeeping, dead_lettered, broken_target, and for chunked targets missing_chunks,
other_model_chunks, stale_chunks, orphan_chunks. --fix queues the rows that can be embedded again
and removes bookkeeping (and chunks) of rows that are gone; it leaves dead-lettered rows
(select embeddings.requeue_dead(<target id>)) and broken targets. Run the worker afterwards
(deno task cli backfill) to embed what it queued.

Exit codes: 0 every target clean (with --fix: nothing left unfixed), 1 a problem, 2 bad usage or
no database.`;

export function registerVerifyCommand(
  program: Command,
  finish: (exitCode: ExitCode) => void,
): Command {
  return program.command("verify")
    .summary("check every stored vector against the bookkeeping, and optionally fix it")
    .description(
      "Reads the vector columns back and names every row whose vector is missing, unvouched, of another model, stale, malformed or dead-lettered, and bookkeeping of rows that are gone.",
    )
    .option("--db-url <url>", databaseUrlHelp)
    .option("--target <name>", "verify only the target of this name")
    .option("--fix", "queue what can be embedded again and remove orphaned bookkeeping")
    .option("--json", "print verify's rows as a JSON array instead of text")
    .option(
      "--sample <n>",
      `sample keys to show per problem (0-${maxSampleSize})`,
      sampleSize,
      defaultSampleSize,
    )
    .addHelpText("after", helpAfter)
    .action(async (options: VerifyOptions) => {
      const fix = options.fix === true;
      const { rows, fixActions, rowCounts } = await withDatabase(
        options.dbUrl,
        (database) =>
          withServiceRole(database, async (sql) => {
            const targetId = options.target === undefined
              ? null
              : await targetIdByName(sql, options.target);
            const rows = await readVerifyRows(sql, { targetId, fix, sampleSize: options.sample });
            const clean = rows.every((row) => row.row_count === 0);
            return {
              rows,
              fixActions: await readFixActions(sql),
              // Counting rows is a scan of each table: only for the "every target clean" line.
              rowCounts: clean && !options.json
                ? await readRowCounts(sql, [...new Set(rows.map((row) => row.target_id))])
                : null,
            };
          }),
      );
      console.log(
        options.json
          ? JSON.stringify(rows, null, 2)
          : renderVerifyReport({ rows, fix, fixActions, rowCounts }, terminalColors()),
      );
      finish(verifyExitCode(rows, fix));
    });
}
