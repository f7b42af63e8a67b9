// Edge Function `embed`: POST with the service_role key to embed queued rows of every target (or the one named in the body).
import { connectDatabase, type Sql } from "../_shared/database.ts";
import { type EmbedConfig, readEmbedConfig } from "../_shared/embed_config.ts";
import { parseEmbedRequest } from "../_shared/embed_request.ts";
import { PostgresTargetQueue } from "../_shared/postgres_target_queue.ts";
import { createProvider } from "../_shared/providers/create_provider.ts";
import type { EmbeddingProvider } from "../_shared/providers/embedding_provider.ts";
import { supabaseAiRuntime } from "../_shared/providers/gte_small_provider.ts";
import { authorizeServiceRole } from "../_shared/service_role_authorization.ts";
import { runWorker, WorkerRequestError } from "../_shared/worker.ts";
import type { WorkerReport } from "../_shared/worker_report.ts";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** 200 only when every target's work went through; 502 when the provider is down; else 500. */
function statusOf(report: WorkerReport): number {
  if (report.ok) return 200;
  return report.stoppedBecause === "provider_failed" ? 502 : 500;
}

let config: EmbedConfig | undefined;
let configError: string | undefined;
try {
  config = readEmbedConfig(Deno.env.toObject(), supabaseAiRuntime() !== undefined);
} catch (error) {
  configError = (error as Error).message;
  console.error(`embed: ${configError}`);
}
let sql: Sql | undefined;
let provider: Promise<EmbeddingProvider> | undefined;

Deno.serve(async (request) => {
  if (request.method !== "POST") {
    return json(405, { error: `use POST, not ${request.method}` });
  }
  const authorization = await authorizeServiceRole(
    request.headers.get("authorization"),
    config?.jwtSecret,
  );
  if (!authorization.allowed) return json(authorization.status, { error: authorization.error });

  const parsed = parseEmbedRequest(await request.text());
  if (!parsed.ok) return json(400, { error: parsed.error });
  if (!config) return json(500, { error: `embed is misconfigured: ${configError}` });

  try {
    sql ??= connectDatabase(config.databaseUrl);
    provider ??= createProvider(config.providerSettings);
    const report = await runWorker(new PostgresTargetQueue(sql), await provider, parsed.options);
    return json(statusOf(report), report);
  } catch (error) {
    if (error instanceof WorkerRequestError) return json(404, { error: error.message });
    provider = undefined;
    console.error("embed failed:", error);
    return json(500, { error: `embed failed: ${(error as Error).message}` });
  }
});
