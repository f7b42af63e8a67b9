// Which provider a command embeds with: the one the embed function would build from this environment (EMBEDDING_PROVIDER, OPENAI_*), --provider taking precedence; or the stand-in, for measurements.
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import { readEmbedConfig } from "../../supabase/functions/_shared/embed_config.ts";
import { createProvider } from "../../supabase/functions/_shared/providers/create_provider.ts";
import {
  type EmbeddingProvider,
  providerNames,
} from "../../supabase/functions/_shared/providers/embedding_provider.ts";
import type { ProviderSettings } from "../../supabase/functions/_shared/providers/provider_settings.ts";
import { CliFailure } from "./exit_codes.ts";
import { MissingDependencyError, missingPackageOf } from "./missing_dependency.ts";
import { StandInProvider } from "./stand_in_provider.ts";

/** Not in --help: a measurement aid, only for targets registered with its model (stand_in_provider.ts). */
const standInProviderName = "stand-in";
export const providerChoices: readonly string[] = [...providerNames, standInProviderName];

/** Plain data, so it can be handed to a Web Worker. */
export type ProviderSpec =
  | { kind: "configured"; settings: ProviderSettings }
  | { kind: "stand-in"; dimensions: number };

export const providerHelp =
  "the embedding provider (default: EMBEDDING_PROVIDER, else local off Supabase; OPENAI_* configure openai)";

/**
 * The provider settings the embed function would read from this environment (EMBEDDING_PROVIDER
 * and OPENAI_*), with the --provider flag taking precedence; throws on a bad setting.
 */
export function configuredSettings(
  flag: string | undefined,
  databaseUrl: string,
  environment: Readonly<Record<string, string | undefined>>,
): ProviderSettings {
  return readEmbedConfig({
    ...environment,
    SUPABASE_DB_URL: databaseUrl,
    ...(flag ? { EMBEDDING_PROVIDER: flag } : {}),
  }, false).providerSettings;
}

/** Reads the provider settings once, from the environment and the flag; a bad setting is a usage error. */
export function chooseProvider(
  flag: string | undefined,
  databaseUrl: string,
  environment: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): ProviderSpec {
  if (flag === standInProviderName) return { kind: "stand-in", dimensions: 384 };
  try {
    return { kind: "configured", settings: configuredSettings(flag, databaseUrl, environment) };
  } catch (error) {
    throw new CliFailure(errorMessage(error));
  }
}

export async function buildProvider(spec: ProviderSpec): Promise<EmbeddingProvider> {
  if (spec.kind === "stand-in") return new StandInProvider(spec.dimensions);
  try {
    return await createProvider(spec.settings);
  } catch (error) {
    const missing = missingPackageOf(error);
    if (missing !== null) {
      throw new MissingDependencyError(missing, `The ${spec.settings.provider} provider`);
    }
    throw new CliFailure(
      `the ${spec.settings.provider} provider could not be set up: ${errorMessage(error)}`,
    );
  }
}
