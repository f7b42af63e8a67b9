// What building an embedding provider needs to know: which provider, and the OpenAI-compatible endpoint's settings.
import type { ProviderName } from "./embedding_provider.ts";
import type { RequestLimits } from "./request_limits.ts";

export interface OpenAiSettings {
  baseUrl: string;
  apiKey: string | undefined;
  model: string;
  dimensions: number;
  /** Longest wait for one request's answer (OPENAI_TIMEOUT_MS); the run's budget may cut it shorter. */
  timeoutMs: number;
  /**
   * The most one request may hold (OPENAI_MAX_INPUTS_PER_REQUEST, OPENAI_MAX_TOKENS_PER_REQUEST);
   * OpenAI's own when not given.
   */
  requestLimits?: RequestLimits;
}

export interface ProviderSettings {
  provider: ProviderName;
  /** Used only when `provider` is "openai". */
  openai: OpenAiSettings;
}
