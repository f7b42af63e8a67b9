// Builds the embedding provider the settings name.
import type { EmbeddingProvider } from "./embedding_provider.ts";
import { GteSmallProvider } from "./gte_small_provider.ts";
import { OpenAiCompatibleProvider } from "./openai_compatible_provider.ts";
import type { ProviderSettings } from "./provider_settings.ts";

export async function createProvider(settings: ProviderSettings): Promise<EmbeddingProvider> {
  switch (settings.provider) {
    case "gte-small":
      return new GteSmallProvider();
    case "openai":
      if (!settings.openai.apiKey && settings.openai.baseUrl.startsWith("https://api.openai.com")) {
        throw new Error("EMBEDDING_PROVIDER=openai needs OPENAI_API_KEY for api.openai.com");
      }
      return new OpenAiCompatibleProvider({ ...settings.openai, requestBatchSize: 256 });
    case "local": {
      // Loaded only when chosen: the model is large and has no use on Supabase.
      const { LocalSentenceEncoderProvider } = await import(
        "./local_sentence_encoder_provider.ts"
      );
      return new LocalSentenceEncoderProvider(384);
    }
  }
}
