// Who is calling: a secret or publishable API key (compared in constant time), or a JWT whose signature verifies (JWKS, or the legacy HS256 secret) and whose claims hold.
//
// The legacy service_role and anon keys hold only while EMBEDDINGS_ACCEPT_LEGACY_KEYS says so (off
// by default once the project has secret keys): hosted projects keep their variables after the
// keys are disabled, so the variables prove nothing. JWTs need `exp`; `nbf` and `iat` may not lie
// in the future; a user's token needs `aud` authenticated and, where SUPABASE_URL is known, the
// project's Auth as `iss`. Each refusal has its own sentence.
//
// Written with jose rather than on npm @supabase/server: that package's `verifyCredentials`
// (public beta) does the same checks, but it pulls supabase-js into the function's bundle, has no
// mode for the legacy service_role JWT passed as an apikey (which the scheduled dispatch may
// still hold in Vault), and folds expired and badly signed tokens into one error; we answer each
// case with its own status and sentence. The conventions are Supabase's: API keys travel in the
// `apikey` header (an `sb_` key in `Authorization: Bearer` is read as a key too), user and legacy
// keys as JWTs in `Authorization: Bearer`.
import { timingSafeEqual } from "node:crypto";
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from "npm:jose@6.1.0";

/** The keys a function can check callers against: what the platform injects into its environment. */
export interface CredentialKeys {
  /** SUPABASE_SECRET_KEYS' values (`sb_secret_...`). */
  secretKeys: readonly string[];
  /** SUPABASE_PUBLISHABLE_KEYS' values (`sb_publishable_...`). */
  publishableKeys: readonly string[];
  /** SUPABASE_JWKS: the public keys that sign user JWTs (ES256 and others). */
  jwks: JSONWebKeySet | undefined;
  /** SUPABASE_JWT_SECRET, where the project still has the legacy HS256 secret. */
  legacyJwtSecret: string | undefined;
  /** SUPABASE_SERVICE_ROLE_KEY and SUPABASE_ANON_KEY: the legacy keys, known as they are. */
  legacyServiceRoleKey: string | undefined;
  legacyAnonKey: string | undefined;
  /**
   * EMBEDDINGS_ACCEPT_LEGACY_KEYS: whether the legacy service_role and anon keys (and any HS256 JWT
   * of those roles) still hold. Hosted projects keep the legacy variables after the keys are
   * disabled in the dashboard, so their presence proves nothing; users' HS256 session tokens
   * (role authenticated) are not legacy keys and hold either way.
   */
  acceptLegacyKeys: boolean;
  /** SUPABASE_URL + '/auth/v1', what Supabase Auth writes in `iss`; undefined when unknown. */
  expectedIssuer: string | undefined;
}

/** The setting that keeps the legacy keys working; documented in docs/security.md. */
export const acceptLegacyKeysSetting = "EMBEDDINGS_ACCEPT_LEGACY_KEYS";

/** How far a JWT's nbf and iat may lie in the future: the issuer's clock may run a little ahead. */
export const clockSkewSeconds = 30;

/** A caller whose credential held. `claims` are the verified JWT's, or none for an API key. */
export interface Caller {
  credential:
    | "secret key"
    | "publishable key"
    | "legacy service_role key"
    | "legacy anon key"
    | "JWT";
  /** The Postgres role the credential stands for: service_role, anon, authenticated... */
  role: string;
  claims: JWTPayload;
}

export type CallerCheck =
  | { ok: true; caller: Caller }
  | { ok: false; status: 401; error: string };

function sameSecret(candidate: string, known: string): boolean {
  const a = new TextEncoder().encode(candidate);
  const b = new TextEncoder().encode(known);
  // Unequal lengths cannot match; comparing a against itself keeps the time independent of b.
  return a.length === b.length ? timingSafeEqual(a, b) : !timingSafeEqual(a, a);
}

function matchesAny(candidate: string, keys: readonly string[]): boolean {
  let matched = false;
  for (const key of keys) matched = sameSecret(candidate, key) || matched;
  return matched;
}

function refused(error: string): CallerCheck {
  return { ok: false, status: 401, error };
}

const legacyKeysOff =
  "legacy API keys (the anon and service_role JWTs) are turned off for this project: use a secret key (sb_secret_...) or a publishable key (sb_publishable_...)";

