// Which database the command line talks to (--db-url, then SUPABASE_DB_URL, then the local stack), and its name without the password.
import { databaseUrl as localStackDatabaseUrl } from "../stack/local_stack_settings.ts";

export const databaseUrlHelp =
  "Postgres connection string (default: SUPABASE_DB_URL, then the local stack's database)";

export function resolveDatabaseUrl(
  flag: string | undefined,
  environmentUrl: string | undefined = Deno.env.get("SUPABASE_DB_URL"),
): string {
  return flag || environmentUrl || localStackDatabaseUrl;
}

/** The URL with its password replaced by ***, for messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(a database URL that does not parse)";
  }
}
