// Which providers a command embeds with: the ones the embed function would route to from this environment (EMBEDDING_PROVIDERS or EMBEDDING_PROVIDER, OPENAI_*), --provider taking precedence; or the stand-in, for measurements.
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import { readEmbedConfig } from "../../supabase/functions/_shared/embed_config.ts";
import { configuredRouter } from "../../supabase/functions/_shared/providers/configured_router.ts";
import { createProvider } from "../../supabase/functions/_shared/providers/create_provider.ts";
import {
  type EmbeddingProvider,
  type ProviderName,
  providerNames,
} from "../../supabase/functions/_shared/providers/embedding_provider.ts";
import type {
  OpenAiSettings,
  ProviderSettings,
} from "../../supabase/functions/_shared/providers/provider_settings.ts";
import { ProviderRouter } from "../../supabase/functions/_shared/providers/provider_router.ts";
import { CliFailure } from "./exit_codes.ts";
import { MissingDependencyError, missingPackageOf } from "./missing_dependency.ts";
import { StandInProvider } from "./stand_in_provider.ts";

/** Not in --help: a measurement aid, only for targets registered with its model (stand_in_provider.ts). */
export const standInProviderName = "stand-in";
export const providerChoices: readonly string[] = [...providerNames, standInProviderName];

/** Plain data, so it can be handed to a Web Worker. */
export type ProviderSpec =
  | { kind: "configured"; providers: ProviderName[]; openai: OpenAiSettings }
  | { kind: "stand-in"; dimensions: number };

export const providerHelp =
  "the embedding providers, a comma-separated list; each target goes to the one that makes its model (default: EMBEDDING_PROVIDERS, else EMBEDDING_PROVIDER, else local off Supabase; OPENAI_* configure openai)";

/**
 * The providers the embed function would route to from this environment (EMBEDDING_PROVIDERS or
 * EMBEDDING_PROVIDER, and OPENAI_*), the --provider list taking precedence; throws on a bad setting.
 */
export function configuredProviders(
  flag: string | undefined,
  databaseUrl: string,
  environment: Readonly<Record<string, string | undefined>>,
): { providers: ProviderName[]; openai: OpenAiSettings } {
  const config = readEmbedConfig({
    ...environment,
    SUPABASE_DB_URL: databaseUrl,
    ...(flag ? { EMBEDDING_PROVIDERS: flag, EMBEDDING_PROVIDER: "" } : {}),
  }, false);
  return { providers: [...config.providers], openai: config.providerSettings.openai };
}

/** Reads the provider list once, from the environment and the flag; a bad setting is a usage error. */
export function chooseProvider(
  flag: string | undefined,
  databaseUrl: string,
  environment: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): ProviderSpec {
  if (flag === standInProviderName) return { kind: "stand-in", dimensions: 384 };
  try {
    const spec: ProviderSpec = {
      kind: "configured",
      ...configuredProviders(flag, databaseUrl, environment),
    };
    routerFor(spec);
    return spec;
  } catch (error) {
    throw new CliFailure(errorMessage(error));
  }
}

/** Builds one provider; an npm package missing from node_modules is said in one sentence. */
async function createForCli(settings: ProviderSettings): Promise<EmbeddingProvider> {
  try {
    return await createProvider(settings);
  } catch (error) {
    const missing = missingPackageOf(error);
    if (missing !== null) {
      throw new MissingDependencyError(missing, `The ${settings.provider} provider`);
    }
    throw error;
  }
}

/** The spec's router: no provider is built until a target of its model is worked. */
export function routerFor(spec: ProviderSpec): ProviderRouter {
  if (spec.kind === "stand-in") return ProviderRouter.of(new StandInProvider(spec.dimensions));
  return configuredRouter(spec.providers, spec.openai, createForCli);
}