function hasAudience(payload: JWTPayload, audience: string): boolean {
  return Array.isArray(payload.aud) ? payload.aud.includes(audience) : payload.aud === audience;
}

/** What jose leaves to us: iat in the future, and a user token's audience and issuer. */
function claimsProblem(payload: JWTPayload, role: string, keys: CredentialKeys): string | null {
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat === "number" && payload.iat > now + clockSkewSeconds) {
    return "the JWT says it was issued in the future (iat): check the issuer's clock";
  }
  if (role !== "authenticated") return null;
  if (!hasAudience(payload, "authenticated")) {
    return 'the JWT\'s audience (aud) is not "authenticated": it was issued for another service';
  }
  if (keys.expectedIssuer !== undefined && payload.iss !== keys.expectedIssuer) {
    return "the JWT was issued by another project or service (iss)";
  }
  return null;
}

/** jose's refusal of a claim, in a sentence of its own; null for a bad signature. */
function claimRefusal(error: unknown): string | null {
  if (error instanceof joseErrors.JWTExpired) return "the JWT has expired";
  if (!(error instanceof joseErrors.JWTClaimValidationFailed)) return null;
  if (error.claim === "exp") {
    return "the JWT has no expiry (exp): only tokens that expire are accepted";
  }
  if (error.claim === "nbf") return "the JWT is not valid yet (nbf is in the future)";
  return `the JWT's ${error.claim} claim is invalid`;
}

async function verifyJwt(token: string, keys: CredentialKeys): Promise<CallerCheck> {
  let algorithm: string | undefined;
  try {
    algorithm = decodeProtectedHeader(token).alg;
  } catch {
    return refused("the credential is neither an API key nor a well-formed JWT");
  }
  if (!algorithm || algorithm === "none") {
    return refused("the JWT is unsigned (alg none): only signed JWTs are accepted");
  }
  try {
    let payload: JWTPayload;
    if (algorithm === "HS256") {
      if (!keys.legacyJwtSecret) {
        return refused(
          "the JWT is signed with a shared secret (HS256), which this project does not accept",
        );
      }
      ({ payload } = await jwtVerify(token, new TextEncoder().encode(keys.legacyJwtSecret), {
        algorithms: ["HS256"],
        requiredClaims: ["exp"],
        clockTolerance: clockSkewSeconds,
      }));
    } else {
      if (!keys.jwks) {
        return refused("no signing keys (SUPABASE_JWKS) are configured to verify the JWT");
      }
      ({ payload } = await jwtVerify(token, createLocalJWKSet(keys.jwks), {
        algorithms: ["ES256", "RS256", "EdDSA"],
        requiredClaims: ["exp"],
        clockTolerance: clockSkewSeconds,
      }));
    }
    const role = typeof payload.role === "string" ? payload.role : "";
    if (!role) return refused("the JWT has no role claim");
    // An HS256 token of a key's role is a legacy key in all but its bytes.
    const legacyKey = algorithm === "HS256" && (role === "service_role" || role === "anon");
    if (legacyKey && !keys.acceptLegacyKeys) return refused(legacyKeysOff);
    const problem = claimsProblem(payload, role, keys);
    if (problem) return refused(problem);
    return { ok: true, caller: { credential: "JWT", role, claims: payload } };
  } catch (error) {
    return refused(
      claimRefusal(error) ?? "the JWT's signature does not verify against this project's keys",
    );
  }
}

/**
 * Identifies the caller of a request. A JWT in `Authorization: Bearer` decides who the caller is
 * (supabase-js sends the publishable key beside a signed-in user's token); otherwise the API key
 * in `apikey`, or an `sb_` key sent as a Bearer value.
 */
