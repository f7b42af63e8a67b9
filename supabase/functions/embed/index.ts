// Edge Function `embed`: POST with a secret key (apikey header) to embed queued rows of every target (or the one named in the body), each with the configured provider of its model; every report names the kinds of key it accepts.
//
// verify_jwt is off for it (supabase/config.toml), as Supabase advises for functions called by
// services: it authenticates every request itself (_shared/service_role_authorization.ts).
import { connectDatabase, type Sql } from "../_shared/database.ts";
import { readFunctionEnvironment } from "../_shared/function_environment.ts";
import { parseEmbedRequest } from "../_shared/embed_request.ts";
import { errorMessage } from "../_shared/error_message.ts";
import { PostgresTargetQueue } from "../_shared/postgres_target_queue.ts";
import { configuredRouter } from "../_shared/providers/configured_router.ts";
import type { ProviderRouter } from "../_shared/providers/provider_router.ts";
import { answerReport, httpAnswerFor } from "../_shared/report_http.ts";
import { readRequestBody } from "../_shared/request_body.ts";
import { authorizeServiceRole } from "../_shared/service_role_authorization.ts";
import { acceptedServiceCredentials } from "../_shared/caller_credentials.ts";
import { logFailure, newRequestId } from "../_shared/request_id.ts";
import { runWorker, WorkerRequestError } from "../_shared/worker.ts";
import { dispatchIdOf, followOnInBackground } from "./follow_on.ts";

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { ...headers, "content-type": "application/json" },
  });
}

const { config, configError, credentialKeys, credentialError } = readFunctionEnvironment("embed");
/** The kinds of credential this function runs for: in every report, so doctor can show them. */
const acceptedKeys = credentialKeys ? acceptedServiceCredentials(credentialKeys) : [];
let sql: Sql | undefined;
/** Kept between requests: each provider is built when a target of its model is first worked. */
let router: ProviderRouter | undefined;

// On shutdown the platform says so first: runs in progress stop and hand their rows back at once,
// instead of leaving them leased until the lease runs out.
const shutdown = new AbortController();
globalThis.addEventListener("beforeunload", () => shutdown.abort());

/** An error answer, with the request's id; what only the log may hold is logged under it. */
function failed(requestId: string, status: number, error: string, detail?: unknown): Response {
  if (detail !== undefined) logFailure("embed", requestId, error, detail);
  return json(status, { error, requestId, acceptedKeys });
}

async function handle(request: Request, requestId: string): Promise<Response> {
  if (request.method !== "POST") {
    return failed(requestId, 405, `use POST, not ${request.method}`);
  }
  // Before the caller is known, nothing of the configuration is told.
  const misconfigured = "embed is misconfigured; the function's log says why, under this requestId";
  if (!credentialKeys) return failed(requestId, 500, misconfigured, credentialError);
  const authorization = await authorizeServiceRole(request.headers, credentialKeys);
  if (!authorization.allowed) return failed(requestId, authorization.status, authorization.error);

  const body = await readRequestBody(request);
  if (!body.ok) return failed(requestId, body.status, body.error);
  const parsed = parseEmbedRequest(body.text);
  if (!parsed.ok) return failed(requestId, 400, parsed.error);
  // The caller holds a service key: it may read what is wrong.
  if (!config) return failed(requestId, 500, `embed is misconfigured: ${configError}`, configError);

  try {
    sql ??= connectDatabase(config.databaseUrl);
    router ??= configuredRouter(config.providers, config.providerSettings.openai);
    const report = await runWorker(new PostgresTargetQueue(sql), router, parsed.options, {
      stop: shutdown.signal,
    });
    const answered = answerReport(report);
    const answer = httpAnswerFor(answered);
    const body = answer.status === 200
      ? { ...answered, acceptedKeys }
      : { ...answered, requestId, acceptedKeys };
    if (answer.status !== 200) logFailure("embed", requestId, "run stopped", report.stoppedBecause);
    // A scheduled invocation that stopped with work left is followed at once, once answered.
    const dispatchId = dispatchIdOf(request.headers);
    if (answered.more && dispatchId !== null) followOnInBackground(sql, dispatchId);
    return json(answer.status, body, answer.headers);
  } catch (error) {
    if (error instanceof WorkerRequestError) return failed(requestId, 404, error.message);
    return failed(requestId, 500, `embed failed: ${errorMessage(error)}`, error);
  }
}

Deno.serve(async (request) => {
  const requestId = newRequestId();
  let response: Response;
  try {
    response = await handle(request, requestId);
  } catch (error) {
    // Whatever escapes still answers JSON, never the runtime's plain-text 500 with its message.
    response = failed(requestId, 500, "embed failed", error);
  }
  response.headers.set("x-request-id", requestId);
  return response;
});
