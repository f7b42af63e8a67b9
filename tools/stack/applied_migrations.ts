// Notices a migration file changed after the local database applied it: `supabase migration up` never runs an applied version again (as on a hosted project), so the database would silently keep the old definitions.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type postgres from "postgres";
import { projectRoot } from "./local_stack_settings.ts";

const migrationsDir = join(projectRoot, "supabase", "migrations");

/**
 * The Supabase CLI records each migration as the statements it split the file into, trimmed and
 * without their semicolons; without whitespace and semicolons a file and its record read the same.
 */
function comparable(text: string): string {
  return text.replace(/[\s;]+/g, "");
}

/**
 * The migration files whose text differs from what the database recorded when it applied them,
 * read from `supabase_migrations.schema_migrations` (the database itself, so a cluster made by any
 * earlier checkout is judged by what it really ran).
 */
async function changedAppliedMigrations(sql: postgres.Sql): Promise<string[]> {
  const [{ recorded }] = await sql<{ recorded: boolean }[]>`
    select to_regclass('supabase_migrations.schema_migrations') is not null as recorded`;
  if (!recorded) return [];
  const applied = await sql<{ version: string; statements: string[] | null }[]>`
    select version, statements from supabase_migrations.schema_migrations order by version`;
  const files = readdirSync(migrationsDir).filter((name) => name.endsWith(".sql"));
  const changed: string[] = [];
  for (const { version, statements } of applied) {
    const file = files.find((name) => name.startsWith(`${version}_`));
    if (file === undefined) continue;
    const text = readFileSync(join(migrationsDir, file), "utf8");
    if (comparable(text) !== comparable((statements ?? []).join(""))) changed.push(file);
  }
  return changed;
}

/** An error naming each applied migration file that changed since, with the way to rebuild. */
export async function checkAppliedMigrationsUnchanged(sql: postgres.Sql): Promise<void> {
  const changed = await changedAppliedMigrations(sql);
  if (changed.length === 0) return;
  throw new Error(
    `supabase/migrations/${
      changed.join(", supabase/migrations/")
    } changed after the local database applied ${
      changed.length === 1 ? "it" : "them"
    }, and an applied migration never runs again: rebuild the local database (its data is dropped, as by supabase db reset) with deno task stack:reset`,
  );
}
