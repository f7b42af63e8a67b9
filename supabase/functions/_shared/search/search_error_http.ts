// The search function's HTTP answer to a failure: a database error by its SQLSTATE, a provider error by its kind; a client's mistake is always a 4xx.
import { isDatabaseOutage } from "../database_errors.ts";
import { errorMessage } from "../error_message.ts";
import { ProviderError } from "../providers/provider_error.ts";

export interface ErrorAnswer {
  status: number;
  /** What the caller is told: enough to act on, nothing of the provider or the database. */
  error: string;
  /** What happened, for the log (under the request's id) and for a service_role caller. */
  detail: string;
  headers: Record<string, string>;
}

/**
 * SQLSTATEs public.search_embeddings raises for what the caller asked, and their status:
 * 22023 / 22000 / 22P02 / 42703 a bad argument or filter (400), 42501 a table the caller may not
 * read (403), P0002 no such target (404): their messages are about the caller's own request, and
 * are answered as they are. 55000 a target whose table or content function is gone (409: the
 * target's state, not the request, is wrong) names the database's objects: only its status is.
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

function answer(
  status: number,
  error: string,
  detail: string,
  revealDetail: boolean,
  headers: Record<string, string> = {},
): ErrorAnswer {
  return { status, error: revealDetail ? `${error}: ${detail}` : error, detail, headers };
}

/** `revealDetail`: the caller is service_role, who may read the database's own message. */
export function answerForDatabaseError(error: unknown, revealDetail = false): ErrorAnswer {
  const code = sqlState(error);
  const detail = errorMessage(error);
  const status = code === undefined ? undefined : statusBySqlState[code];
  if (status !== undefined && status !== 409) return { status, error: detail, detail, headers: {} };
  if (status === 409) {
    return answer(
      409,
      "the target cannot be searched now (see embeddings.status)",
      detail,
      revealDetail,
    );
  }
  const retry = { "retry-after": "1" };
  if (code === "57014") {
    return answer(503, "the search took too long and was stopped", detail, revealDetail, retry);
  }
  if (isDatabaseOutage(error)) {
    return answer(503, "the database is unavailable", detail, revealDetail, retry);
  }
  return answer(500, "search failed", detail, revealDetail);
}

/**
 * The provider's faults are upstream (502, or 503 with Retry-After when it rate limits); a refused
 * query is the caller's (400). The provider's own words (its URL, its answer's body) go to the log
 * and to service_role only.
 */
export function answerForProviderError(error: ProviderError, revealDetail = false): ErrorAnswer {
  switch (error.kind) {
    case "rejected_input":
      return answer(400, "the embedding model refused the query", error.message, revealDetail);
    case "rate_limited": {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
      return answer(503, "the embedding provider is rate limiting", error.message, revealDetail, {
        "retry-after": String(seconds),
      });
    }
    default:
      return answer(502, "the embedding provider failed", error.message, revealDetail);
  }
}
