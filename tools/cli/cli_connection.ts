// The command line's postgres.js connections: the engine's settings (supabase/functions/_shared/database.ts), but never closed for idleness or age.
//
// A command may run for hours (a backfill) or sit idle between refreshes (status --watch, the main
// thread while its workers run). postgres.js 3.4.7 reconnects after an idle or lifetime close with
// setTimeout(connect, <negative delay>), which Deno reports as a TimeoutNegativeWarning on stderr;
// keeping the connection open avoids the close and so the warning.
import postgres from "npm:postgres@3.4.7";
import type { Sql } from "../../supabase/functions/_shared/database.ts";

export function connectForCli(url: string): Sql {
  return postgres(url, {
    // As the engine's connectDatabase: no prepared statements (Supabase's pooler in transaction mode).
    prepare: false,
    max: 2,
    connect_timeout: 10,
    onnotice: () => {},
    idle_timeout: 0,
    max_lifetime: 0,
  });
}
