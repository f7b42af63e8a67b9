// Decides whether a request may run the embed engine: only a service credential may (a secret key, the legacy service_role key, or a verified JWT of role service_role).
import { type CredentialKeys, identifyCaller } from "./caller_credentials.ts";

export type AuthorizationDecision =
  | { allowed: true }
  | { allowed: false; status: 401 | 403; error: string };

const expected =
  "the embed function needs a secret key (sb_secret_...) in the apikey header, or the legacy service_role key";

/** 401 when the credential is missing or does not hold; 403 when it holds for another role. */
export async function authorizeServiceRole(
  headers: Headers,
  keys: CredentialKeys,
): Promise<AuthorizationDecision> {
  const check = await identifyCaller(headers, keys);
  if (!check.ok) return { allowed: false, status: 401, error: `${check.error}; ${expected}` };
  if (check.caller.role !== "service_role") {
    return {
      allowed: false,
      status: 403,
      error: `${expected}; this ${check.caller.credential} is for the role ${
        JSON.stringify(check.caller.role)
      }`,
    };
  }
  return { allowed: true };
}
