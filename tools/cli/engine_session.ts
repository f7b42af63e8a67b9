// A postgres.js connection for a command that drives the engine (the worker's queue, its status), checked before use and always closed.
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import { CliFailure } from "./exit_codes.ts";
import { closeConnection } from "./close_connection.ts";
import { connectForCli } from "./cli_connection.ts";

/** Connects to `url` (named `label` in errors), runs `work`, and closes the connection however it ends. */
export async function withConnection<T>(
  url: string,
  label: string,
  work: (sql: Sql) => Promise<T>,
): Promise<T> {
  const sql = connectForCli(url);
  try {
    try {
      await sql`select 1`;
    } catch (error) {
      throw new CliFailure(`could not connect to ${label}: ${errorMessage(error)}`);
    }
    return await work(sql);
  } finally {
    await closeConnection(sql);
  }
}
