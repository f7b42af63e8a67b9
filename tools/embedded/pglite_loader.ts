// Loads PGlite (PostgreSQL in WebAssembly) with its pgvector extension from node_modules, only when the embedded database is used.
import type { PGlite } from "@electric-sql/pglite";
import { importOrExplain } from "../cli/missing_dependency.ts";

export type { PGlite };

const purpose =
  "The embedded database (used when neither --db-url nor SUPABASE_DB_URL names a database)";

/** Opens (creating on first use) the PGlite database kept in `dataDir`, with pgvector available. */
export async function createPglite(dataDir: string): Promise<PGlite> {
  const [{ PGlite }, { vector }] = await Promise.all([
    importOrExplain(() => import("@electric-sql/pglite"), purpose),
    importOrExplain(() => import("@electric-sql/pglite-pgvector"), purpose),
  ]);
  return await PGlite.create(dataDir, { extensions: { vector } });
}
