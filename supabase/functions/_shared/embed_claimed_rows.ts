// Embeds a claimed batch: one provider call, and when that fails, row by row so one bad row cannot sink the rest.
import { embeddingProblem } from "./embedding_checks.ts";
import { errorMessage } from "./error_message.ts";
import type { EmbeddingProvider } from "./providers/embedding_provider.ts";
import type { ClaimedRow, RowEmbedding, RowFailure } from "./target_queue.ts";

/** Consecutive single-row failures, with no success, after which the provider counts as down. */
export const providerDownAfter = 3;

export interface EmbeddedRows {
  /** Rows with a checked vector, ready to write. */
  embeddings: RowEmbedding[];
  /** Rows that failed on their own: each costs an attempt. */
  failures: RowFailure[];
  /** Rows not tried because the provider looks down: handed back without an attempt. */
  untried: ClaimedRow[];
  /** Set when the provider failed for the first rows it was given alone, and for the batch. */
  providerDown: string | null;
}

async function embedTexts(
  provider: EmbeddingProvider,
  rows: readonly ClaimedRow[],
): Promise<number[][]> {
  let vectors: number[][];
  try {
    vectors = await provider.embed(rows.map((row) => row.content));
  } catch (error) {
    throw new Error(`embedding provider ${provider.name} failed: ${errorMessage(error)}`);
  }
  if (!Array.isArray(vectors) || vectors.length !== rows.length) {
    throw new Error(
      `embedding provider ${provider.name} returned ${
        Array.isArray(vectors) ? vectors.length : "no"
      } vectors for ${rows.length} texts`,
    );
  }
  return vectors;
}

export async function embedClaimedRows(
  provider: EmbeddingProvider,
  dimensions: number,
  rows: readonly ClaimedRow[],
): Promise<EmbeddedRows> {
  const result: EmbeddedRows = { embeddings: [], failures: [], untried: [], providerDown: null };
  const accept = (row: ClaimedRow, vector: number[]) => {
    const problem = embeddingProblem(vector, dimensions);
    if (problem) result.failures.push({ key: row.key, error: `${provider.model}: ${problem}` });
    else result.embeddings.push({ key: row.key, contentHash: row.contentHash, embedding: vector });
  };

  const embeddable = rows.filter((row) => {
    if (row.content.trim() !== "") return true;
    result.failures.push({ key: row.key, error: "content is empty: there is no text to embed" });
    return false;
  });
  if (embeddable.length === 0) return result;

  let batchError: string;
  try {
    const vectors = await embedTexts(provider, embeddable);
    embeddable.forEach((row, index) => accept(row, vectors[index]));
    return result;
  } catch (error) {
    batchError = errorMessage(error);
  }

  // The batch failed: find out whether a row is to blame or the provider is down.
  let failuresInARow = 0;
  let anySucceeded = false;
  for (const [index, row] of embeddable.entries()) {
    if (!anySucceeded && failuresInARow >= providerDownAfter) {
      result.untried.push(...embeddable.slice(index));
      result.providerDown = batchError;
      break;
    }
    try {
      const [vector] = await embedTexts(provider, [row]);
      anySucceeded = true;
      accept(row, vector);
    } catch (error) {
      failuresInARow += 1;
      result.failures.push({ key: row.key, error: errorMessage(error) });
    }
  }
  return result;
}
