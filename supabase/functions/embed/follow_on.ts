// The scheduled dispatch's follow-on: after answering an invocation that stopped with work left, ask the database to send the next one at once instead of at the next cron tick.
import type { Sql } from "../_shared/database.ts";
import { errorMessage } from "../_shared/error_message.ts";

/** The header the dispatch sends with its row's id in embeddings.dispatches. */
export const dispatchIdHeader = "x-embeddings-dispatch-id";

/** The dispatch id of a scheduled invocation, or null for any other caller (15 digits: exact as a number). */
export function dispatchIdOf(headers: Headers): number | null {
  const value = headers.get(dispatchIdHeader);
  return value !== null && /^[1-9][0-9]{0,14}$/.test(value) ? Number(value) : null;
}

interface FollowOn {
  sent: number;
  reason: string;
  answered: boolean;
}

/**
 * Asks embeddings.follow_on_dispatch until pg_net has recorded this invocation's answer (its slot
 * is free only then, so max_parallel holds), at most `maxWaitMs`; returns its reason. pg_net has
 * no completion callback: this is the completion path.
 */
export async function followOnDispatch(
  sql: Sql,
  dispatchId: number,
  { pollMs = 100, maxWaitMs = 30_000 } = {},
): Promise<string> {
  const deadline = Date.now() + maxWaitMs;
  while (true) {
    const [result] = await sql.begin(async (tx) => {
      // The dispatch API is granted to service_role, whatever role the connection logs in as.
      await tx`set local role service_role`;
      return await tx<FollowOn[]>`
        select sent, reason, answered from embeddings.follow_on_dispatch(${dispatchId})`;
    });
    if (result.answered || Date.now() >= deadline) return result.reason;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

interface EdgeRuntimeGlobal {
  EdgeRuntime?: { waitUntil(promise: Promise<unknown>): void };
}

/**
 * Runs the follow-on after the answer has gone out: under Supabase's edge runtime through
 * EdgeRuntime.waitUntil (so the instance is kept until it ends), elsewhere as a plain promise.
 */
export function followOnInBackground(sql: Sql, dispatchId: number): void {
  const work = followOnDispatch(sql, dispatchId).then(
    (reason) => console.log(`embed: follow-on of dispatch ${dispatchId}: ${reason}`),
    (error) =>
      console.error(`embed: follow-on of dispatch ${dispatchId} failed: ${errorMessage(error)}`),
  );
  (globalThis as EdgeRuntimeGlobal).EdgeRuntime?.waitUntil(work);
}