export async function identifyCaller(headers: Headers, keys: CredentialKeys): Promise<CallerCheck> {
  const authorization = headers.get("authorization");
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] ?? null;
  if (authorization !== null && bearer === null) {
    return refused("the Authorization header must be `Bearer <token>`");
  }
  const apikey = headers.get("apikey")?.trim() || null;
  const bearerIsJwt = bearer !== null && !bearer.startsWith("sb_");
  const credential = bearerIsJwt ? bearer : (apikey ?? bearer);
  if (credential === null) {
    return refused(
      "no credential: send an API key in the apikey header, or a JWT as Authorization: Bearer <token>",
    );
  }
  if (credential.startsWith("sb_secret_")) {
    return matchesAny(credential, keys.secretKeys)
      ? { ok: true, caller: { credential: "secret key", role: "service_role", claims: {} } }
      : refused("the secret key is not one of this project's");
  }
  if (credential.startsWith("sb_publishable_")) {
    return matchesAny(credential, keys.publishableKeys)
      ? { ok: true, caller: { credential: "publishable key", role: "anon", claims: {} } }
      : refused("the publishable key is not one of this project's");
  }
  if (credential.startsWith("sb_")) return refused("the API key is not one this project issues");
  // The legacy keys are JWTs too, but a project may no longer hold the secret that signed them.
  const legacyService = keys.legacyServiceRoleKey !== undefined &&
    sameSecret(credential, keys.legacyServiceRoleKey);
  const legacyAnon = keys.legacyAnonKey !== undefined && sameSecret(credential, keys.legacyAnonKey);
  if ((legacyService || legacyAnon) && !keys.acceptLegacyKeys) return refused(legacyKeysOff);
  if (legacyService) {
    return {
      ok: true,
      caller: { credential: "legacy service_role key", role: "service_role", claims: {} },
    };
  }
  if (legacyAnon) {
    return { ok: true, caller: { credential: "legacy anon key", role: "anon", claims: {} } };
  }
  return await verifyJwt(credential, keys);
}

/**
 * The kinds of credential that run as service_role here (the embed function reports them, doctor
 * shows them): what an operator checks after turning the legacy keys off.
 */
export function acceptedServiceCredentials(keys: CredentialKeys): string[] {
  const kinds: string[] = [];
  if (keys.secretKeys.length > 0) kinds.push("secret key");
  if (keys.jwks !== undefined) kinds.push("service_role JWT (signing keys)");
  if (keys.acceptLegacyKeys && keys.legacyServiceRoleKey !== undefined) {
    kinds.push("legacy service_role key");
  }
  if (keys.acceptLegacyKeys && keys.legacyJwtSecret !== undefined) {
    kinds.push("service_role JWT (legacy HS256 secret)");
  }
  return kinds;
}

/** EMBEDDINGS_ACCEPT_LEGACY_KEYS: true or false; unset means off once the project has secret keys. */
function readAcceptLegacyKeys(
  env: Readonly<Record<string, string | undefined>>,
  hasSecretKeys: boolean,
): boolean {
  const raw = env[acceptLegacyKeysSetting]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return !hasSecretKeys;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new Error(
    `${acceptLegacyKeysSetting} must be true or false; got ${
      JSON.stringify(env[acceptLegacyKeysSetting])
    }`,
  );
}

/** Reads the keys from a function's environment; a malformed JSON map is an error that names it. */
export function readCredentialKeys(
  env: Readonly<Record<string, string | undefined>>,
): CredentialKeys {
  const keyValues = (name: string): string[] => {
    const raw = env[name];
    if (!raw) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new Error(`${name} must be a JSON object of key names to keys`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error(`${name} must be a JSON object of key names to keys`);
    }
    return Object.values(parsed).filter((value): value is string => typeof value === "string");
  };
  let jwks: JSONWebKeySet | undefined;
  if (env.SUPABASE_JWKS) {
    try {
      jwks = JSON.parse(env.SUPABASE_JWKS) as JSONWebKeySet;
    } catch {
      throw new Error('SUPABASE_JWKS must be a JSON Web Key Set ({"keys": [...]})');
    }
    if (!Array.isArray(jwks?.keys)) {
      throw new Error('SUPABASE_JWKS must be a JSON Web Key Set ({"keys": [...]})');
    }
  }
  const secretKeys = keyValues("SUPABASE_SECRET_KEYS");
  const projectUrl = env.SUPABASE_URL?.trim().replace(/\/+$/, "");
  return {
    secretKeys,
    publishableKeys: keyValues("SUPABASE_PUBLISHABLE_KEYS"),
    jwks,
    legacyJwtSecret: env.SUPABASE_JWT_SECRET || undefined,
    legacyServiceRoleKey: env.SUPABASE_SERVICE_ROLE_KEY || undefined,
    legacyAnonKey: env.SUPABASE_ANON_KEY || undefined,
    acceptLegacyKeys: readAcceptLegacyKeys(env, secretKeys.length > 0),
    expectedIssuer: projectUrl ? `${projectUrl}/auth/v1` : undefined,
  };
}
