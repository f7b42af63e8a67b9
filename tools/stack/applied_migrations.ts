// Notices a migration file changed after the local database applied it: `supabase migration up` never runs an applied version again (as on a hosted project), so the database would silently keep the old definitions.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { postgresDir, projectRoot } from "./local_stack_settings.ts";

const migrationsDir = join(projectRoot, "supabase", "migrations");
/** The SHA-256 of each migration file as the local database applied it, beside its cluster. */
const appliedFile = join(postgresDir, "applied_migrations.json");

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function currentChecksums(): Promise<Record<string, string>> {
  const checksums: Record<string, string> = {};
  for (const file of readdirSync(migrationsDir).filter((name) => name.endsWith(".sql")).sort()) {
    checksums[file] = await sha256(readFileSync(join(migrationsDir, file), "utf8"));
  }
  return checksums;
}

/**
 * Call after the migrations ran: an error naming each file that changed since it was applied,
 * with the way to rebuild; otherwise records the files as applied now.
 */
export async function checkAppliedMigrationsUnchanged(): Promise<void> {
  const current = await currentChecksums();
  const applied: Record<string, string> = existsSync(appliedFile)
    ? JSON.parse(readFileSync(appliedFile, "utf8")) as Record<string, string>
    : {};
  const changed = Object.keys(applied).filter((file) =>
    current[file] !== undefined && current[file] !== applied[file]
  );
  if (changed.length > 0) {
    throw new Error(
      `supabase/migrations/${
        changed.join(", supabase/migrations/")
      } changed after the local database applied ${
        changed.length === 1 ? "it" : "them"
      }, and an applied migration never runs again: rebuild the local database with deno task stack:stop && rm -rf ${postgresDir} && deno task stack:start`,
    );
  }
  writeFileSync(appliedFile, JSON.stringify({ ...applied, ...current }, null, 2));
}
