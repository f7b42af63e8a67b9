// Shared setup for the Deno integration tests: the local stack's database, keys and sample rows.
import postgres from "postgres";
import { apiKey, signLocalJwt } from "../tools/stack/api_keys.ts";
import { databaseUrl, functionsUrl, seedSqlFile } from "../tools/stack/local_stack_settings.ts";

export { apiKey, databaseUrl, functionsUrl, signLocalJwt };

export function connectAsPostgres(): postgres.Sql {
  return postgres(databaseUrl, { max: 2, onnotice: () => {} });
}

/** Empties music_knowledge and loads the 20 sample rows of supabase/seed.sql, none embedded. */
export async function resetToSeedRows(sql: postgres.Sql): Promise<void> {
  await sql`delete from public.music_knowledge`;
  await sql.file(seedSqlFile);
}

export interface StoredEmbeddingStats {
  rows: number;
  embedded: number;
  dimensions: number[];
  norms: number[];
}

/** Reads back what is stored, straight from the table. */
export async function storedEmbeddingStats(sql: postgres.Sql): Promise<StoredEmbeddingStats> {
  const [row] = await sql<
    { rows: number; embedded: number; dimensions: number[] | null; norms: number[] | null }[]
  >`
    select count(*)::int as rows,
           count(embedding)::int as embedded,
           array_agg(extensions.vector_dims(embedding)) filter (where embedding is not null) as dimensions,
           array_agg(extensions.vector_norm(embedding)) filter (where embedding is not null) as norms
    from public.music_knowledge`;
  return {
    rows: row.rows,
    embedded: row.embedded,
    dimensions: row.dimensions ?? [],
    norms: row.norms ?? [],
  };
}

export function postEmbed(token: string | null, body?: string): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return fetch(`${functionsUrl}/embed`, { method: "POST", headers, body });
}
