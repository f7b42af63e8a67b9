// A chunked target's chunking as the worker applies it: read from the registry's jsonb, measured in the provider's unit, its size capped so no chunk is longer than the provider's model reads.
import { checkChunkingOptions, type ChunkingOptions } from "./chunking/chunk_text.ts";
import type { InputLimit } from "./providers/input_limit.ts";
import { charactersPerToken } from "./providers/request_limits.ts";

/**
 * embeddings.targets.chunking as the worker's options: null for a whole-row target. The engine
 * validates it on registration; anything else here is an error naming what is wrong, never a guess.
 */
export function parseChunking(value: unknown): ChunkingOptions | null {
  if (value === null || value === undefined) return null;
  const refused = (why: string) =>
    new Error(
      `the target's chunking ${
        JSON.stringify(value)
      } is not {"unit": "characters"|"tokens", "size": n > 0, "overlap": 0 <= m < n, "splitter": "recursive"|"markdown"}: ${why}`,
    );
  if (typeof value !== "object" || Array.isArray(value)) throw refused("not an object");
  const { unit, size, overlap, splitter } = value as ChunkingOptions;
  const options = { unit, size, overlap, splitter };
  try {
    checkChunkingOptions(options);
  } catch (error) {
    throw refused((error as Error).message);
  }
  return options;
}

/** The longest chunk the model reads whole, in `unit`: maxCharacters, or the tokens they hold. */
export function inputLimitIn(unit: ChunkingOptions["unit"], limit: InputLimit): number {
  return unit === "tokens"
    ? Math.floor(limit.maxCharacters / charactersPerToken)
    : limit.maxCharacters;
}

/**
 * The options the worker cuts with: the target's, with the size capped at the provider's input
 * limit (its overlap scaled down with it), so no chunk is ever cut by the provider.
 */
export function cappedChunking(
  chunking: ChunkingOptions,
  limit: InputLimit | undefined,
): ChunkingOptions {
  if (limit === undefined) return chunking;
  const most = inputLimitIn(chunking.unit, limit);
  if (chunking.size <= most) return chunking;
  return {
    ...chunking,
    size: most,
    overlap: Math.floor(chunking.overlap * most / chunking.size),
  };
}
