// The one interface every embedding provider implements, and the names they are chosen by.
import type { InputLimit } from "./input_limit.ts";
import type { QuotaHeaders, RequestLimits } from "./request_limits.ts";

export const providerNames = ["gte-small", "openai", "local", "local-512"] as const;
export type ProviderName = typeof providerNames[number];

export interface EmbedOptions {
  /**
   * Aborted when the run's time budget is spent: the provider gives up its call then (and throws
   * a ProviderError of kind "timeout"), so a run ends within its budget however slow the model.
   */
  signal?: AbortSignal;
  /** Hears the quota each answer reports, so the caller can pace its next calls by it. */
  onQuota?: (quota: QuotaHeaders) => void;
}

export interface EmbeddingProvider {
  /** The provider's name, as EMBEDDING_PROVIDER selects it. */
  readonly name: ProviderName;
  /** The model whose vectors it returns; vectors of different models must never be mixed. */
  readonly model: string;
  /** Length of every vector it returns. */
  readonly dimensions: number;
  /** How much of a text the model reads; undefined when the provider does not say. */
  readonly inputLimit?: InputLimit;
  /**
   * The most one request may hold; undefined for a local model (no request to refuse). A caller
   * sends larger batches in several calls (embed_claimed_rows.ts).
   */
  readonly requestLimits?: RequestLimits;
  /**
   * One vector per text, in the same order. Throws a ProviderError saying whose fault a failure
   * is (see provider_error.ts); anything else it throws is taken as the provider being down.
   */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<number[][]>;
}

/** Splits texts into consecutive chunks of at most `size`, for providers with a request limit. */
export function chunkTexts(texts: readonly string[], size: number): string[][] {
  const chunks: string[][] = [];
  for (let start = 0; start < texts.length; start += size) {
    chunks.push(texts.slice(start, start + size));
  }
  return chunks;
}
