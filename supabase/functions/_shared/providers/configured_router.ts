// The router of the providers a configuration names: each entry knows its model from the settings and builds its provider only when asked.
import type { ProviderName } from "./embedding_provider.ts";
import { createProvider } from "./create_provider.ts";
import type { EmbeddingProvider } from "./embedding_provider.ts";
import type { OpenAiSettings, ProviderSettings } from "./provider_settings.ts";
import { ProviderRouter } from "./provider_router.ts";
import { servedModel } from "./served_model.ts";

export type ProviderFactory = (settings: ProviderSettings) => Promise<EmbeddingProvider>;

/** Throws when two of the providers make the same model. */
export function configuredRouter(
  names: readonly ProviderName[],
  openai: OpenAiSettings,
  create: ProviderFactory = createProvider,
): ProviderRouter {
  return new ProviderRouter(names.map((name) => ({
    name,
    ...servedModel(name, openai),
    build: () => create({ provider: name, openai }),
  })));
}
