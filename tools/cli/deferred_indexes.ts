// backfill --defer-index: drops a target's vector indexes (HNSW, IVFFlat) before a bulk backfill and builds them again after, each definition recorded in the same transaction as its drop, so a crash mid-way is recovered by the next backfill.
//
// The record lives in the database (embeddings_cli.deferred_indexes, created on first use, RLS on,
// granted to no client role), not on this machine: whoever runs the next backfill finds it.
// Dropping and creating an index needs the table's owner, so this SQL runs as the role the
// database URL logs in as (postgres on Supabase), not as service_role.
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import { asServiceRole } from "./service_role_session.ts";

const deferredIndexTable = "embeddings_cli.deferred_indexes";

/** The memory an index build may use: room for the HNSW graph of about 100,000 rows of 384 dimensions, within a small instance's RAM (Supabase's smallest has 1 GB). */
const indexBuildMemory = "256MB";

export interface DeferredIndex {
  indexSchema: string;
  indexName: string;
  /** schema.table, quoted as needed. */
  tableName: string;
  targetName: string;
  /** pg_get_indexdef with an empty search_path: every name qualified. */
  definition: string;
  comment: string | null;
  droppedAt: string;
}

export interface TargetLocation {
  id: number;
  name: string;
  tableSchema: string;
  tableName: string;
  embeddingColumn: string;
}

interface DeferredIndexRow {
  index_schema: string;
  index_name: string;
  table_name: string;
  target_name: string;
  definition: string;
  comment: string | null;
  dropped_at: Date;
}

function toDeferredIndex(row: DeferredIndexRow): DeferredIndex {
  return {
    indexSchema: row.index_schema,
    indexName: row.index_name,
    tableName: row.table_name,
    targetName: row.target_name,
    definition: row.definition,
    comment: row.comment,
    droppedAt: row.dropped_at.toISOString(),
  };
}

/**
 * Where each target's vectors live, from the registry (read as service_role, its owner): its
 * table's embedding column, or a chunked target's chunk table.
 */
export function targetLocations(sql: Sql, targetIds: readonly number[]): Promise<TargetLocation[]> {
  return asServiceRole(sql, async (tx) => {
    const rows = await tx<
      {
        id: string;
        name: string;
        table_schema: string;
        table_name: string;
        embedding_column: string;
      }[]
    >`
      -- A chunked target's vectors live in its chunk table's column embedding.
      select t.id, t.name, coalesce(chunks_schema.nspname, t.table_schema) as table_schema,
             coalesce(chunks.relname, t.table_name) as table_name,
             coalesce(t.embedding_column, 'embedding') as embedding_column
      from embeddings.targets as t
      left join pg_catalog.pg_class as chunks on chunks.oid = embeddings.chunk_table(t.id)
      left join pg_catalog.pg_namespace as chunks_schema on chunks_schema.oid = chunks.relnamespace
      where t.id = any(${[...targetIds]}::bigint[]) order by t.id`;
    return rows.map((row) => ({
      id: Number(row.id),
      name: row.name,
      tableSchema: row.table_schema,
      tableName: row.table_name,
      embeddingColumn: row.embedding_column,
    }));
  });
}

/** The indexes dropped and not yet built again (none when no backfill ever deferred one). */
export async function readDeferredIndexes(sql: Sql): Promise<DeferredIndex[]> {
  const [{ present }] = await sql<{ present: boolean }[]>`
    select to_regclass(${deferredIndexTable}) is not null as present`;
  if (!present) return [];
  const rows = await sql<DeferredIndexRow[]>`
    select index_schema, index_name, table_name, target_name, definition, comment, dropped_at
    from embeddings_cli.deferred_indexes order by dropped_at, index_name`;
  return rows.map(toDeferredIndex);
}

async function ensureBookkeeping(sql: Sql): Promise<void> {
  await sql.unsafe(`
    create schema if not exists embeddings_cli;
    comment on schema embeddings_cli is
      'The command line''s own bookkeeping (deno task cli): vector indexes backfill --defer-index dropped and has not built again yet.';
    create table if not exists ${deferredIndexTable} (
      index_schema name not null,
      index_name name not null,
      table_name text not null,
      target_name text not null,
      definition text not null,
      comment text,
      dropped_at timestamptz not null default now(),
      primary key (index_schema, index_name)
    );
    alter table ${deferredIndexTable} enable row level security;
    revoke all on schema embeddings_cli from public;
    revoke all on ${deferredIndexTable} from public;`);
}

