// Runs public.search_embeddings as the caller, as PostgREST would: in a transaction with the caller's role and JWT claims, so the target's RLS applies.
import type { Sql } from "../database.ts";
import type { TransactionSql } from "npm:postgres@3.4.7";
import type { SearchCaller } from "./search_caller.ts";
import type { FilterValue, SearchMode } from "./search_request.ts";

export interface SearchParameters {
  target: string;
  mode: SearchMode;
  matchCount: number;
  /** The words; null only for a semantic search without them. */
  queryText: string | null;
  /** The query embedded with the target's model; null for a keyword search. */
  queryEmbedding: readonly number[] | null;
  filters: Readonly<Record<string, FilterValue>>;
  /** Tuning, each defaulting to public.search_embeddings' own default when left out. */
  matchThreshold?: number;
  semanticWeight?: number;
  keywordWeight?: number;
  rrfK?: number;
  keywordMatch?: "any" | "all" | "websearch";
}

/** The chunk of a chunked target's row that ranked it: its text and [start, end) in UTF-16 code units of the row's text. */
export interface SearchChunk {
  text: string;
  index: number;
  start: number;
  end: number;
}

/** One ranked row, as public.search_embeddings answers it. */
export interface SearchHit {
  key: string;
  score: number;
  rankedBy: string[];
  semanticRank: number | null;
  keywordRank: number | null;
  similarity: number | null;
  keywordScore: number | null;
  row: Record<string, unknown>;
  /** The best chunk, for a chunked target's row the semantic side ranked; else null. */
  chunk: SearchChunk | null;
}

interface SearchRow {
  row_key: string;
  score: number;
  ranked_by: string[];
  semantic_rank: number | null;
  keyword_rank: number | null;
  similarity: number | null;
  keyword_score: number | null;
  row_data: Record<string, unknown>;
  chunk: string | null;
  chunk_index: number | null;
  chunk_start: number | null;
  chunk_end: number | null;
}

function chunkOf(row: SearchRow): SearchChunk | null {
  if (
    row.chunk === null || row.chunk_index === null || row.chunk_start === null ||
    row.chunk_end === null
  ) {
    return null;
  }
  return { text: row.chunk, index: row.chunk_index, start: row.chunk_start, end: row.chunk_end };
}

/** Longest a search may run; a slower one ends with SQLSTATE 57014. */
export const searchStatementTimeoutMs = 15_000;

/** A vector as pgvector's text input. */
export function vectorLiteral(vector: readonly number[]): string {
  return `[${vector.join(",")}]`;
}

/**
 * Runs `work` in a transaction as the caller, as PostgREST does: the role and the JWT claims set
 * locally, so a pooled connection keeps none of them. `request.jwt.claim.sub` and `.role` are set
 * beside `request.jwt.claims` because auth.uid() reads `claim.sub` first: a session-level value
 * another client left on a shared connection would otherwise win.
 */
export function asCaller<T>(
  sql: Sql,
  caller: SearchCaller,
  work: (transaction: TransactionSql) => Promise<T>,
): Promise<T> {
  const sub = typeof caller.claims.sub === "string" ? caller.claims.sub : "";
  return sql.begin(async (transaction) => {
    // Claims first, role last: once the role is anon it could not set them for itself anyway.
    await transaction`
      select pg_catalog.set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true),
             pg_catalog.set_config('request.jwt.claim.sub', ${sub}, true),
             pg_catalog.set_config('request.jwt.claim.role', ${caller.role}, true),
             pg_catalog.set_config('statement_timeout', ${String(searchStatementTimeoutMs)}, true),
             pg_catalog.set_config('role', ${caller.role}, true)`;
    return await work(transaction);
  }) as Promise<T>;
}

export async function searchAsCaller(
  sql: Sql,
  caller: SearchCaller,
  parameters: SearchParameters,
): Promise<SearchHit[]> {
  const rows = await asCaller(sql, caller, async (transaction) => {
    const embedding = parameters.queryEmbedding === null
      ? null
      : vectorLiteral(parameters.queryEmbedding);
    // Tuning left out is left to the SQL function's own defaults.
    const tuning = [
      parameters.matchThreshold === undefined
        ? transaction``
        : transaction`, match_threshold => ${parameters.matchThreshold}::double precision`,
      parameters.semanticWeight === undefined
        ? transaction``
        : transaction`, semantic_weight => ${parameters.semanticWeight}::double precision`,
      parameters.keywordWeight === undefined
        ? transaction``
        : transaction`, keyword_weight => ${parameters.keywordWeight}::double precision`,
      parameters.rrfK === undefined
        ? transaction``
        : transaction`, rrf_k => ${parameters.rrfK}::integer`,
      parameters.keywordMatch === undefined
        ? transaction``
        : transaction`, keyword_match => ${parameters.keywordMatch}::text`,
    ];
    return await transaction<SearchRow[]>`
      select s.row_key, s.score, s.ranked_by, s.semantic_rank, s.keyword_rank, s.similarity,
             s.keyword_score, s.row_data, s.chunk, s.chunk_index, s.chunk_start, s.chunk_end
      from public.search_embeddings(
        target => ${parameters.target},
        query_text => ${parameters.queryText}::text,
        query_embedding => ${embedding}::extensions.vector,
        mode => ${parameters.mode},
        match_count => ${parameters.matchCount}::integer,
        filters => ${transaction.json(parameters.filters)}
        ${tuning[0]}${tuning[1]}${tuning[2]}${tuning[3]}${tuning[4]}
      ) as s`;
  });
  return rows.map((row) => ({
    key: row.row_key,
    score: row.score,
    rankedBy: row.ranked_by,
    semanticRank: row.semantic_rank,
    keywordRank: row.keyword_rank,
    similarity: row.similarity,
    keywordScore: row.keyword_score,
    row: row.row_data,
    chunk: chunkOf(row),
  }));
}
