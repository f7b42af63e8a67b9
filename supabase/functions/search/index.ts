// Edge Function `search`: POST {query, target, matchCount?, mode?, filters?} with the publishable (or anon) key or a user's JWT; embeds the query with the target's model and answers the ranked rows the caller may read.
//
// Nothing costs before it is allowed: credentials, then the caller's rate limit, then the body,
// then the target and the caller's right to read it, and only then the provider and the search.
import { connectDatabase, type Sql } from "../_shared/database.ts";
import { readFunctionEnvironment } from "../_shared/function_environment.ts";
import { configuredRouter } from "../_shared/providers/configured_router.ts";
import type { EmbeddingProvider } from "../_shared/providers/embedding_provider.ts";
import type { ProviderRouter } from "../_shared/providers/provider_router.ts";
import { toProviderError } from "../_shared/providers/provider_error.ts";
import { logFailure, newRequestId } from "../_shared/request_id.ts";
import { maxRequestBodyBytes, readRequestBody } from "../_shared/request_body.ts";
import { searchAsCaller } from "../_shared/search/search_as_caller.ts";
import { identifySearchCaller, type SearchCaller } from "../_shared/search/search_caller.ts";
import {
  answerForDatabaseError,
  answerForProviderError,
  type ErrorAnswer,
} from "../_shared/search/search_error_http.ts";
import { rateLimitFor, readSearchLimits, takeRateLimit } from "../_shared/search/search_limits.ts";
import { parseSearchRequest, type SearchRequest } from "../_shared/search/search_request.ts";
import { jsonAnswer, preflightAnswer } from "../_shared/search/search_response.ts";
import {
  checkSearchTarget,
  type SearchTarget,
  type TargetCheck,
} from "../_shared/search/search_target.ts";
import { queryProblem } from "../_shared/search/query_text.ts";

const environment = readFunctionEnvironment("search", readSearchLimits);
const { config, credentialKeys } = environment;
let sql: Sql | undefined;
// One router per instance: each configured provider is built on the first search of its model.
let router: ProviderRouter | undefined;

/** One request's failures: each answered with its id, the details logged under it. */
class Answers {
  readonly id = newRequestId();

  error(status: number, error: string, headers: Record<string, string> = {}): Response {
    return jsonAnswer(status, { error, requestId: this.id }, {
      ...headers,
      "x-request-id": this.id,
    });
  }

  /** A failure whose details only the log (and a service_role caller, through `answer`) may see. */
  failed(answer: ErrorAnswer, what: string): Response {
    if (answer.status >= 500) logFailure("search", this.id, what, answer.detail);
    return this.error(answer.status, answer.error, answer.headers);
  }

  misconfigured(detail: unknown): Response {
    logFailure("search", this.id, "misconfigured", detail);
    return this.error(
      500,
      "search is misconfigured; the function's log says why, under this requestId",
    );
  }
}

/** The query embedded with the target's model (null for a keyword search), or the answer that refuses it. */
async function embedQuery(
  providers: ProviderRouter,
  search: SearchRequest,
  target: SearchTarget,
  caller: SearchCaller,
  answers: Answers,
): Promise<{ embedding: number[] | null } | Response> {
  // The query must land in the stored vectors' space: the provider of the target's model, or none.
  const route = providers.route(target);
  if (!route.ok) {
    if (search.mode === "keyword") return { embedding: null };
    return answers.misconfigured(route.reason);
  }
  let model: EmbeddingProvider;
  try {
    // A failed build is forgotten by the router; the providers built so far are kept.
    model = await providers.provider(route.entry);
  } catch (error) {
    return answers.misconfigured(error);
  }
  const problem = queryProblem(search.query, model.model, model.inputLimit);
  if (problem) return answers.error(400, problem);
  if (search.mode === "keyword") return { embedding: null };
  try {
    const [embedding] = await model.embed([search.query]);
    return { embedding };
  } catch (error) {
    const reveal = caller.role === "service_role";
    return answers.failed(
      answerForProviderError(toProviderError(error, model.name), reveal),
      "provider",
    );
  }
}

async function handle(request: Request, answers: Answers): Promise<Response> {
  if (request.method === "OPTIONS") return preflightAnswer();
  if (request.method !== "POST") return answers.error(405, `use POST, not ${request.method}`);
  if (!credentialKeys) return answers.misconfigured(environment.credentialError);
  const identified = await identifySearchCaller(request.headers, credentialKeys);
  if (!identified.ok) return answers.error(identified.status, identified.error);
  const { caller } = identified;
  if (!config || !environment.extra) {
    return answers.misconfigured(environment.configError ?? environment.extraError);
  }
  const limits = environment.extra;
  sql ??= connectDatabase(config.databaseUrl);
  const reveal = caller.role === "service_role";

  const budget = rateLimitFor(caller, request.headers, limits);
  if (budget) {
    let wait: number;
    try {
      wait = await takeRateLimit(sql, budget.callerKey, budget.limit);
    } catch (error) {
      return answers.failed(answerForDatabaseError(error, reveal), "rate limit");
    }
    if (wait > 0) {
      return answers.error(
        429,
        `too many searches: at most ${budget.limit.requests} every ${budget.limit.seconds} s; try again in ${wait} s`,
        { "retry-after": String(wait) },
      );
    }
  }

  const body = await readRequestBody(request);
  if (!body.ok) {
    const error = body.status === 413
      ? `the body is over ${maxRequestBodyBytes} bytes; a search is a query and a few filters`
      : body.error;
    return answers.error(body.status, error);
  }
  const parsed = parseSearchRequest(body.text);
  if (!parsed.ok) return answers.error(400, parsed.error);
  const search = parsed.request;
  if (caller.role === "anon" && search.query.length > limits.anonMaxQueryCharacters) {
    return answers.error(
      400,
      `query is ${search.query.length} characters; without signing in a query may have at most ${limits.anonMaxQueryCharacters}`,
    );
  }

  let checked: TargetCheck;
  try {
    checked = await checkSearchTarget(sql, caller, search.target);
  } catch (error) {
    return answers.failed(answerForDatabaseError(error, reveal), "target check");
  }
  if (!checked.ok) return answers.error(checked.status, checked.error);
  const { target } = checked;

  try {
    router ??= configuredRouter(config.providers, config.providerSettings.openai);
  } catch (error) {
    return answers.misconfigured(error);
  }
  const embedded = await embedQuery(router, search, target, caller, answers);
  if (embedded instanceof Response) return embedded;
  try {
    const results = await searchAsCaller(sql, caller, {
      target: target.name,
      mode: search.mode,
      matchCount: search.matchCount,
      queryText: search.query,
      queryEmbedding: embedded.embedding,
      filters: search.filters,
    });
    return jsonAnswer(200, {
      target: target.name,
      mode: search.mode,
      model: target.model,
      role: caller.role,
      count: results.length,
      results,
    });
  } catch (error) {
    return answers.failed(answerForDatabaseError(error, reveal), "search");
  }
}

Deno.serve(async (request) => {
  const answers = new Answers();
  let response: Response;
  try {
    response = await handle(request, answers);
  } catch (error) {
    // Whatever escapes still answers JSON, never the runtime's plain-text 500 with its message.
    logFailure("search", answers.id, "unexpected", error);
    response = answers.error(500, "search failed");
  }
  response.headers.set("x-request-id", answers.id);
  return response;
});
