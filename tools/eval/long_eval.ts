// The long-document eval: each document embedded whole (cut at the model's input limit, as the engine does) or chunked at several sizes, ranked per question by its best chunk, scored by MRR@10, recall@5 and hit@1; the ranking is a callback so the database path can be measured the same way.
import {
  type ChunkingOptions,
  chunkText,
} from "../../supabase/functions/_shared/chunking/chunk_text.ts";
import type { EmbeddingProvider } from "../../supabase/functions/_shared/providers/embedding_provider.ts";
import type { LongDocumentSet } from "./long_documents.ts";
import { type ModeScores, scoreAnswers } from "./metrics.ts";

/** How documents are cut before embedding: null embeds each whole. */
export interface LongSetting {
  label: string;
  chunking: ChunkingOptions | null;
}

/** The document keys ranked for the question at `questionIndex` of the set, best first. */
export type DocumentRanking = (questionIndex: number) => Promise<readonly string[]>;

export interface LongResult {
  setting: LongSetting;
  /** The units embedded: documents, or chunks over all documents. */
  units: number;
  scores: ModeScores;
}

/** The sizes measured, in characters; 8,000 is as much as the local model reads. */
export const measuredSizes = [300, 600, 1000, 1500, 2500, 4000, 8000] as const;

/** The overlap used at every size: about 15% of it, in whole characters. */
export const overlapShare = 0.15;

/** Whole documents, then each size with the recursive splitter, then with the markdown splitter. */
export function longSettings(
  splitters: readonly ChunkingOptions["splitter"][] = ["recursive", "markdown"],
): LongSetting[] {
  const settings: LongSetting[] = [{ label: "whole document", chunking: null }];
  for (const splitter of splitters) {
    for (const size of measuredSizes) {
      const overlap = Math.round(size * overlapShare);
      settings.push({
        label: `${splitter} ${size} / ${overlap}`,
        chunking: { unit: "characters", size, overlap, splitter },
      });
    }
  }
  return settings;
}

/** MRR@10, recall@5 and hit@1 of a ranking over every question of the set. */
export async function scoreRanking(
  set: LongDocumentSet,
  rank: DocumentRanking,
): Promise<ModeScores> {
  const answers: (readonly string[])[] = [];
  for (let index = 0; index < set.questions.length; index++) answers.push(await rank(index));
  return scoreAnswers(answers, set.questions.map((entry) => entry.relevant));
}

/** Embeds texts, once each however often they recur (filler repeats across documents). */
export class EmbeddingCache {
  readonly #vectors = new Map<string, number[]>();
  constructor(readonly provider: EmbeddingProvider) {}

  async embed(texts: readonly string[]): Promise<number[][]> {
    const missing = [...new Set(texts.filter((text) => !this.#vectors.has(text)))];
    const vectors = missing.length > 0 ? await this.provider.embed(missing) : [];
    if (vectors.length !== missing.length) {
      throw new Error(`${this.provider.model} returned ${vectors.length} of ${missing.length}`);
    }
    missing.forEach((text, i) => this.#vectors.set(text, vectors[i]));
    return texts.map((text) => this.#vectors.get(text)!);
  }
}

const dot = (a: readonly number[], b: readonly number[]) =>
  a.reduce((sum, value, i) => sum + value * b[i], 0);

/** FNV-1a of a text: an order for equal scores that favours no document by its name. */
function tieOrder(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * The in-memory ranking: documents by their best unit's cosine similarity to the question (the
 * provider's vectors are unit length, so the dot product), the first ten. Filler repeats across
 * documents, so equal scores are common: they are ordered by a hash of question and key, not by
 * the key, so that no document wins ties by its name.
 */
export function bestUnitRanking(
  unitVectors: ReadonlyMap<string, readonly number[][]>,
  questionVectors: readonly number[][],
): DocumentRanking {
  return (questionIndex) => {
    const question = questionVectors[questionIndex];
    const scored = [...unitVectors].map(([key, vectors]) => ({
      key,
      score: Math.max(...vectors.map((vector) => dot(vector, question))),
      tie: tieOrder(`${questionIndex}:${key}`),
    }));
    scored.sort((a, b) => b.score - a.score || a.tie - b.tie);
    return Promise.resolve(scored.slice(0, 10).map((entry) => entry.key));
  };
}

/** Each document's units under a setting: the whole text, or its chunks' texts. */
function unitsOf(set: LongDocumentSet, setting: LongSetting): Map<string, string[]> {
  return new Map(set.documents.map((document) => [
    document.key,
    setting.chunking === null
      ? [document.text]
      : chunkText(document.text, setting.chunking).map((chunk) => chunk.text),
  ]));
}

/** Every setting embedded in memory and scored; `progress` hears each result as it comes. */
export async function evaluateLongDocuments(
  provider: EmbeddingProvider,
  set: LongDocumentSet,
  settings: readonly LongSetting[],
  progress: (result: LongResult) => void = () => {},
): Promise<LongResult[]> {
  const cache = new EmbeddingCache(provider);
  const questionVectors = await cache.embed(set.questions.map((entry) => entry.question));
  const results: LongResult[] = [];
  for (const setting of settings) {
    const units = unitsOf(set, setting);
    const unitVectors = new Map<string, number[][]>();
    for (const [key, texts] of units) unitVectors.set(key, await cache.embed(texts));
    const scores = await scoreRanking(set, bestUnitRanking(unitVectors, questionVectors));
    const count = [...units.values()].reduce((sum, texts) => sum + texts.length, 0);
    const result = { setting, units: count, scores };
    progress(result);
    results.push(result);
  }
  return results;
}

/**
 * The default chunk size the measurement picks: the recursive setting with the best MRR@10 (to
 * three decimals), the larger size on a tie.
 */
export function pickDefaultSize(results: readonly LongResult[]): LongResult {
  const rounded = (result: LongResult) => Math.round(result.scores.mrrAt10 * 1000);
  const candidates = results.filter((result) => result.setting.chunking?.splitter === "recursive");
  if (candidates.length === 0) throw new Error("no recursive chunking was measured");
  return candidates.reduce((best, result) =>
    rounded(result) > rounded(best) ||
      (rounded(result) === rounded(best) &&
        result.setting.chunking!.size > best.setting.chunking!.size)
      ? result
      : best
  );
}
