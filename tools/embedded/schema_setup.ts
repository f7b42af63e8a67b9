// Brings the embedded database up to date: the platform bootstrap, the local default model, then every migration not yet applied, in order, each recorded as the Supabase CLI records it.
import { basename, join } from "node:path";
import type { PGlite } from "./pglite_loader.ts";
import { bootstrapSqlFile, embeddedModel, migrationsDir } from "./embedded_settings.ts";

/** The Supabase CLI's bookkeeping table, so `supabase migration list --db-url` reads the same history. */
const historyTable = "supabase_migrations.schema_migrations";

export interface Migration {
  /** The file name's leading timestamp, the key the Supabase CLI records. */
  version: string;
  /** The rest of the file name, without `.sql`. */
  name: string;
  file: string;
}

/** supabase/migrations/<version>_<name>.sql, in file-name order. */
export function listMigrations(dir = migrationsDir): Migration[] {
  return [...Deno.readDirSync(dir)]
    .filter((entry) => entry.isFile && /^\d+_.+\.sql$/.test(entry.name))
    .map((entry) => entry.name)
    .sort()
    .map((fileName) => {
      const [, version, name] = fileName.match(/^(\d+)_(.+)\.sql$/) ?? [];
      return { version, name, file: join(dir, fileName) };
    });
}

/**
 * The platform a Supabase project starts with (roles, schemas, auth stand-ins; the same file the
 * local stack applies; idempotent), and the offline model as embeddings.default_model: for the
 * database (later sessions) and for this session, which applies the migrations.
 */
async function applyPlatform(db: PGlite): Promise<void> {
  try {
    await db.exec(await Deno.readTextFile(bootstrapSqlFile));
  } catch (error) {
    throw new Error(
      `the platform bootstrap ${basename(bootstrapSqlFile)} failed on the embedded database: ${
        (error as Error).message
      }`,
    );
  }
  const model = embeddedModel.model.replaceAll("'", "''");
  await db.exec(`
    alter database postgres set embeddings.default_model = '${model}';
    set embeddings.default_model = '${model}';
    set search_path to "$user", public, extensions;`);
}

async function appliedVersions(db: PGlite): Promise<Set<string>> {
  await db.exec(`
    create schema if not exists supabase_migrations;
    create table if not exists ${historyTable} (version text not null primary key);
    alter table ${historyTable} add column if not exists statements text[];
    alter table ${historyTable} add column if not exists name text;`);
  const { rows } = await db.query<{ version: string }>(`select version from ${historyTable}`);
  return new Set(rows.map((row) => row.version));
}

/** Applies the platform and the pending migrations; returns the migrations applied now. */
export async function setUpSchema(db: PGlite, migrations = listMigrations()): Promise<Migration[]> {
  await applyPlatform(db);
  const applied = await appliedVersions(db);
  const pending = migrations.filter((migration) => !applied.has(migration.version));
  for (const migration of pending) {
    const text = await Deno.readTextFile(migration.file);
    try {
      // One transaction per file, as `supabase migration up` does: a failed file leaves no trace.
      await db.transaction(async (tx) => {
        await tx.exec(text);
        await tx.query(
          `insert into ${historyTable} (version, name, statements) values ($1, $2, $3)`,
          [migration.version, migration.name, [text]],
        );
      });
    } catch (error) {
      throw new Error(
        `migration ${basename(migration.file)} failed on the embedded database: ${
          (error as Error).message
        }`,
      );
    }
  }
  return pending;
}
