// What the platform gives every Edge Function's process (LOCAL STAND-IN): the variables Supabase injects, and what Deno itself needs, for the local gateway and for benchmarks that start a function themselves.
import { apiKey, localJwks, publishableKey, secretKey } from "./api_keys.ts";
import { apiUrl, databaseUrl as localDatabaseUrl, jwtSecret } from "./local_stack_settings.ts";

/** Variables of this shell a function's Deno process needs to run at all. */
const denoVariables = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "NPM_CONFIG_REGISTRY"];

/** The variables Supabase injects into a hosted function, for a process listening on `port`. */
export async function platformEnvironment(
  port: number,
  databaseUrl: string = localDatabaseUrl,
): Promise<Record<string, string>> {
  const inherited: Record<string, string> = {};
  for (const key of denoVariables) {
    const value = Deno.env.get(key);
    if (value !== undefined) inherited[key] = value;
  }
  return {
    ...inherited,
    SUPABASE_URL: apiUrl,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: publishableKey }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: secretKey }),
    SUPABASE_JWKS: JSON.stringify(await localJwks()),
    // Deprecated on the platform, still injected: the legacy keys and their HS256 secret.
    SUPABASE_ANON_KEY: await apiKey("anon"),
    SUPABASE_SERVICE_ROLE_KEY: await apiKey("service_role"),
    SUPABASE_JWT_SECRET: jwtSecret,
    SUPABASE_DB_URL: databaseUrl,
    DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}`,
  };
}
