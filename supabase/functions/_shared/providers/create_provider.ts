// Builds the embedding provider the configuration names.
import type { EmbedConfig } from "../embed_config.ts";
import type { EmbeddingProvider } from "./embedding_provider.ts";
import { GteSmallProvider } from "./gte_small_provider.ts";
import { OpenAiCompatibleProvider } from "./openai_compatible_provider.ts";

export async function createProvider(config: EmbedConfig): Promise<EmbeddingProvider> {
  switch (config.provider) {
    case "gte-small":
      return new GteSmallProvider();
    case "openai":
      if (!config.openai.apiKey && config.openai.baseUrl.startsWith("https://api.openai.com")) {
        throw new Error("EMBEDDING_PROVIDER=openai needs OPENAI_API_KEY for api.openai.com");
      }
      return new OpenAiCompatibleProvider({
        ...config.openai,
        requestBatchSize: 256,
        timeoutMs: 30_000,
      });
    case "local": {
      // Loaded only when chosen: the model is large and has no use on Supabase.
      const { LocalSentenceEncoderProvider } = await import(
        "./local_sentence_encoder_provider.ts"
      );
      return new LocalSentenceEncoderProvider(384);
    }
  }
}
