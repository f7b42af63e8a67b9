// The one interface every embedding provider implements, and the names they are chosen by.

export const providerNames = ["gte-small", "openai", "local"] as const;
export type ProviderName = typeof providerNames[number];

export interface EmbeddingProvider {
  /** The provider's name, as EMBEDDING_PROVIDER selects it. */
  readonly name: ProviderName;
  /** The model whose vectors it returns; vectors of different models must never be mixed. */
  readonly model: string;
  /** Length of every vector it returns. */
  readonly dimensions: number;
  /** One vector per text, in the same order. Throws when the provider fails. */
  embed(texts: readonly string[]): Promise<number[][]>;
}

/** Splits texts into consecutive chunks of at most `size`, for providers with a request limit. */
export function chunkTexts(texts: readonly string[], size: number): string[][] {
  const chunks: string[][] = [];
  for (let start = 0; start < texts.length; start += size) {
    chunks.push(texts.slice(start, start + size));
  }
  return chunks;
}
