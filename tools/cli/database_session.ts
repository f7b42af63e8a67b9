// Opens the database a command works on for the length of the command: a URL as given, or the embedded database, started (and stopped again) here or shared with the process that serves it.
import { describeDir, openEmbeddedDatabase } from "../embedded/embedded_database.ts";
import { chooseDatabase, redactDatabaseUrl } from "./database_url.ts";
import { stopOnInterrupt } from "./interrupt.ts";

export interface OpenDatabase {
  url: string;
  /** How messages name it: the URL without its password, or "the embedded database in .local/pglite". */
  label: string;
  embedded: boolean;
}

/** Lines about the database itself (created, migrated, recovered) go to stderr, so stdout stays the command's answer. */
function say(line: string): void {
  console.error(line);
}

/**
 * Runs `work` against --db-url, SUPABASE_DB_URL or the embedded database. An embedded database
 * this process started is stopped when `work` ends (after any other command still using it is
 * done; Ctrl-C stops it anyway). The caller closes its own connections inside `work`.
 */
export async function withDatabase<T>(
  flag: string | undefined,
  work: (database: OpenDatabase) => Promise<T>,
): Promise<T> {
  const choice = chooseDatabase(flag);
  if (choice.kind === "url") {
    return await work({ url: choice.url, label: redactDatabaseUrl(choice.url), embedded: false });
  }
  const embedded = await openEmbeddedDatabase(choice.dir);
  for (const note of embedded.notes) say(note.text);
  try {
    return await work({
      url: embedded.url,
      label: `the embedded database in ${describeDir(choice.dir)}`,
      embedded: true,
    });
  } finally {
    const force = new AbortController();
    const stopListening = stopOnInterrupt(force, () => {}, () => {});
    try {
      const closed = embedded.close({
        onWaiting: (connections) =>
          say(
            `embedded database: another command still uses it (${connections} connection${
              connections === 1 ? "" : "s"
            }); it stays up until that ends (Ctrl-C to stop it now)`,
          ),
      });
      const forced = new Promise<void>((resolve) =>
        force.signal.addEventListener("abort", () => resolve(), { once: true })
      );
      await Promise.race([closed, forced]);
      if (force.signal.aborted) await embedded.close({ force: true });
    } finally {
      stopListening();
    }
  }
}
