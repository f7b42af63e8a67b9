// `deno task eval --long --database`: the long documents measured through the engine: loaded into a table, embedded by the backfill into a chunked and a whole-row target, each question asked of public.search_embeddings per target and mode, scored as the in-memory eval scores; the table and targets removed afterwards, also on failure.
import type { ChunkingOptions } from "../../supabase/functions/_shared/chunking/chunk_text.ts";
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import type { EmbeddingProvider } from "../../supabase/functions/_shared/providers/embedding_provider.ts";
import { searchAsCaller } from "../../supabase/functions/_shared/search/search_as_caller.ts";
import type { SearchCaller } from "../../supabase/functions/_shared/search/search_caller.ts";
import type { SearchMode } from "../../supabase/functions/_shared/search/search_request.ts";
import type { ProgressMode } from "../cli/backfill_progress.ts";
import type { ProviderSpec } from "../cli/provider_choice.ts";
import { embedEvalTargets } from "./long_database_embed.ts";
import {
  countChunksPerDocument,
  createEvalTargets,
  evalTable,
  type EvalTargetKind,
  evalTargets,
  removeEvalTables,
} from "./long_database_setup.ts";
import type { LongDocumentSet } from "./long_documents.ts";
import { type DocumentRanking, EmbeddingCache, scoreRanking } from "./long_eval.ts";
import type { Tuning } from "./evaluate.ts";
import type { ModeScores } from "./metrics.ts";

/** The modes measured: keyword is the same for both targets (it reads the whole text). */
export const databaseModes: readonly SearchMode[] = ["keyword", "semantic", "hybrid"];

/** The eval searches as service_role: what it measures is ranking, not who may read the rows. */
const evalCaller: SearchCaller = { role: "service_role", claims: { role: "service_role" } };

export interface DatabaseResult {
  target: EvalTargetKind;
  mode: SearchMode;
  /** Vectors the target holds: chunks, or one per document. */
  units: number;
  /** Mean rows a question's search returned (at most 10). */
  meanAnswerRows: number;
  scores: ModeScores;
}

export interface DatabaseEvalReport {
  documents: number;
  questions: number;
  model: string;
  /** The chunked target's chunking, as the engine stored it (its defaults filled in). */
  chunking: ChunkingOptions | null;
  /** Each document's chunks, counted in the chunk table. */
  chunksPerDocument: Record<string, number>;
  results: DatabaseResult[];
}

export interface DatabaseEvalRequest {
  sql: Sql;
  databaseUrl: string;
  /** The worker's provider (handed to the backfill's Web Workers) and the same, built here. */
  providerSpec: ProviderSpec;
  provider: EmbeddingProvider;
  set: LongDocumentSet;
  progress: ProgressMode;
  /** The search's knobs (rrf_k, weights, keyword match); left out, the SQL function's defaults. */
  tuning?: Tuning;
  /** Hears each result as it is measured. */
  onResult?: (result: DatabaseResult) => void;
}

/** A ranking by public.search_embeddings over one target, in one mode; answer lengths noted. */
function searchRanking(
  request: DatabaseEvalRequest,
  target: string,
  mode: SearchMode,
  questionVectors: readonly number[][],
  answerRows: number[],
): DocumentRanking {
  return async (questionIndex) => {
    const hits = await searchAsCaller(request.sql, evalCaller, {
      target,
      mode,
      matchCount: 10,
      queryText: request.set.questions[questionIndex].question,
      queryEmbedding: mode === "keyword" ? null : questionVectors[questionIndex],
      filters: {},
      ...request.tuning,
    });
    answerRows.push(hits.length);
    return hits.map((hit) => hit.key);
  };
}

/** Every question through search, per target and mode. */
async function measure(
  request: DatabaseEvalRequest,
  units: Record<EvalTargetKind, number>,
): Promise<DatabaseResult[]> {
  const cache = new EmbeddingCache(request.provider);
  const questionVectors = await cache.embed(request.set.questions.map((entry) => entry.question));
  const results: DatabaseResult[] = [];
  for (const target of ["chunked", "whole"] as const) {
    for (const mode of databaseModes) {
      const answerRows: number[] = [];
      const rank = searchRanking(request, evalTargets[target], mode, questionVectors, answerRows);
      const scores = await scoreRanking(request.set, rank);
      const meanAnswerRows = answerRows.reduce((sum, rows) => sum + rows, 0) / answerRows.length;
      const result = { target, mode, units: units[target], meanAnswerRows, scores };
      request.onResult?.(result);
      results.push(result);
    }
  }
  return results;
}

/** Throws naming every document the chunk table holds no chunk of. */
function checkEveryDocumentChunked(counts: ReadonlyMap<string, number>): void {
  const empty = [...counts].filter(([, count]) => count === 0).map(([key]) => key);
  if (empty.length > 0) {
    throw new Error(`the chunk table holds no chunk of ${empty.length} documents: ${empty}`);
  }
}

/**
 * Loads, registers, embeds and measures; the table and both targets are removed at the end,
 * whatever happened (and first, should an earlier run have left them).
 */
export async function evaluateThroughDatabase(
  request: DatabaseEvalRequest,
): Promise<DatabaseEvalReport> {
  const { sql, set, provider } = request;
  await removeEvalTables(sql);
  let failed = false;
  try {
    const ids = await createEvalTargets(sql, set.documents, provider);
    const status = await embedEvalTargets(sql, {
      databaseUrl: request.databaseUrl,
      provider: request.providerSpec,
      progress: request.progress,
      documents: set.documents.length,
    });
    const keys = set.documents.map((document) => document.key);
    const counts = await countChunksPerDocument(sql, ids.chunked, keys);
    checkEveryDocumentChunked(counts);
    const chunks = [...counts.values()].reduce((sum, count) => sum + count, 0);
    if (chunks !== status.chunked.chunks) {
      throw new Error(`status counts ${status.chunked.chunks} chunks, the chunk table ${chunks}`);
    }
    const results = await measure(request, { chunked: chunks, whole: status.whole.embedded });
    return {
      documents: set.documents.length,
      questions: set.questions.length,
      model: provider.model,
      chunking: status.chunked.chunking,
      chunksPerDocument: Object.fromEntries(counts),
      results,
    };
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // A failing clean-up never hides the error that ended the run: it is said beside it.
    await removeEvalTables(sql).catch((error) => {
      if (!failed) throw error;
      console.error(`eval --long --database: could not remove ${evalTable}: ${error}`);
    });
  }
}
