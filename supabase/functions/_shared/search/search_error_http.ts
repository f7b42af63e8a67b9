// The search function's HTTP answer to a failure: a database error by its SQLSTATE, a provider error by its kind; a client's mistake is always a 4xx.
import { isDatabaseOutage } from "../database_errors.ts";
import { errorMessage } from "../error_message.ts";
import { ProviderError } from "../providers/provider_error.ts";

export interface ErrorAnswer {
  status: number;
  error: string;
  headers: Record<string, string>;
}

/**
 * SQLSTATEs public.search_embeddings raises for what the caller asked, and their status:
 * 22023 / 22000 / 22P02 / 42703 a bad argument or filter (400), 42501 a table the caller may not
 * read (403), P0002 no such target (404), 55000 a target whose table or content function is gone
 * (409: the target's state, not the request, is wrong).
 */
const statusBySqlState: Readonly<Record<string, number>> = {
  "22023": 400,
  "22000": 400,
  "22P02": 400,
  "22003": 400,
  "42703": 400,
  "42501": 403,
  "P0002": 404,
  "55000": 409,
};

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function answerForDatabaseError(error: unknown): ErrorAnswer {
  const code = sqlState(error);
  const status = code === undefined ? undefined : statusBySqlState[code];
  if (status !== undefined) return { status, error: errorMessage(error), headers: {} };
  if (code === "57014") {
    return {
      status: 503,
      error: `the search took too long and was stopped: ${errorMessage(error)}`,
      headers: { "retry-after": "1" },
    };
  }
  if (isDatabaseOutage(error)) {
    return {
      status: 503,
      error: `the database is unavailable: ${errorMessage(error)}`,
      headers: { "retry-after": "1" },
    };
  }
  return { status: 500, error: `search failed: ${errorMessage(error)}`, headers: {} };
}

/** The provider's faults are upstream (502, or 503 with Retry-After when it rate limits); a refused query is the caller's (400). */
export function answerForProviderError(error: ProviderError): ErrorAnswer {
  switch (error.kind) {
    case "rejected_input":
      return {
        status: 400,
        error: `the embedding model refused the query: ${error.message}`,
        headers: {},
      };
    case "rate_limited": {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
      return {
        status: 503,
        error: `the embedding provider is rate limiting: ${error.message}`,
        headers: { "retry-after": String(seconds) },
      };
    }
    default:
      return {
        status: 502,
        error: `the embedding provider failed: ${error.message}`,
        headers: {},
      };
  }
}
