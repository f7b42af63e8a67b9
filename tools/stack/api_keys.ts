// The local stack's credentials, as `supabase start` issues them today: a publishable and a secret key, an ES256 signing key published as a JWKS, and the legacy HS256 anon/service_role keys.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK, SignJWT } from "jose";
import { apiUrl, jwtSecret, signingKeyFile } from "./local_stack_settings.ts";

/** The expiry Supabase's local keys carry (2032-11-12). */
const localKeyExpiry = 1983812996;

/** The keys `supabase start` prints for every local project (they are not secrets). */
export const publishableKey = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";
export const secretKey = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";

export type ApiRole = "anon" | "service_role";

/** A legacy-style JWT signed with the local HS256 secret (or another secret, to forge one). */
export function signLocalJwt(
  claims: Record<string, unknown>,
  options: { secret?: string; expiresAt?: number } = {},
): Promise<string> {
  const secret = new TextEncoder().encode(options.secret ?? jwtSecret);
  // Claim order matches Supabase's local keys, so the same keys come out byte for byte.
  return new SignJWT({ iss: "supabase-demo", ...claims, exp: options.expiresAt ?? localKeyExpiry })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(secret);
}

/**
 * A user's session token signed with the legacy HS256 secret, as Supabase Auth signs them on
 * projects that have not moved to signing keys: audience, issuer and expiry as Auth writes them.
 */
export function signLegacyUserJwt(claims: Record<string, unknown>): Promise<string> {
  return signLocalJwt({
    iss: `${apiUrl}/auth/v1`,
    aud: "authenticated",
    role: "authenticated",
    ...claims,
  }, {
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
  });
}

/** The legacy anon / service_role key (an HS256 JWT), byte for byte those of `supabase start`. */
export function apiKey(role: ApiRole): Promise<string> {
  return signLocalJwt({ role });
}

/**
 * The stack's ES256 signing key as a private JWK: made once, kept in .local/, so tokens signed
 * before a restart still verify after it.
 */
async function signingKey(): Promise<JWK> {
  if (existsSync(signingKeyFile)) return JSON.parse(readFileSync(signingKeyFile, "utf8")) as JWK;
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = {
    ...await exportJWK(privateKey),
    alg: "ES256",
    use: "sig",
    kid: crypto.randomUUID(),
  };
  mkdirSync(dirname(signingKeyFile), { recursive: true });
  writeFileSync(signingKeyFile, JSON.stringify(jwk), { mode: 0o600 });
  return jwk;
}

/** The public half of the signing key, as the gateway serves it at /auth/v1/.well-known/jwks.json. */
export async function localJwks(): Promise<JSONWebKeySet> {
  const { d: _private, ...publicKey } = await signingKey();
  return { keys: [publicKey] };
}

/** A JWT signed with the stack's ES256 key, as Supabase Auth signs users' tokens today. */
export async function signUserJwt(
  claims: Record<string, unknown>,
  options: { expiresAt?: number } = {},
): Promise<string> {
  const jwk = await signingKey();
  const key = await importJWK(jwk, "ES256");
  return new SignJWT({ iss: `${apiUrl}/auth/v1`, aud: "authenticated", ...claims })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: jwk.kid })
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 3600)
    .sign(key);
}
