// The embedded default: PGlite with pgvector kept in a directory (.local/pglite), set up like a Supabase project, served on 127.0.0.1 so the worker and the command line talk to it through postgres.js as to any PostgreSQL.
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { projectRoot } from "../stack/local_stack_settings.ts";
import { dispatchNote } from "./dispatch_note.ts";
import { releaseOrphanedLeases } from "./lease_recovery.ts";
import { claimOwnership } from "./owner_lock.ts";
import { createPglite, type PGlite } from "./pglite_loader.ts";
import { setUpSchema } from "./schema_setup.ts";
import { WireServer } from "./wire_server.ts";

export interface OpeningNote {
  kind: "created" | "migrated" | "recovered" | "dispatch";
  text: string;
}

export interface EmbeddedDatabase {
  /** postgres.js connects here: postgresql://postgres:postgres@127.0.0.1:<port>/postgres. */
  readonly url: string;
  readonly dir: string;
  /** True when this process serves it; false when it uses the server of the process that does. */
  readonly serving: boolean;
  /** What opening it did that is worth a sentence each: created it, applied migrations, handed back rows, the scheduled dispatch skipped. */
  readonly notes: readonly OpeningNote[];
  /**
   * Stops serving once every other process's connection has closed (close this process's own
   * first); `onWaiting` hears how many it waits for. `force` closes them at once.
   */
  close(options?: { force?: boolean; onWaiting?: (connections: number) => void }): Promise<void>;
}

function urlFor(port: number): string {
  return `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`;
}

/** The directory as a reader knows it: relative to the checkout when inside it. */
export function describeDir(dir: string): string {
  const inside = relative(projectRoot, dir);
  return inside && !inside.startsWith("..") ? inside : dir;
}

async function readDispatchMissing(db: PGlite): Promise<string | null> {
  const { rows } = await db.query<{ missing: string | null }>(
    "select missing from embeddings.dispatch_status",
  );
  return rows[0]?.missing ?? null;
}

/** What the owner tells about opening the database: created, migrated, leases recovered. */
async function openingNotes(
  db: PGlite,
  dir: string,
  created: boolean,
  applied: readonly { name: string }[],
  previousOwnerLeftOpen: number | null,
): Promise<OpeningNote[]> {
  const notes: OpeningNote[] = [];
  const note = (kind: OpeningNote["kind"], text: string) => notes.push({ kind, text });
  if (created) {
    note(
      "created",
      `Created the embedded database in ${
        describeDir(dir)
      } (PGlite: PostgreSQL with pgvector in WebAssembly; nothing to install).`,
    );
  }
  if (applied.length > 0) {
    note(
      "migrated",
      `Applied ${applied.length} migration${applied.length === 1 ? "" : "s"} to it (${
        applied.map((migration) => migration.name).join(", ")
      }).`,
    );
    const dispatch = dispatchNote(await readDispatchMissing(db));
    if (dispatch) note("dispatch", dispatch);
  }
  if (previousOwnerLeftOpen !== null) {
    const released = await releaseOrphanedLeases(db);
    if (released > 0) {
      note(
        "recovered",
        `Process ${previousOwnerLeftOpen} ended without closing the embedded database: handed back the ${released} rows its workers held.`,
      );
    }
  }
  return notes;
}

/** The served database as its owner hands it out: closing waits for its clients unless forced. */
function servedDatabase(
  dir: string,
  db: PGlite,
  server: WireServer,
  release: () => Promise<void>,
  notes: OpeningNote[],
): EmbeddedDatabase {
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      await server.stop();
      await db.close();
      await release();
    })();
  return {
    url: urlFor(server.port),
    dir,
    serving: true,
    notes,
    close: async (options = {}) => {
      if (!options.force && server.connectionCount > 0) {
        options.onWaiting?.(server.connectionCount);
        // A forced close meanwhile stops the server, which closes them all: this wait ends too.
        await server.whenIdle();
      }
      await stop();
    },
  };
}

/** Opens the embedded database in `dir` (creating and migrating it as needed), or joins the process already serving it. */
export async function openEmbeddedDatabase(dir: string): Promise<EmbeddedDatabase> {
  const ownership = await claimOwnership(dir);
  if (ownership.role === "guest") {
    return {
      url: urlFor(ownership.server.port),
      dir,
      serving: false,
      notes: [],
      close: () => Promise.resolve(),
    };
  }
  const dataDir = join(dir, "data");
  const created = !existsSync(join(dataDir, "PG_VERSION"));
  let db: PGlite | undefined;
  let server: WireServer | undefined;
  try {
    db = await createPglite(dataDir);
    const applied = await setUpSchema(db);
    const notes = await openingNotes(db, dir, created, applied, ownership.previousOwnerLeftOpen);
    server = WireServer.start(db);
    await ownership.publish(server.port);
    return servedDatabase(dir, db, server, () => ownership.release(), notes);
  } catch (error) {
    await server?.stop();
    await db?.close().catch(() => {});
    await ownership.release();
    throw error;
  }
}
