// Who is searching: the adapter from a request's credential to the Postgres role and JWT claims the search runs as, the only place the search reads credentials.
//
// The credential is checked by the shared caller_credentials module (publishable and secret keys
// in constant time, users' JWTs against the JWKS or the legacy HS256 secret, the legacy anon and
// service_role keys); this adapter only decides which of those callers may search, and as what.
import { type CredentialKeys, identifyCaller } from "../caller_credentials.ts";

/** The roles a search may run as; RLS decides what each sees (service_role bypasses it). */
export const searchRoles = ["anon", "authenticated", "service_role"] as const;
export type SearchRole = typeof searchRoles[number];

/** An already-verified caller: the Postgres role to search as and the JWT claims RLS reads. */
export interface SearchCaller {
  role: SearchRole;
  claims: Record<string, unknown>;
}

export type SearchCallerCheck =
  | { ok: true; caller: SearchCaller }
  | { ok: false; status: 401 | 403; error: string };

function isSearchRole(role: unknown): role is SearchRole {
  return typeof role === "string" && (searchRoles as readonly string[]).includes(role);
}

/**
 * The caller of a request, or why it may not search: 401 when no credential holds, 403 for a
 * credential of another role. An API key has no claims of its own: it gets {"role": <role>}, as
 * PostgREST gives the anon key's.
 */
export async function identifySearchCaller(
  headers: Headers,
  keys: CredentialKeys,
): Promise<SearchCallerCheck> {
  const check = await identifyCaller(headers, keys);
  if (!check.ok) {
    return {
      ok: false,
      status: 401,
      error: `${check.error}; search needs the anon or publishable key, or a signed-in user's JWT`,
    };
  }
  const { role, claims } = check.caller;
  if (!isSearchRole(role)) {
    return {
      ok: false,
      status: 403,
      error:
        `search runs as anon, authenticated or service_role; this ${check.caller.credential} is for the role ${
          JSON.stringify(role)
        }`,
    };
  }
  return { ok: true, caller: { role, claims: { ...claims, role } } };
}
