// `deno task cli status`: every target's counts as a table (or JSON), once or refreshed with --watch until Ctrl-C.
import { type Command, InvalidArgumentError } from "npm:commander@14.0.3";
import { databaseCommand, type FinishWith } from "./command_declaration.ts";
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import { PostgresTargetQueue } from "../../supabase/functions/_shared/postgres_target_queue.ts";
import { withDatabase } from "./database_session.ts";
import { withConnection } from "./engine_session.ts";
import { CliFailure, exitCodes } from "./exit_codes.ts";
import { stopOnInterrupt } from "./interrupt.ts";
import { readStatusView, renderStatus, type TargetStatusView } from "./status_view.ts";
import { chooseTargets } from "./target_choice.ts";
import { terminalColors } from "./terminal_colors.ts";

interface StatusOptions {
  dbUrl?: string;
  target?: string;
  json?: boolean;
  /** Seconds between refreshes; true when --watch is given without a number. */
  watch?: number | true;
}

const defaultWatchSeconds = 2;

function watchSeconds(raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0.5 || value > 3600) {
    throw new InvalidArgumentError("must be a number of seconds from 0.5 to 3600");
  }
  return value;
}

const helpAfter = `
Reads embeddings.status for every target (or --target): rows in the table, rows embedded by the
target's current model, pending (queued, not leased), in flight (leased), dead-lettered, the last
write; then what needs attention (broken targets, leases, retries, dead letters, a vector index a
backfill left dropped). The same view in SQL: select * from embeddings.status;

--watch refreshes it every 2 s (or every N s) until Ctrl-C; with --json it prints one JSON array
per refresh, one per line.

Exit codes: 0 the status was read, 2 bad usage or no database.`;

async function readView(sql: Parameters<typeof readStatusView>[0], target: string | undefined) {
  if (target === undefined) return await readStatusView(sql);
  const chosen = await chooseTargets(new PostgresTargetQueue(sql), target);
  return await readStatusView(sql, chosen.map((entry) => entry.id));
}

function show(view: TargetStatusView[], options: StatusOptions, watching: boolean): void {
  if (options.json) {
    console.log(watching ? JSON.stringify(view) : JSON.stringify(view, null, 2));
    return;
  }
  const text = renderStatus(view, terminalColors());
  if (!watching) {
    console.log(text);
    return;
  }
  const stamp = `every ${
    options.watch === true ? defaultWatchSeconds : options.watch
  } s, Ctrl-C to stop; read at ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}`;
  // On a terminal the table is redrawn in place; in a log, each refresh follows the last.
  if (Deno.stdout.isTerminal()) console.log(`\x1b[H\x1b[2J${stamp}\n\n${text}`);
  else console.log(`${stamp}\n${text}\n`);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

async function watch(options: StatusOptions): Promise<void> {
  const seconds = options.watch === true
    ? defaultWatchSeconds
    : options.watch ?? defaultWatchSeconds;
  const stop = new AbortController();
  const stopListening = stopOnInterrupt(stop, () => {});
  try {
    while (!stop.signal.aborted) {
      try {
        // Opened again after a failure: an embedded database's serving process may have ended.
        await withDatabase(
          options.dbUrl,
          (database) =>
            withConnection(database.url, database.label, async (sql) => {
              while (!stop.signal.aborted) {
                show(await readView(sql, options.target), options, true);
                await sleep(seconds * 1000, stop.signal);
              }
            }),
        );
      } catch (error) {
        if (stop.signal.aborted) break;
        if (
          error instanceof CliFailure && error.exitCode === exitCodes.usageOrFailure &&
          options.target
        ) {
          throw error;
        }
        console.error(`status: ${errorMessage(error)}; trying again in ${seconds} s`);
        await sleep(seconds * 1000, stop.signal);
      }
    }
  } finally {
    stopListening();
  }
}

export function registerStatusCommand(program: Command, finish: FinishWith): Command {
  return databaseCommand(program, {
    name: "status",
    summary: "every target's counts: rows, embedded, queued, in flight, dead-lettered",
    description:
      "Prints embeddings.status for every target as a table, with what needs attention; --watch refreshes it.",
  })
    .option("--target <name>", "only the target of this name")
    .option("--json", "print the status as a JSON array (TargetStatus, plus deferredIndexes)")
    .option(
      "--watch [seconds]",
      `refresh every N seconds (default ${defaultWatchSeconds}) until Ctrl-C`,
      watchSeconds,
    )
    .addHelpText("after", helpAfter)
    .action(async (options: StatusOptions) => {
      if (options.watch !== undefined) {
        await watch(options);
      } else {
        const view = await withDatabase(
          options.dbUrl,
          (database) =>
            withConnection(database.url, database.label, (sql) => readView(sql, options.target)),
        );
        show(view, options, false);
      }
      finish(exitCodes.ok);
    });
}
