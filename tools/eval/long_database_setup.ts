// The long-document eval's database side: the table public.eval_long_documents, its documents, and its two targets (chunked with the engine's default chunking, and whole-row), created for one run and removed after it.
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import type { LongDocument } from "./long_documents.ts";

/** The table the documents are loaded into; it exists only while the eval runs. */
export const evalTable = "eval_long_documents";

/** The two targets over it: one vector per chunk, and one vector per document (its column). */
export const evalTargets = {
  chunked: "eval_long_chunked",
  whole: "eval_long_whole",
} as const;

export type EvalTargetKind = keyof typeof evalTargets;

export interface EvalTargetIds {
  chunked: number;
  whole: number;
}

/** Removes what an earlier or this run left: both targets (a chunked one's chunk table too), then the table. */
export async function removeEvalTables(sql: Sql): Promise<void> {
  await sql`
    select embeddings.unregister_target(t.id) from embeddings.targets as t
    where t.name in ${sql(Object.values(evalTargets))}`;
  await sql.unsafe(`
    drop function if exists public.${evalTable}_content(public.${evalTable});
    drop table if exists public.${evalTable};`);
}

/** The table (a vector column for the whole-row target) and its content function, the document's body. */
async function createTable(sql: Sql, dimensions: number): Promise<void> {
  await sql.unsafe(`
    create table public.${evalTable} (
      id text primary key,
      body text not null,
      embedding extensions.vector(${Number(dimensions)})
    );
    comment on table public.${evalTable} is
      'deno task eval --long --database: the long documents, for one run (the eval drops it)';
    create function public.${evalTable}_content(document public.${evalTable}) returns text
      language sql immutable set search_path = '' as $$ select document.body $$;
    comment on function public.${evalTable}_content(public.${evalTable}) is
      'The text the eval''s targets embed: the document''s body';`);
}

/** Inserts the documents; throws naming the keys that did not land. */
async function loadDocuments(sql: Sql, documents: readonly LongDocument[]): Promise<void> {
  const inserted = await sql<{ id: string }[]>`
    insert into ${sql("public")}.${sql(evalTable)} (id, body)
    select * from unnest(${documents.map((document) => document.key)}::text[],
                         ${documents.map((document) => document.text)}::text[])
    returning id`;
  const landed = new Set(inserted.map((row) => row.id));
  const missing = documents.filter((document) => !landed.has(document.key));
  if (missing.length > 0) {
    throw new Error(
      `${missing.length} documents were not inserted: ${missing.map((d) => d.key).join(", ")}`,
    );
  }
}

/**
 * Creates the table, loads the documents and registers both targets with the model's name and
 * dimensions: the chunked one with chunking '{}' (every option the engine's default), the
 * whole-row one on the vector column. Returns the targets' ids.
 */
export async function createEvalTargets(
  sql: Sql,
  documents: readonly LongDocument[],
  model: { model: string; dimensions: number },
): Promise<EvalTargetIds> {
  await createTable(sql, model.dimensions);
  await loadDocuments(sql, documents);
  const table = `public.${evalTable}`;
  const content = `public.${evalTable}_content(public.${evalTable})`;
  const [chunked] = await sql<{ id: string }[]>`
    select embeddings.register_target(${table}::regclass, 'id', ${content}::regprocedure, null,
      ${model.model}, ${model.dimensions}, target_name => ${evalTargets.chunked},
      chunking => '{}'::jsonb) as id`;
  const [whole] = await sql<{ id: string }[]>`
    select embeddings.register_target(${table}::regclass, 'id', ${content}::regprocedure,
      'embedding', ${model.model}, ${model.dimensions}, target_name => ${evalTargets.whole}) as id`;
  return { chunked: Number(chunked.id), whole: Number(whole.id) };
}

/** Each document's chunks in the chunked target's chunk table, counted there; 0 for one with none. */
export async function countChunksPerDocument(
  sql: Sql,
  targetId: number,
  keys: readonly string[],
): Promise<Map<string, number>> {
  const [{ table }] = await sql<{ table: string | null }[]>`
    select embeddings.chunk_table(${targetId})::text as table`;
  if (table === null) throw new Error(`target ${targetId} has no chunk table`);
  const rows = await sql.unsafe<{ row_key: string; chunks: number }[]>(
    `select c.row_key, count(*)::integer as chunks from ${table} as c group by c.row_key`,
  );
  const counted = new Map(rows.map((row) => [row.row_key, row.chunks]));
  return new Map(keys.map((key) => [key, counted.get(key) ?? 0]));
}
