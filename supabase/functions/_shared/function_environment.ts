// A function's environment, read once at start-up: the engine's configuration and the keys callers are checked against, each with what is wrong with it.
import { type CredentialKeys, readCredentialKeys } from "./caller_credentials.ts";
import { type EmbedConfig, readEmbedConfig } from "./embed_config.ts";
import { errorMessage } from "./error_message.ts";
import { supabaseAiRuntime } from "./providers/gte_small_provider.ts";

/** Either part may be missing; its error is then answered (500) to every request that needs it. */
export interface FunctionEnvironment {
  config: EmbedConfig | undefined;
  configError: string | undefined;
  credentialKeys: CredentialKeys | undefined;
  credentialError: string | undefined;
}

/** Reads Deno.env once; what is wrong is also logged under the function's name. */
export function readFunctionEnvironment(functionName: string): FunctionEnvironment {
  const env = Deno.env.toObject();
  const read: FunctionEnvironment = {
    config: undefined,
    configError: undefined,
    credentialKeys: undefined,
    credentialError: undefined,
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
  return read;
}
