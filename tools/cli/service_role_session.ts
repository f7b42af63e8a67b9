// Runs the command line's SQL as service_role, the role the engine's API is granted to, over a connection it always closes.
import type postgres from "npm:postgres@3.4.7";
import { connectDatabase } from "../../supabase/functions/_shared/database.ts";
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import { redactDatabaseUrl } from "./database_url.ts";
import { CliFailure } from "./exit_codes.ts";

export type ServiceRoleSql = postgres.TransactionSql;

/**
 * Connects, then runs `work` in one transaction after `set local role service_role`, whatever role
 * the URL logs in as: the command can do only what the API allows. A connection that fails is a
 * CliFailure naming the database (without its password).
 */
export async function withServiceRole<T>(
  databaseUrl: string,
  work: (sql: ServiceRoleSql) => Promise<T>,
): Promise<T> {
  const sql = connectDatabase(databaseUrl);
  try {
    try {
      await sql`select 1`;
    } catch (error) {
      throw new CliFailure(
        `could not connect to ${redactDatabaseUrl(databaseUrl)}: ${errorMessage(error)}`,
      );
    }
    return await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      return await work(tx);
    }) as T;
  } finally {
    await sql.end();
  }
}
