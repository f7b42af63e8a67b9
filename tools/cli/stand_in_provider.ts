// A stand-in provider for measuring the database side of a backfill: deterministic unit vectors from a hash of each text, in microseconds, under its own model name.
//
// Its model, stand-in-hash-<dimensions>, is no real model's, so the worker refuses every target
// not registered with it: it can only ever fill a table made for the measurement.
import type { EmbeddingProvider } from "../../supabase/functions/_shared/providers/embedding_provider.ts";
import { mulberry32 } from "../../supabase/functions/_shared/providers/seeded_projection.ts";

const standInModelPrefix = "stand-in-hash";

/** FNV-1a over the text's UTF-16 code units. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193);
  }
  return value >>> 0;
}

/** A unit vector of centred mulberry32(seed) numbers: the same seed, the same vector, anywhere. */
export function seededUnitVector(seed: number, dimensions: number): number[] {
  const next = mulberry32(seed);
  const vector = Array.from({ length: dimensions }, () => next() - 0.5);
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}

/** The stand-in's vector for a text: its FNV-1a hash seeds seededUnitVector. */
export function textHashVector(text: string, dimensions: number): number[] {
  return seededUnitVector(hash(text), dimensions);
}

export class StandInProvider implements EmbeddingProvider {
  // EmbeddingProvider names only real providers; the model name says what this one is.
  readonly name = "local";
  readonly model: string;
  readonly dimensions: number;

  constructor(dimensions = 384) {
    this.dimensions = dimensions;
    this.model = `${standInModelPrefix}-${dimensions}`;
  }

  embed(texts: readonly string[]): Promise<number[][]> {
    return Promise.resolve(texts.map((text) => textHashVector(text, this.dimensions)));
  }
}
