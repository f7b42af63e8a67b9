// Looks a search target up in the registry (through embedding_search.targets): its model and dimensions, which the query must be embedded with.
import type { Sql } from "../database.ts";

export interface SearchTarget {
  name: string;
  model: string;
  dimensions: number;
}

/** The registered target of that name, or null; read as the connection's own role, before any caller's. */
export async function findSearchTarget(sql: Sql, name: string): Promise<SearchTarget | null> {
  const [row] = await sql<SearchTarget[]>`
    select t.target_name as name, t.model, t.dimensions
    from embedding_search.targets as t
    where t.target_name = ${name}`;
  return row ?? null;
}
