// Shared setup for the Deno integration tests: the local stack's database, keys, sample rows and throwaway targets.
import assert from "node:assert/strict";
import postgres from "postgres";
import type { TargetReport } from "../supabase/functions/_shared/worker_report.ts";
import { apiKey, signLocalJwt } from "../tools/stack/api_keys.ts";
import {
  databaseUrl,
  functionsUrl,
  localStackModel,
  seedSqlFile,
} from "../tools/stack/local_stack_settings.ts";

export { apiKey, databaseUrl, functionsUrl, localStackModel, signLocalJwt };

export function connectAsPostgres(max = 2): postgres.Sql {
  return postgres(databaseUrl, { max, onnotice: () => {} });
}

/**
 * Runs `work` with a connection of its own, closed when it ends however it ends, so each test
 * leaves no socket open behind it and the resource sanitizers hold.
 */
export async function withDatabase<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = connectAsPostgres();
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The two writers of supabase/seed.sql's stories. */
export const seedStoryWriters = [
  "5eed0000-0000-4000-8000-0000000000a1",
  "5eed0000-0000-4000-8000-0000000000b2",
];

/** How many stories supabase/seed.sql holds, and how many chunks the default chunking cuts them in. */
export const seedStories = { rows: 4, chunks: 57 };

/**
 * Empties music_knowledge, removes the seed's stories, and loads supabase/seed.sql: its 20
 * music_knowledge rows and its writers' stories. The queue triggers queue each of them, as they
 * would any new row, so every run of every target starts from the same queue.
 */
export async function resetToSeedRows(sql: postgres.Sql): Promise<void> {
  await sql`delete from public.music_knowledge`;
  await sql`delete from public.stories where user_id in ${sql(seedStoryWriters)}`;
  await sql.file(seedSqlFile);
}

export interface StoredEmbeddingStats {
  rows: number;
  embedded: number;
  dimensions: number[];
  norms: number[];
}

/** Reads back what is stored, straight from the table. */
export async function storedEmbeddingStats(
  sql: postgres.Sql,
  table = "music_knowledge",
): Promise<StoredEmbeddingStats> {
  const [row] = await sql<
    { rows: number; embedded: number; dimensions: number[] | null; norms: number[] | null }[]
  >`
    select count(*)::int as rows,
           count(embedding)::int as embedded,
           array_agg(extensions.vector_dims(embedding)) filter (where embedding is not null) as dimensions,
           array_agg(extensions.vector_norm(embedding)) filter (where embedding is not null) as norms
    from ${sql("public")}.${sql(table)}`;
  return {
    rows: row.rows,
    embedded: row.embedded,
    dimensions: row.dimensions ?? [],
    norms: row.norms ?? [],
  };
}

export interface QueueCounts {
  embedded: number;
  pending: number;
  inFlight: number;
  deadLettered: number;
}

/** A target's counts from embeddings.status. */
export async function queueCounts(sql: postgres.Sql, target: string): Promise<QueueCounts> {
  const [row] = await sql<QueueCounts[]>`
    select embedded::int, pending::int, in_flight::int as "inFlight",
           dead_lettered::int as "deadLettered"
    from embeddings.status where name = ${target}`;
  if (!row) throw new Error(`no target named ${target}`);
  return row;
}

/** The registered targets' names, in id order: the order the worker reports them in. */
export async function registeredTargetNames(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`select name from embeddings.targets order by id`;
  return rows.map((row) => row.name);
}

export interface NotesTarget {
  table: string;
  id: number;
  drop(): Promise<void>;
}

export interface NotesTargetOptions {
  /** Attempts before a row is dead-lettered. */
  maxAttempts?: number;
  /** The model the target is registered with; another than the local stack's is refused by its worker. */
  model?: string;
}

/**
 * Creates public.<table>(id text primary key, body text, embedding vector(384)) with `rows` rows
 * ("note 1" ...) and registers it (with the local stack's model unless told otherwise); drop()
 * unregisters and drops it.
 */
export async function createNotesTarget(
  sql: postgres.Sql,
  table: string,
  rows: number,
  { maxAttempts = 5, model = localStackModel.model }: NotesTargetOptions = {},
): Promise<NotesTarget> {
  await sql.unsafe(`
    drop table if exists public.${table};
    create table public.${table} (id text primary key, body text not null,
      embedding extensions.vector(${localStackModel.dimensions}));
    create or replace function public.${table}_content(note public.${table}) returns text
      language sql immutable set search_path = '' as $$ select note.body $$;
    insert into public.${table} (id, body)
      select 'n' || lpad(i::text, 4, '0'), 'note ' || i || ' about ' ||
        (array['chords', 'mixing', 'drums', 'melody', 'mastering'])[1 + i % 5]
      from generate_series(1, ${rows}) as i;`);
  const [{ id }] = await sql<{ id: string }[]>`
    select embeddings.register_target(${`public.${table}`}::regclass, 'id',
      ${`public.${table}_content(public.${table})`}::regprocedure, 'embedding',
      ${model}, ${localStackModel.dimensions}, ${maxAttempts}) as id`;
  return {
    table,
    id: Number(id),
    drop: async () => {
      await sql`select embeddings.unregister_target(${id}::bigint)`;
      await sql.unsafe(`drop function public.${table}_content; drop table public.${table};`);
    },
  };
}

/**
 * Runs `work` with a connection of its own and a notes target (createNotesTarget), dropped
 * afterwards however `work` ends.
 */
export function withNotesTarget(
  table: string,
  rows: number,
  work: (sql: postgres.Sql, target: NotesTarget) => Promise<void>,
  targetOptions: NotesTargetOptions = {},
): Promise<void> {
  return withDatabase(async (sql) => {
    const target = await createNotesTarget(sql, table, rows, targetOptions);
    try {
      await work(sql, target);
    } finally {
      await target.drop();
    }
  });
}

/** The worker report's section for the target named `name`; fails the test when there is none. */
export function targetReport(report: { targets: TargetReport[] }, name: string): TargetReport {
  const target = report.targets.find((candidate) => candidate.target === name);
  assert.ok(target, `the report has a section for ${name}`);
  return target;
}

/** The vector stored in public.<table> for the row with that id. */
export async function storedVector(
  sql: postgres.Sql,
  table: string,
  id: string,
): Promise<number[]> {
  const [row] = await sql<{ embedding: string }[]>`
    select embedding::text from ${sql("public")}.${sql(table)} where id = ${id}`;
  return JSON.parse(row.embedding);
}

/** Asserts every one of the target's `rows` rows is embedded, counted and read back from its table. */
export async function assertEveryRowEmbedded(
  sql: postgres.Sql,
  target: string,
  rows: number,
): Promise<void> {
  assert.deepEqual(await queueCounts(sql, target), {
    embedded: rows,
    pending: 0,
    inFlight: 0,
    deadLettered: 0,
  });
  assert.equal((await storedEmbeddingStats(sql, target)).embedded, rows);
}

/** Asserts none of the target's `rows` rows is embedded, leased or dead: every one still queued. */
export async function assertEveryRowStillQueued(
  sql: postgres.Sql,
  target: string,
  rows: number,
  message = "every row is still queued",
): Promise<void> {
  assert.deepEqual(await queueCounts(sql, target), {
    embedded: 0,
    pending: rows,
    inFlight: 0,
    deadLettered: 0,
  }, message);
}

export function postEmbed(token: string | null, body?: string): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return fetch(`${functionsUrl}/embed`, { method: "POST", headers, body });
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0, normA = 0, normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  return dot / Math.sqrt(normA * normB);
}
