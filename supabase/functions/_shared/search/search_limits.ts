// What bounds what a search caller can cost: the per-caller rate limit (shared by every instance, in Postgres) and the cap on an anon query's length, read once from the environment.
import type { Sql } from "../database.ts";
import type { SearchCaller } from "./search_caller.ts";

/** At most `requests` searches in any window of `seconds`, per caller. */
export interface RateLimit {
  requests: number;
  seconds: number;
}

export interface SearchLimits {
  /** SEARCH_RATE_LIMIT_ANON: per client address, for the publishable (or legacy anon) key. */
  anon: RateLimit;
  /** SEARCH_RATE_LIMIT_USER: per user (the JWT's sub). */
  user: RateLimit;
  /** SEARCH_ANON_MAX_QUERY_CHARACTERS: the longest query anon may send. */
  anonMaxQueryCharacters: number;
  /** SEARCH_CLIENT_ADDRESS_HEADER: the header the platform writes the client's address in. */
  clientAddressHeader: string;
}

export const defaultSearchLimits: SearchLimits = {
  anon: { requests: 30, seconds: 60 },
  user: { requests: 120, seconds: 60 },
  anonMaxQueryCharacters: 1_000,
  // Supabase's edge writes the client's address first in x-forwarded-for.
  clientAddressHeader: "x-forwarded-for",
};

/** A caller key holds at most this much of a header: a huge one must not bloat the limits table. */
const maxAddressLength = 64;

function rateLimit(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: RateLimit,
): RateLimit {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const match = raw.match(/^(\d+)\s*\/\s*(\d+)$/);
  const requests = Number(match?.[1]);
  const seconds = Number(match?.[2]);
  if (!match || requests < 1 || seconds < 1 || !Number.isSafeInteger(requests * seconds)) {
    throw new Error(
      `${name} must be "<requests>/<seconds>" with both positive, like "30/60"; got ${
        JSON.stringify(raw)
      }`,
    );
  }
  return { requests, seconds };
}

/** Reads the search's limits from its environment; a malformed value is an error naming it. */
export function readSearchLimits(env: Readonly<Record<string, string | undefined>>): SearchLimits {
  const rawCap = env.SEARCH_ANON_MAX_QUERY_CHARACTERS?.trim();
  const cap = rawCap ? Number(rawCap) : defaultSearchLimits.anonMaxQueryCharacters;
  if (!Number.isInteger(cap) || cap < 1) {
    throw new Error(
      `SEARCH_ANON_MAX_QUERY_CHARACTERS must be a positive integer; got ${JSON.stringify(rawCap)}`,
    );
  }
  const header = env.SEARCH_CLIENT_ADDRESS_HEADER?.trim().toLowerCase();
  if (header !== undefined && header !== "" && !/^[a-z0-9-]+$/.test(header)) {
    throw new Error(
      `SEARCH_CLIENT_ADDRESS_HEADER must be a header name; got ${JSON.stringify(header)}`,
    );
  }
  return {
    anon: rateLimit(env, "SEARCH_RATE_LIMIT_ANON", defaultSearchLimits.anon),
    user: rateLimit(env, "SEARCH_RATE_LIMIT_USER", defaultSearchLimits.user),
    anonMaxQueryCharacters: cap,
    clientAddressHeader: header || defaultSearchLimits.clientAddressHeader,
  };
}

/**
 * Whose budget a search spends, and how large it is: a user's own (`user:<sub>`), or anon's per
 * client address (`ip:<address>`, the header's first entry; `ip:unknown` when there is none, one
 * budget for all such callers); null for service_role, which is not limited.
 */
export function rateLimitFor(
  caller: SearchCaller,
  headers: Headers,
  limits: SearchLimits,
): { callerKey: string; limit: RateLimit } | null {
  if (caller.role === "service_role") return null;
  const sub = caller.claims.sub;
  if (caller.role === "authenticated" && typeof sub === "string" && sub !== "") {
    return { callerKey: `user:${sub.slice(0, maxAddressLength)}`, limit: limits.user };
  }
  const address = headers.get(limits.clientAddressHeader)?.split(",")[0]?.trim();
  return {
    callerKey: `ip:${address ? address.slice(0, maxAddressLength) : "unknown"}`,
    limit: caller.role === "authenticated" ? limits.user : limits.anon,
  };
}

/**
 * Spends one request of the caller's budget: 0 when the search may go on, else the seconds until
 * it may (embeddings.take_rate_limit, run as the function's own database role).
 */
export async function takeRateLimit(
  sql: Sql,
  callerKey: string,
  limit: RateLimit,
): Promise<number> {
  const [row] = await sql<{ wait: number }[]>`
    select embeddings.take_rate_limit(${callerKey}, ${limit.requests}::integer,
                                      ${limit.seconds}::integer) as wait`;
  return row.wait;
}
