// Runs the command line's SQL as service_role, the role the engine's API is granted to, in one transaction over a connection it always closes.
import type postgres from "npm:postgres@3.4.7";
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import type { OpenDatabase } from "./database_session.ts";
import { withConnection } from "./engine_session.ts";

export type ServiceRoleSql = postgres.TransactionSql;

/**
 * Runs `work` in one transaction after `set local role service_role`, whatever role the
 * connection logs in as: the command can do only what the API allows.
 */
export async function asServiceRole<T>(
  sql: Sql,
  work: (tx: ServiceRoleSql) => Promise<T>,
): Promise<T> {
  return await sql.begin(async (tx) => {
    await tx`set local role service_role`;
    return await work(tx);
  }) as T;
}

/** Connects (a failure is a CliFailure naming the database, without its password), runs `work` as service_role, closes. */
export function withServiceRole<T>(
  database: Pick<OpenDatabase, "url" | "label">,
  work: (tx: ServiceRoleSql) => Promise<T>,
): Promise<T> {
  return withConnection(database.url, database.label, (sql) => asServiceRole(sql, work));
}
