// The local anon and service_role API keys: HS256 JWTs signed with the local secret, as `supabase status` prints them.
import { SignJWT } from "jose";
import { jwtSecret } from "./local_stack_settings.ts";

/** The expiry Supabase's local keys carry (2032-11-12). */
const localKeyExpiry = 1983812996;

export type ApiRole = "anon" | "service_role";

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

export function apiKey(role: ApiRole): Promise<string> {
  return signLocalJwt({ role });
}
