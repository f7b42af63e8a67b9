// Edge Function `search`: POST {query, target, matchCount?, mode?, filters?} with the anon or publishable key or a user's JWT; embeds the query with the target's model and answers the ranked rows the caller may read.
import { connectDatabase, type Sql } from "../_shared/database.ts";
import { readFunctionEnvironment } from "../_shared/function_environment.ts";
import { errorMessage } from "../_shared/error_message.ts";
import { createProvider } from "../_shared/providers/create_provider.ts";
import type { EmbeddingProvider } from "../_shared/providers/embedding_provider.ts";
import { toProviderError } from "../_shared/providers/provider_error.ts";
import { maxRequestBodyBytes, readRequestBody } from "../_shared/request_body.ts";
import { searchAsCaller } from "../_shared/search/search_as_caller.ts";
import { identifySearchCaller } from "../_shared/search/search_caller.ts";
import {
  answerForDatabaseError,
  answerForProviderError,
} from "../_shared/search/search_error_http.ts";
import { parseSearchRequest } from "../_shared/search/search_request.ts";
import { jsonAnswer, preflightAnswer } from "../_shared/search/search_response.ts";
import { findSearchTarget, type SearchTarget } from "../_shared/search/search_target.ts";
import { queryProblem } from "../_shared/search/query_text.ts";

const { config, configError, credentialKeys, credentialError } = readFunctionEnvironment("search");
let sql: Sql | undefined;
let provider: Promise<EmbeddingProvider> | undefined;

async function handle(request: Request): Promise<Response> {
  if (request.method === "OPTIONS") return preflightAnswer();
  if (request.method !== "POST") {
    return jsonAnswer(405, { error: `use POST, not ${request.method}` });
  }
  if (!credentialKeys) {
    return jsonAnswer(500, { error: `search is misconfigured: ${credentialError}` });
  }
  const identified = await identifySearchCaller(request.headers, credentialKeys);
  if (!identified.ok) return jsonAnswer(identified.status, { error: identified.error });

  const body = await readRequestBody(request);
  if (!body.ok) {
    const error = body.status === 413
      ? `the body is over ${maxRequestBodyBytes} bytes; a search is a query and a few filters`
      : body.error;
    return jsonAnswer(body.status, { error });
  }
  const parsed = parseSearchRequest(body.text);
  if (!parsed.ok) return jsonAnswer(400, { error: parsed.error });
  const search = parsed.request;
  if (!config) return jsonAnswer(500, { error: `search is misconfigured: ${configError}` });

  sql ??= connectDatabase(config.databaseUrl);
  let target: SearchTarget | null;
  try {
    target = await findSearchTarget(sql, search.target);
  } catch (error) {
    const answer = answerForDatabaseError(error);
    return jsonAnswer(answer.status, { error: answer.error }, answer.headers);
  }
  if (!target) {
    return jsonAnswer(404, { error: `no embedding target named ${JSON.stringify(search.target)}` });
  }

  let model: EmbeddingProvider;
  try {
    provider ??= createProvider(config.providerSettings);
    model = await provider;
  } catch (error) {
    provider = undefined;
    return jsonAnswer(500, { error: `search is misconfigured: ${errorMessage(error)}` });
  }
  const problem = queryProblem(search.query, model.model, model.inputLimit);
  if (problem) return jsonAnswer(400, { error: problem });

  let queryEmbedding: number[] | null = null;
  if (search.mode !== "keyword") {
    // The query must land in the stored vectors' space: the same model, or nothing.
    if (model.model !== target.model) {
      return jsonAnswer(500, {
        error:
          `search is misconfigured: target ${target.name} holds vectors of model ${target.model}, but this function embeds with ${model.model} (EMBEDDING_PROVIDER=${model.name}); set the provider the embed function uses`,
      });
    }
    try {
      [queryEmbedding] = await model.embed([search.query]);
    } catch (error) {
      const answer = answerForProviderError(toProviderError(error, model.name));
      return jsonAnswer(answer.status, { error: answer.error }, answer.headers);
    }
  }

  try {
    const results = await searchAsCaller(sql, identified.caller, {
      target: target.name,
      mode: search.mode,
      matchCount: search.matchCount,
      queryText: search.query,
      queryEmbedding,
      filters: search.filters,
    });
    return jsonAnswer(200, {
      target: target.name,
      mode: search.mode,
      model: target.model,
      role: identified.caller.role,
      count: results.length,
      results,
    });
  } catch (error) {
    const answer = answerForDatabaseError(error);
    if (answer.status >= 500) console.error("search failed:", error);
    return jsonAnswer(answer.status, { error: answer.error }, answer.headers);
  }
}

Deno.serve({
  // Whatever escapes the handler still answers JSON, never the runtime's plain-text 500.
  onError: (error) => {
    console.error("search failed:", error);
    return jsonAnswer(500, { error: `search failed: ${errorMessage(error)}` });
  },
}, handle);