/**
 * Records and drops the target's vector indexes (every HNSW or IVFFlat index that depends on its
 * embedding column), in one transaction: either both happen or neither. Returns what it dropped.
 */
export async function dropVectorIndexes(
  sql: Sql,
  target: TargetLocation,
): Promise<DeferredIndex[]> {
  await ensureBookkeeping(sql);
  return await sql.begin(async (tx) => {
    // Fully qualified definitions; and no waiting forever behind another transaction's lock.
    await tx`set local search_path = ''`;
    await tx`set local lock_timeout = '10s'`;
    const rows = await tx<DeferredIndexRow[]>`
      insert into embeddings_cli.deferred_indexes
        (index_schema, index_name, table_name, target_name, definition, comment)
      select index_namespace.nspname, index_class.relname,
             format('%I.%I', table_namespace.nspname, table_class.relname), ${target.name},
             pg_catalog.pg_get_indexdef(index_class.oid),
             pg_catalog.obj_description(index_class.oid, 'pg_class')
      from pg_catalog.pg_class as table_class
      join pg_catalog.pg_namespace as table_namespace on table_namespace.oid = table_class.relnamespace
      join pg_catalog.pg_attribute as attribute
        on attribute.attrelid = table_class.oid and attribute.attname = ${target.embeddingColumn}
      join pg_catalog.pg_index as index on index.indrelid = table_class.oid
      join pg_catalog.pg_class as index_class on index_class.oid = index.indexrelid
      join pg_catalog.pg_namespace as index_namespace on index_namespace.oid = index_class.relnamespace
      join pg_catalog.pg_am as access_method on access_method.oid = index_class.relam
      where table_namespace.nspname = ${target.tableSchema} and table_class.relname = ${target.tableName}
        and access_method.amname in ('hnsw', 'ivfflat')
        and exists (
          select 1 from pg_catalog.pg_depend as dependency
          where dependency.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
            and dependency.objid = index_class.oid and dependency.refobjid = table_class.oid
            and dependency.refobjsubid = attribute.attnum)
      on conflict do nothing
      returning index_schema, index_name, table_name, target_name, definition, comment, dropped_at`;
    for (const row of rows) {
      await tx.unsafe(
        `drop index ${quoteIdentifier(row.index_schema)}.${quoteIdentifier(row.index_name)}`,
      );
    }
    return rows.map(toDeferredIndex);
  });
}

/**
 * Builds a dropped index again from its recorded definition (unless it exists already: a crash
 * after the build and before the record went) and removes the record, in one transaction.
 */
export async function rebuildDeferredIndex(
  sql: Sql,
  index: DeferredIndex,
): Promise<"built" | "already there"> {
  try {
    return await buildAndForget(sql, index, true);
  } catch (error) {
    // 53100: a parallel build found no room for its shared memory (Docker's 64 MB /dev/shm, for
    // one): build again with the server's own setting, as if nothing had been raised.
    if ((error as { code?: string }).code !== "53100") throw error;
    return await buildAndForget(sql, index, false);
  }
}

async function buildAndForget(
  sql: Sql,
  index: DeferredIndex,
  raiseMemory: boolean,
): Promise<"built" | "already there"> {
  const name = `${quoteIdentifier(index.indexSchema)}.${quoteIdentifier(index.indexName)}`;
  return await sql.begin(async (tx) => {
    const [{ present }] = await tx<{ present: boolean }[]>`
      select to_regclass(${name}) is not null as present`;
    if (!present) {
      // pgvector builds an HNSW graph fast only while it fits in maintenance_work_mem (64 MB by
      // default: about 30,000 rows of 384 dimensions); past that it slows down several times.
      // For this transaction only, and never lower than the server's own setting.
      if (raiseMemory) {
        await tx`
          select pg_catalog.set_config('maintenance_work_mem', ${indexBuildMemory}, true)
          where pg_catalog.pg_size_bytes(pg_catalog.current_setting('maintenance_work_mem'))
                < pg_catalog.pg_size_bytes(${indexBuildMemory})`;
      }
      await tx.unsafe(index.definition);
      if (index.comment !== null) {
        await tx.unsafe(`comment on index ${name} is ${quoteLiteral(index.comment)}`);
      }
    }
    await tx`
      delete from embeddings_cli.deferred_indexes
      where index_schema = ${index.indexSchema} and index_name = ${index.indexName}`;
    return present ? "already there" : "built";
  });
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
