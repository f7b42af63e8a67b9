// The model each named provider makes, known from its settings alone: no provider is built to find it out.
import type { ProviderName } from "./embedding_provider.ts";
import type { OpenAiSettings } from "./provider_settings.ts";

/** A model and the length of its vectors: what a target's registration and a provider must agree on. */
export interface ModelIdentity {
  model: string;
  dimensions: number;
}

/** What the named provider makes; the local models' names follow local_sentence_encoder_provider.ts. */
export function servedModel(name: ProviderName, openai: OpenAiSettings): ModelIdentity {
  switch (name) {
    case "gte-small":
      return { model: "gte-small", dimensions: 384 };
    case "openai":
      return { model: openai.model, dimensions: openai.dimensions };
    case "local":
      return { model: "universal-sentence-encoder-lite-384", dimensions: 384 };
    case "local-512":
      return { model: "universal-sentence-encoder-lite-512", dimensions: 512 };
  }
}

/** The key a model is looked up by: its name and its size, since both must match. */
export function modelKey(identity: ModelIdentity): string {
  return `${identity.model} (${identity.dimensions} dimensions)`;
}
