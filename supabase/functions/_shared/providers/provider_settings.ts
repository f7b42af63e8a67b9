// What building an embedding provider needs to know: which provider, and the OpenAI-compatible endpoint's settings.
import type { ProviderName } from "./embedding_provider.ts";

export interface OpenAiSettings {
  baseUrl: string;
  apiKey: string | undefined;
  model: string;
  dimensions: number;
  /** Longest wait for one request's answer (OPENAI_TIMEOUT_MS); the run's budget may cut it shorter. */
  timeoutMs: number;
}

export interface ProviderSettings {
  provider: ProviderName;
  /** Used only when `provider` is "openai". */
  openai: OpenAiSettings;
}
