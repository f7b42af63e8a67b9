// Reads the embed function's configuration from its environment, once, and says exactly what is wrong with it.
import { type ProviderName, providerNames } from "./providers/embedding_provider.ts";
import { openAiRequestLimits } from "./providers/openai_compatible_provider.ts";
import type { ProviderSettings } from "./providers/provider_settings.ts";

export interface EmbedConfig {
  /** Postgres connection string (SUPABASE_DB_URL on Supabase). */
  databaseUrl: string;
  /**
   * Every provider a run routes targets to, in the order named: EMBEDDING_PROVIDERS, else
   * EMBEDDING_PROVIDER, else the default for where the code runs.
   */
  providers: readonly ProviderName[];
  /** The first of `providers` with the OPENAI_* settings (OPENAI_TIMEOUT_MS and the per-request limits among them). */
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

/** Splits a list of provider names at commas or white space. */
export function splitProviderNames(text: string): string[] {
  return text.split(/[\s,]+/).filter((name) => name !== "");
}

/** Checks each name and drops repeats; throws naming the setting and the allowed names. */
export function checkProviderNames(names: readonly string[], setting: string): ProviderName[] {
  const checked: ProviderName[] = [];
  for (const name of names) {
    if (!(providerNames as readonly string[]).includes(name)) {
      throw new ConfigError(
        `${setting} must be one of ${providerNames.join(", ")} (or a list of them); got ${
          JSON.stringify(name)
        }`,
      );
    }
    if (!checked.includes(name as ProviderName)) checked.push(name as ProviderName);
  }
  if (checked.length === 0) throw new ConfigError(`${setting} names no provider`);
  return checked;
}

/**
 * EMBEDDING_PROVIDERS (a list) or EMBEDDING_PROVIDER (one name, the older setting); both set is
 * an error unless they agree. Neither: gte-small on Supabase, local elsewhere.
 */
function readProviderNames(env: Environment, onSupabase: boolean): ProviderName[] {
  const list = env.EMBEDDING_PROVIDERS?.trim() ?? "";
  const one = env.EMBEDDING_PROVIDER?.trim() ?? "";
  if (list !== "" && one !== "" && splitProviderNames(list).join(",") !== one) {
    throw new ConfigError(
      `EMBEDDING_PROVIDERS=${JSON.stringify(list)} and EMBEDDING_PROVIDER=${
        JSON.stringify(one)
      } disagree: set EMBEDDING_PROVIDERS alone`,
    );
  }
  if (list !== "") return checkProviderNames(splitProviderNames(list), "EMBEDDING_PROVIDERS");
  if (one !== "") return checkProviderNames([one], "EMBEDDING_PROVIDER");
  return [onSupabase ? "gte-small" : "local"];
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
  const providers = readProviderNames(env, onSupabase);
  return {
    databaseUrl,
    providers,
    providerSettings: {
      provider: providers[0],
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
