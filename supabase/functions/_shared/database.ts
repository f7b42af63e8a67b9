// Opens the postgres.js connection the engine uses (SUPABASE_DB_URL on Supabase).
import postgres from "npm:postgres@3.4.7";

export type Sql = postgres.Sql;

export function connectDatabase(url: string): Sql {
  return postgres(url, {
    // Supabase's pooler in transaction mode cannot keep prepared statements.
    prepare: false,
    max: 2,
    idle_timeout: 20,
    connect_timeout: 10,
    onnotice: () => {},
  });
}
