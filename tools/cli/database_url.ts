// Which database the command line talks to: --db-url, then SUPABASE_DB_URL, then the embedded database (PGlite in .local/pglite, or EMBEDDED_DB_DIR); and a URL's name without its password.
import { embeddedDir, embeddedDirVariable } from "../embedded/embedded_settings.ts";

export const databaseUrlHelp =
  `Postgres connection string (default: SUPABASE_DB_URL, then the embedded database in .local/pglite or ${embeddedDirVariable})`;

export type DatabaseChoice =
  | { kind: "url"; url: string }
  | { kind: "embedded"; dir: string };

/** Read once per command, from the flag and the environment. */
export function chooseDatabase(
  flag: string | undefined,
  environment: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): DatabaseChoice {
  const url = flag || environment.SUPABASE_DB_URL;
  return url ? { kind: "url", url } : { kind: "embedded", dir: embeddedDir(environment) };
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
