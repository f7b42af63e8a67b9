// A backfill's Web Worker: its own thread (the local model is CPU-bound, so N workers use N cores), its own connection, runs of the engine's worker one after another (in one lane, or several at once for a remote provider) until nothing is left to claim or it is told to stop.
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import { PostgresTargetQueue } from "../../supabase/functions/_shared/postgres_target_queue.ts";
import { ProviderPacers } from "../../supabase/functions/_shared/provider_pacers.ts";
import type { ProviderRouter } from "../../supabase/functions/_shared/providers/provider_router.ts";
import type { RunOptions } from "../../supabase/functions/_shared/run_options.ts";
import type { TargetQueue } from "../../supabase/functions/_shared/target_queue.ts";
import { runWorker } from "../../supabase/functions/_shared/worker.ts";
import type { StopCode, WorkerReport } from "../../supabase/functions/_shared/worker_report.ts";
import type { FromWorker, ToWorker } from "./backfill_messages.ts";
import { closeConnection } from "./close_connection.ts";
import { progressQueue } from "./progress_queue.ts";
import { routerFor } from "./provider_choice.ts";
import { connectForCli } from "./cli_connection.ts";

/** The parts of a Web Worker's global scope used here (this file runs only as a worker). */
interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;

/**
 * When the database goes away mid-run (a restart, a killed embedded database), postgres.js 3.4.7
 * under Deno can still fire a queued write on the socket it has dropped (a TypeError in its
 * connection.js). The run has already failed with the connection's own error and says so; this
 * stray one is not let out of the worker as a second, uncaught one.
 */
globalThis.addEventListener("error", (event) => {
  const stack = event.error instanceof Error ? event.error.stack ?? "" : "";
  if (event.error instanceof TypeError && stack.includes("postgres/src/connection.js")) {
    event.preventDefault();
  }
});
const stop = new AbortController();

/** A run that ended on its own limits and got somewhere is followed by another. */
const limitsOfOneRun: readonly StopCode[] = ["max_rows_reached", "time_budget_spent"];

function another(report: WorkerReport): boolean {
  return !stop.signal.aborted && limitsOfOneRun.includes(report.stoppedBecause) &&
    report.written + report.failed > 0;
}

/** One lane: runs one after another until nothing is left or a run ends on something else. */
async function lane(
  queue: TargetQueue,
  providers: ProviderRouter,
  options: RunOptions,
  pacers: ProviderPacers,
): Promise<void> {
  try {
    while (true) {
      const report = await runWorker(queue, providers, options, { stop: stop.signal, pacers });
      const last = !another(report);
      scope.postMessage({ kind: "run", report, last });
      if (last) break;
    }
  } catch (error) {
    // One lane failing ends the others too: they hand their batches back and stop.
    stop.abort();
    throw error;
  }
}

async function work(start: Extract<ToWorker, { kind: "start" }>): Promise<void> {
  const sql = connectForCli(start.databaseUrl);
  let ending: FromWorker = { kind: "done" };
  try {
    // Each provider is built on the first run that has a target of its model.
    const providers = routerFor(start.provider);
    const queue = progressQueue(
      new PostgresTargetQueue(sql),
      (delta) => scope.postMessage({ kind: "progress", ...delta }),
    );
    // The lanes share each provider's pacer: calls in flight grow from two while answers come
    // back, halve on a 429, and all wait out the pause that provider asks for.
    const pacers = new ProviderPacers({
      maxInFlight: start.lanes,
      initialInFlight: Math.min(2, start.lanes),
    });
    const lanes = await Promise.allSettled(
      Array.from({ length: start.lanes }, () => lane(queue, providers, start.options, pacers)),
    );
    const failed = lanes.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  } catch (error) {
    ending = { kind: "failed", error: `worker ${start.worker}: ${errorMessage(error)}` };
  } finally {
    // Closed before saying so: the main thread ends this worker as soon as it hears.
    await closeConnection(sql);
  }
  scope.postMessage(ending);
}

scope.onmessage = (event) => {
  const message = event.data;
  if (message.kind === "stop") stop.abort();
  else void work(message);
};
