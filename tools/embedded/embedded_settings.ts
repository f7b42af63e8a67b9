// Where the embedded database lives and what it starts with: its directory, the migrations, the platform bootstrap and the local model.
import { join } from "node:path";
import {
  bootstrapSqlFile,
  localDir,
  localStackModel,
  projectRoot,
} from "../stack/local_stack_settings.ts";

/** The environment variable that moves the embedded database (tests give each run its own). */
export const embeddedDirVariable = "EMBEDDED_DB_DIR";

/** `.local/pglite` in the checkout, ignored by git. */
const defaultEmbeddedDir = join(localDir, "pglite");

/** The embedded database's directory: EMBEDDED_DB_DIR when set, else `.local/pglite`. */
export function embeddedDir(
  environment: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): string {
  return environment[embeddedDirVariable] || defaultEmbeddedDir;
}

/** Applied in file-name order, as `supabase migration up` does. */
export const migrationsDir = join(projectRoot, "supabase", "migrations");

/** The platform's roles, schemas and auth stand-ins, applied before the migrations (tools/stack/bootstrap.sql, read, never edited). */
export { bootstrapSqlFile };

/**
 * The model the embedded database's targets embed with: the offline model, as on the local stack
 * (gte-small runs only on Supabase). Set as embeddings.default_model before the migrations.
 */
export const embeddedModel = localStackModel;
