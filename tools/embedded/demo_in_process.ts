// The demo's steps 3 and 4 without a functions gateway: a client's write refused by the database itself, and the embed function's worker run in this process.
import type postgres from "postgres";
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import { PostgresTargetQueue } from "../../supabase/functions/_shared/postgres_target_queue.ts";
import { defaultRunOptions } from "../../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../../supabase/functions/_shared/worker.ts";
import type { WorkerReport } from "../../supabase/functions/_shared/worker_report.ts";
import { chooseProvider, routerFor } from "../cli/provider_choice.ts";
import { printReport } from "./demo_report.ts";
import { closeConnection } from "../cli/close_connection.ts";
import { connectForCli } from "../cli/cli_connection.ts";

/** Step 3: the seed's mistake, as the database sees it: an update of the vector column as `anon`. */
export async function tryWritingAsAClient(sql: postgres.Sql): Promise<boolean> {
  console.log("3. The seed's mistake, tried: writing an embedding as a client (the anon role)...");
  try {
    await sql.begin(async (tx) => {
      await tx`set local role anon`;
      await tx`update public.music_knowledge set embedding = null`;
    });
  } catch (error) {
    console.log(`   refused: ${errorMessage(error)}: nothing can be written by a client`);
    return true;
  }
  console.log("   NOT refused: the anon role could write the vector column");
  return false;
}

/** Step 4: the worker the embed function runs, here in this process (no gateway in front of this database). */
export async function embedInProcess(databaseUrl: string): Promise<WorkerReport> {
  console.log(
    "4. Embedding every target's queue with the embed function's worker, run in this process (no functions gateway here; the function runs this same code)...",
  );
  const sql = connectForCli(databaseUrl);
  try {
    const providers = routerFor(chooseProvider(undefined, databaseUrl));
    const report = await runWorker(new PostgresTargetQueue(sql), providers, {
      ...defaultRunOptions,
      batchSize: 8,
    });
    printReport(report, "worker");
    return report;
  } finally {
    await closeConnection(sql);
  }
}
