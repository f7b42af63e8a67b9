// A chunked target's chunking as the worker applies it: read from the registry's jsonb, measured in the provider's unit, its size capped so no chunk is longer than the provider's model reads.
import type { ChunkingOptions, TextMeasure } from "./chunking/chunk_text.ts";
import type { InputLimit } from "./providers/input_limit.ts";
import { charactersPerToken, estimateTokens } from "./providers/request_limits.ts";

const units: readonly ChunkingOptions["unit"][] = ["characters", "tokens"];
const splitters: readonly ChunkingOptions["splitter"][] = ["recursive", "markdown"];

/** Whether `value` is a whole number of at least `least`. */
function isCount(value: unknown, least: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= least;
}

/**
 * embeddings.targets.chunking as the worker's options: null for a whole-row target. The engine
 * validates it on registration; anything else here is an error naming what is wrong, never a guess.
 */
export function parseChunking(value: unknown): ChunkingOptions | null {
  if (value === null || value === undefined) return null;
  const held = value as Partial<Record<keyof ChunkingOptions, unknown>>;
  const { unit, size, overlap, splitter } = held;
  if (
    typeof value !== "object" || !units.includes(unit as ChunkingOptions["unit"]) ||
    !splitters.includes(splitter as ChunkingOptions["splitter"]) || !isCount(size, 1) ||
    !isCount(overlap, 0) || overlap >= size
  ) {
    throw new Error(
      `the target's chunking ${
        JSON.stringify(value)
      } is not {"unit": "characters"|"tokens", "size": n > 0, "overlap": 0 <= m < n, "splitter": "recursive"|"markdown"}`,
    );
  }
  return {
    unit: unit as ChunkingOptions["unit"],
    size,
    overlap,
    splitter: splitter as ChunkingOptions["splitter"],
  };
}

/** How a chunk is measured in `unit`: characters as String.length, tokens as request sizing estimates them. */
export function measureFor(unit: ChunkingOptions["unit"]): TextMeasure {
  return unit === "tokens" ? estimateTokens : (text) => text.length;
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
