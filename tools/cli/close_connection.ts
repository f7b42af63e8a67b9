// Closes a postgres.js connection without hanging: after the server reset the connection (a restart, a killed embedded database), postgres.js 3.4.7's end() never resolves under Deno unless it is given a timeout.
import type { Sql } from "../../supabase/functions/_shared/database.ts";

/** Seconds end() waits for queries still running before it closes the sockets anyway. */
const closeTimeoutSeconds = 5;

export async function closeConnection(sql: Sql): Promise<void> {
  await sql.end({ timeout: closeTimeoutSeconds }).catch(() => {});
}
