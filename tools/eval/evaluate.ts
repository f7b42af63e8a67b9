// Runs the labelled questions through public.search_embeddings, as the anon role, in each mode, and scores the answers.
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import type { EmbeddingProvider } from "../../supabase/functions/_shared/providers/embedding_provider.ts";
import {
  searchAsCaller,
  type SearchParameters,
} from "../../supabase/functions/_shared/search/search_as_caller.ts";
import type { SearchCaller } from "../../supabase/functions/_shared/search/search_caller.ts";
import {
  type SearchMode,
  searchModes,
} from "../../supabase/functions/_shared/search/search_request.ts";
import { type ModeScores, scoreAnswers } from "./metrics.ts";
import type { QuestionSet } from "./question_set.ts";

/** The search's knobs the evaluation can turn; left out, the SQL function's defaults hold. */
export type Tuning = Pick<
  SearchParameters,
  "rrfK" | "semanticWeight" | "keywordWeight" | "keywordMatch"
>;

/** Who the questions are asked as: a visitor with the anon key, as the demo's readers are. */
export const anonCaller: SearchCaller = { role: "anon", claims: { role: "anon" } };

/** How many rows each answer holds: MRR@10 reads ten. */
export const answerLength = 10;

/** Each question embedded with the provider (the target's model), in the set's order. */
export function embedQuestions(
  provider: EmbeddingProvider,
  set: QuestionSet,
): Promise<number[][]> {
  return provider.embed(set.questions.map((entry) => entry.question));
}

/** Searches restricted to the corpus rows, so other rows in the table change nothing. */
export function corpusFilter(set: QuestionSet): { id: string[] } {
  return { id: set.corpus.map((row) => row.id) };
}

/** The keys each question's search answers with, best first. */
export async function answersFor(
  sql: Sql,
  set: QuestionSet,
  embeddings: readonly number[][],
  mode: SearchMode,
  tuning: Tuning = {},
): Promise<string[][]> {
  const answers: string[][] = [];
  for (const [index, entry] of set.questions.entries()) {
    const hits = await searchAsCaller(sql, anonCaller, {
      target: set.target,
      mode,
      matchCount: answerLength,
      queryText: entry.question,
      queryEmbedding: mode === "keyword" ? null : embeddings[index],
      filters: corpusFilter(set),
      ...tuning,
    });
    answers.push(hits.map((hit) => hit.key));
  }
  return answers;
}

/** MRR@10, recall@5 and hit@1 of every mode. */
export async function evaluateModes(
  sql: Sql,
  set: QuestionSet,
  embeddings: readonly number[][],
  tuning: Tuning = {},
  modes: readonly SearchMode[] = searchModes,
): Promise<Partial<Record<SearchMode, ModeScores>>> {
  const relevant = set.questions.map((entry) => new Set(entry.relevant.map((row) => row.id)));
  const scores: Partial<Record<SearchMode, ModeScores>> = {};
  for (const mode of modes) {
    scores[mode] = scoreAnswers(await answersFor(sql, set, embeddings, mode, tuning), relevant);
  }
  return scores;
}

/** How many corpus rows a search can return: rows that exist with a current vector. */
export async function searchableCorpusRows(
  sql: Sql,
  set: QuestionSet,
  probe: readonly number[],
): Promise<number> {
  const hits = await searchAsCaller(sql, anonCaller, {
    target: set.target,
    mode: "semantic",
    matchCount: Math.min(set.corpus.length, 100),
    queryText: null,
    queryEmbedding: probe,
    filters: corpusFilter(set),
  });
  return hits.length;
}
