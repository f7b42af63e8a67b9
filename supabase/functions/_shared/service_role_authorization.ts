// Decides whether a bearer token may run the embed engine: only the service_role may.
//
// Supabase's gateway verifies the JWT's signature and expiry before the function runs
// (verify_jwt = true in config.toml). When SUPABASE_JWT_SECRET is set, the signature is
// verified here as well, so the check holds even if the gateway's is switched off.
import { decodeJwt, errors as joseErrors, jwtVerify } from "npm:jose@6.1.0";

export type AuthorizationDecision =
  | { allowed: true }
  | { allowed: false; status: 401 | 403; error: string };

function bearerToken(authorization: string | null): string | null {
  const match = authorization?.match(/^Bearer\s+(\S+)\s*$/i);
  return match ? match[1] : null;
}

export async function authorizeServiceRole(
  authorization: string | null,
  jwtSecret: string | undefined,
): Promise<AuthorizationDecision> {
  const token = bearerToken(authorization);
  if (!token) {
    return {
      allowed: false,
      status: 401,
      error: "missing Authorization: Bearer <service_role key> header",
    };
  }
  let role: unknown;
  try {
    if (jwtSecret) {
      const { payload } = await jwtVerify(token, new TextEncoder().encode(jwtSecret), {
        algorithms: ["HS256"],
      });
      role = payload.role;
    } else {
      role = decodeJwt(token).role;
    }
  } catch (error) {
    const reason = error instanceof joseErrors.JWTExpired
      ? "the JWT has expired"
      : "the JWT is invalid";
    return { allowed: false, status: 401, error: reason };
  }
  if (role !== "service_role") {
    return {
      allowed: false,
      status: 403,
      error: `the embed function needs the service_role key; this JWT's role is ${
        JSON.stringify(role ?? null)
      }`,
    };
  }
  return { allowed: true };
}
