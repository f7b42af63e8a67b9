// Reads the embed function's configuration from its environment, once, and says exactly what is wrong with it.
import { type ProviderName, providerNames } from "./providers/embedding_provider.ts";
import { openAiRequestLimits } from "./providers/openai_compatible_provider.ts";
import type { ProviderSettings } from "./providers/provider_settings.ts";

export interface EmbedConfig {
  /** Postgres connection string (SUPABASE_DB_URL on Supabase). */
  databaseUrl: string;
  /** EMBEDDING_PROVIDER (or the default for where the code runs) and the OPENAI_* settings (OPENAI_TIMEOUT_MS and the per-request limits among them). */
  providerSettings: ProviderSettings;
}

/** OPENAI_TIMEOUT_MS when unset: the longest wait for one request's answer. */
export const defaultOpenAiTimeoutMs = 30_000;

export type Environment = Readonly<Record<string, string | undefined>>;

class ConfigError extends Error {
  override name = "ConfigError";
}

function positiveInteger(env: Environment, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * Reads configuration from an environment (Deno.env.toObject() in the function).
 * `onSupabase` says whether Supabase.ai is available, which makes gte-small the default.
 */
export function readEmbedConfig(env: Environment, onSupabase: boolean): EmbedConfig {
  const databaseUrl = env.SUPABASE_DB_URL;
  if (!databaseUrl) {
    throw new ConfigError("SUPABASE_DB_URL is not set: the embed function needs the database URL");
  }
  const requested = env.EMBEDDING_PROVIDER?.trim();
  const provider = requested || (onSupabase ? "gte-small" : "local");
  if (!(providerNames as readonly string[]).includes(provider)) {
    throw new ConfigError(
      `EMBEDDING_PROVIDER must be one of ${providerNames.join(", ")}; got ${
        JSON.stringify(provider)
      }`,
    );
  }
  return {
    databaseUrl,
    providerSettings: {
      provider: provider as ProviderName,
      openai: {
        baseUrl: env.OPENAI_BASE_URL || "https://api.openai.com/v1",
        apiKey: env.OPENAI_API_KEY || undefined,
        model: env.OPENAI_EMBEDDING_MODEL || "text-embedding-3-small",
        dimensions: positiveInteger(env, "OPENAI_EMBEDDING_DIMENSIONS", 384),
        timeoutMs: positiveInteger(env, "OPENAI_TIMEOUT_MS", defaultOpenAiTimeoutMs),
        requestLimits: {
          maxInputs: positiveInteger(
            env,
            "OPENAI_MAX_INPUTS_PER_REQUEST",
            openAiRequestLimits.maxInputs,
          ),
          maxTokens: positiveInteger(
            env,
            "OPENAI_MAX_TOKENS_PER_REQUEST",
            openAiRequestLimits.maxTokens,
          ),
        },
      },
    },
  };
}
