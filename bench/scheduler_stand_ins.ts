// The scheduler benchmark's stand-ins: a synthetic OpenAI-compatible provider with a fixed cost per call, and the embed function's handler served from this process.
import { connectDatabase, type Sql } from "../supabase/functions/_shared/database.ts";
import { defaultOpenAiTimeoutMs } from "../supabase/functions/_shared/embed_config.ts";
import { parseEmbedRequest } from "../supabase/functions/_shared/embed_request.ts";
import { errorMessage } from "../supabase/functions/_shared/error_message.ts";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { createProvider } from "../supabase/functions/_shared/providers/create_provider.ts";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { httpAnswerFor } from "../supabase/functions/_shared/report_http.ts";
import type { RunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import { benchDimensions, syntheticModel, syntheticVector } from "./bench_table.ts";
import type { PatternRun } from "./scheduler_clock.ts";

/** The synthetic provider's cost per call: a fixed round trip plus a cost per text. */
export const providerBaseMs = 30;
export const providerPerTextMs = 0.5;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** FNV-1a of a text: the seed of its synthetic vector, so a text always gets the same one. */
function textSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, "content-type": "application/json" },
  });
}

/** An OpenAI-compatible /v1/embeddings stand-in with a fixed, realistic cost per call. */
export interface ProviderStandIn {
  baseUrl: string;
  calls: number;
  texts: number;
  close(): Promise<void>;
}

export function startProviderStandIn(): ProviderStandIn {
  const closing = new AbortController();
  const standIn = {
    baseUrl: "",
    calls: 0,
    texts: 0,
    close: async () => {
      closing.abort();
      await server.finished;
    },
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {}, signal: closing.signal },
    async (request) => {
      const body = await request.json() as { input?: unknown };
      const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input)];
      standIn.calls += 1;
      standIn.texts += inputs.length;
      await sleep(providerBaseMs + providerPerTextMs * inputs.length);
      return Response.json({
        object: "list",
        model: syntheticModel,
        data: inputs.map((text, index) => ({
          object: "embedding",
          index,
          embedding: syntheticVector(textSeed(text)),
        })),
        usage: { prompt_tokens: 0, total_tokens: 0 },
      });
    },
  );
  standIn.baseUrl = `http://127.0.0.1:${server.addr.port}/v1`;
  return standIn;
}

/** A warm function instance: its own connections and provider, as an edge runtime worker has. */
interface FunctionInstance {
  sql: Sql;
  queue: PostgresTargetQueue;
  provider: EmbeddingProvider;
}

/**
 * The embed function's handler, in this process: the apikey check, the body read as run options
 * (parseEmbedRequest), runWorker with the provider the function would build for these settings
 * (createProvider), and the answer httpAnswerFor gives. Each concurrent invocation gets its own
 * instance, as hosted functions scale out. It works the bench's target only (see the notes).
 */
export interface FunctionStandIn {
  /** What the project URL secret holds: the dispatcher appends /functions/v1/<name>. */
  projectUrl: string;
  run: PatternRun | null;
  /** The key a caller must send in the apikey header: the dispatcher's, read from Vault. */
  serviceKey: string | null;
  /** Requests that came while no pattern was running: another client used the bench's URL. */
  stray: number;
  close(): Promise<void>;
}

async function newFunctionInstance(
  databaseUrl: string,
  providerBaseUrl: string,
): Promise<FunctionInstance> {
  const sql = connectDatabase(databaseUrl);
  const provider = await createProvider({
    provider: "openai",
    openai: {
      baseUrl: providerBaseUrl,
      apiKey: undefined,
      model: syntheticModel,
      dimensions: benchDimensions,
      timeoutMs: defaultOpenAiTimeoutMs,
    },
  });
  return { sql, queue: new PostgresTargetQueue(sql), provider };
}

/** One invocation on a warm instance, recorded on the pattern's run. */
async function invoke(
  run: PatternRun,
  instance: FunctionInstance,
  options: RunOptions,
  startedAt: number,
): Promise<Response> {
  try {
    const report = await runWorker(instance.queue, instance.provider, options);
    // Whoever finds the queue empty first drained it: every write before is committed.
    const [{ drained }] = await instance.sql<{ drained: boolean }[]>`
      select not exists (
        select 1 from embeddings.queue as q where q.target_id = ${run.targetId}) as drained`;
    const endedAt = run.clock.now();
    if (drained && run.drainedAt === null) run.drainedAt = endedAt;
    const answer = httpAnswerFor(report);
    run.invocations.push({
      startedAt,
      endedAt,
      written: report.written,
      status: answer.status,
      failure: report.ok ? null : report.message,
    });
    return json(answer.status, report, answer.headers);
  } catch (error) {
    const endedAt = run.clock.now();
    const failure = `embed failed: ${errorMessage(error)}`;
    run.invocations.push({ startedAt, endedAt, written: 0, status: 500, failure });
    return json(500, { error: failure });
  }
}

/** Serves the function stand-in; every invocation works the target named `table`. */
export function startFunctionStandIn(
  databaseUrl: string,
  providerBaseUrl: string,
  table: string,
): FunctionStandIn {
  const closing = new AbortController();
  const idle: FunctionInstance[] = [];
  const instances: FunctionInstance[] = [];
  const newInstance = async () => {
    const instance = await newFunctionInstance(databaseUrl, providerBaseUrl);
    instances.push(instance);
    return instance;
  };
  const standIn: FunctionStandIn = {
    projectUrl: "",
    run: null,
    serviceKey: null,
    stray: 0,
    close: async () => {
      closing.abort();
      await server.finished;
      await Promise.all(instances.map((instance) => instance.sql.end({ timeout: 5 })));
    },
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {}, signal: closing.signal },
    async (request) => {
      const run = standIn.run;
      if (run === null) {
        standIn.stray += 1;
        return json(503, { error: "the scheduler benchmark is not running a pattern" });
      }
      if (standIn.serviceKey === null || request.headers.get("apikey") !== standIn.serviceKey) {
        return json(401, { error: "apikey is not the service key from Vault" });
      }
      const parsed = parseEmbedRequest(await request.text());
      if (!parsed.ok) return json(400, { error: parsed.error });
      const startedAt = run.clock.now();
      const instance = idle.pop() ?? await newInstance();
      try {
        return await invoke(run, instance, { ...parsed.options, target: table }, startedAt);
      } finally {
        idle.push(instance);
      }
    },
  );
  standIn.projectUrl = `http://127.0.0.1:${server.addr.port}`;
  return standIn;
}
