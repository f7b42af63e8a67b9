// Edge Function `embed`: POST with a secret key (apikey header) to embed queued rows of every target (or the one named in the body).
//
// verify_jwt is off for it (supabase/config.toml), as Supabase advises for functions called by
// services: it authenticates every request itself (_shared/service_role_authorization.ts).
import { connectDatabase, type Sql } from "../_shared/database.ts";
import { readFunctionEnvironment } from "../_shared/function_environment.ts";
import { parseEmbedRequest } from "../_shared/embed_request.ts";
import { errorMessage } from "../_shared/error_message.ts";
import { PostgresTargetQueue } from "../_shared/postgres_target_queue.ts";
import { createProvider } from "../_shared/providers/create_provider.ts";
import type { EmbeddingProvider } from "../_shared/providers/embedding_provider.ts";
import { httpAnswerFor } from "../_shared/report_http.ts";
import { readRequestBody } from "../_shared/request_body.ts";
import { authorizeServiceRole } from "../_shared/service_role_authorization.ts";
import { runWorker, WorkerRequestError } from "../_shared/worker.ts";

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { ...headers, "content-type": "application/json" },
  });
}

const { config, configError, credentialKeys, credentialError } = readFunctionEnvironment("embed");
let sql: Sql | undefined;
let provider: Promise<EmbeddingProvider> | undefined;

// On shutdown the platform says so first: runs in progress stop and hand their rows back at once,
// instead of leaving them leased until the lease runs out.
const shutdown = new AbortController();
globalThis.addEventListener("beforeunload", () => shutdown.abort());

async function handle(request: Request): Promise<Response> {
  if (request.method !== "POST") {
    return json(405, { error: `use POST, not ${request.method}` });
  }
  if (!credentialKeys) return json(500, { error: `embed is misconfigured: ${credentialError}` });
  const authorization = await authorizeServiceRole(request.headers, credentialKeys);
  if (!authorization.allowed) return json(authorization.status, { error: authorization.error });

  const body = await readRequestBody(request);
  if (!body.ok) return json(body.status, { error: body.error });
  const parsed = parseEmbedRequest(body.text);
  if (!parsed.ok) return json(400, { error: parsed.error });
  if (!config) return json(500, { error: `embed is misconfigured: ${configError}` });

  try {
    sql ??= connectDatabase(config.databaseUrl);
    provider ??= createProvider(config.providerSettings);
    const report = await runWorker(new PostgresTargetQueue(sql), await provider, parsed.options, {
      stop: shutdown.signal,
    });
    const answer = httpAnswerFor(report);
    return json(answer.status, report, answer.headers);
  } catch (error) {
    if (error instanceof WorkerRequestError) return json(404, { error: error.message });
    provider = undefined;
    console.error("embed failed:", error);
    return json(500, { error: `embed failed: ${errorMessage(error)}` });
  }
}

Deno.serve({
  // Whatever escapes the handler still answers JSON, never the runtime's plain-text 500.
  onError: (error) => {
    console.error("embed failed:", error);
    return json(500, { error: `embed failed: ${errorMessage(error)}` });
  },
}, handle);
