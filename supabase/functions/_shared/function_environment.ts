// A function's environment, read once at start-up: the engine's configuration and the keys callers are checked against, each with what is wrong with it.
import { type CredentialKeys, readCredentialKeys } from "./caller_credentials.ts";
import { type EmbedConfig, readEmbedConfig } from "./embed_config.ts";
import { errorMessage } from "./error_message.ts";
import { supabaseAiRuntime } from "./providers/gte_small_provider.ts";

/**
 * Any part may be missing; what is wrong with it is logged at start-up, and every request that
 * needs it gets a 500 that points at the log.
 */
export interface FunctionEnvironment<Extra = undefined> {
  config: EmbedConfig | undefined;
  configError: string | undefined;
  credentialKeys: CredentialKeys | undefined;
  credentialError: string | undefined;
  /** A function's own settings (the search's limits), read by the reader it passes. */
  extra: Extra | undefined;
  extraError: string | undefined;
}

/** Reads Deno.env once; what is wrong is also logged under the function's name. */
export function readFunctionEnvironment<Extra = undefined>(
  functionName: string,
  readExtra?: (env: Record<string, string>) => Extra,
): FunctionEnvironment<Extra> {
  const env = Deno.env.toObject();
  const read: FunctionEnvironment<Extra> = {
    config: undefined,
    configError: undefined,
    credentialKeys: undefined,
    credentialError: undefined,
    extra: undefined,
    extraError: undefined,
  };
  try {
    read.config = readEmbedConfig(env, supabaseAiRuntime() !== undefined);
  } catch (error) {
    read.configError = errorMessage(error);
    console.error(`${functionName}: ${read.configError}`);
  }
  try {
    read.credentialKeys = readCredentialKeys(env);
  } catch (error) {
    read.credentialError = errorMessage(error);
    console.error(`${functionName}: ${read.credentialError}`);
  }
  try {
    read.extra = readExtra?.(env);
  } catch (error) {
    read.extraError = errorMessage(error);
    console.error(`${functionName}: ${read.extraError}`);
  }
  return read;
}
