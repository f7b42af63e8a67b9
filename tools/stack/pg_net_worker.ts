// LOCAL STAND-IN for pg_net's background worker: sends the requests net.http_post queued and records each answer in net._http_response, as pg_net does.
import { writeFileSync } from "node:fs";
import postgres from "postgres";
import { exitOnStopSignals } from "./detached_process.ts";
import { databaseUrl, pgNetWorkerPidFile } from "./local_stack_settings.ts";

const requestsPerPoll = 200;
const pollIntervalMs = 100;
/** pg_net's default pg_net.ttl: answers older than this are deleted. */
const responseTtl = "6 hours";

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array | null;
  timeout_milliseconds: number;
}

interface RecordedAnswer {
  statusCode: number | null;
  contentType: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timedOut: boolean;
  errorMessage: string | null;
}

const sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
let stopping = false;

async function send(request: QueuedRequest): Promise<RecordedAnswer> {
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.method === "GET" || request.body === null
        ? undefined
        : new Uint8Array(request.body),
      signal: AbortSignal.timeout(request.timeout_milliseconds),
    });
    const content = await response.text();
    return {
      statusCode: response.status,
      contentType: response.headers.get("content-type"),
      headers: Object.fromEntries(response.headers.entries()),
      content,
      timedOut: false,
      errorMessage: null,
    };
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    return {
      statusCode: null,
      contentType: null,
      headers: null,
      content: null,
      timedOut,
      errorMessage: timedOut
        ? `Timeout of ${request.timeout_milliseconds} ms reached`
        : `request failed: ${(error as Error).message}`,
    };
  }
}

async function sendAndRecord(request: QueuedRequest): Promise<void> {
  const answer = await send(request);
  await sql`
    insert into net._http_response
      (id, status_code, content_type, headers, content, timed_out, error_msg)
    values (${request.id}, ${answer.statusCode}, ${answer.contentType},
      ${answer.headers ? sql.json(answer.headers) : null}, ${answer.content}, ${answer.timedOut},
      ${answer.errorMessage})`;
}

async function takeQueuedRequests(): Promise<QueuedRequest[]> {
  // Taken out of the queue before sending, as pg_net does: a request is sent at most once.
  return await sql<QueuedRequest[]>`
    delete from net.http_request_queue
    where id in (
      select id from net.http_request_queue order by id limit ${requestsPerPoll}
      for update skip locked)
    returning id, method, url, headers, body, timeout_milliseconds`;
}

async function run(): Promise<void> {
  writeFileSync(pgNetWorkerPidFile, String(Deno.pid));
  console.log(`pg_net worker (local stand-in) started, pid ${Deno.pid}`);
  let lastCleanup = 0;
  while (!stopping) {
    let requests: QueuedRequest[] = [];
    try {
      requests = await takeQueuedRequests();
      if (Date.now() - lastCleanup > 60_000) {
        await sql`delete from net._http_response where created < now() - ${responseTtl}::interval`;
        lastCleanup = Date.now();
      }
    } catch (error) {
      console.error(`pg_net worker: ${(error as Error).message}`);
    }
    for (const request of requests) {
      sendAndRecord(request).catch((error) =>
        console.error(`pg_net worker: request ${request.id}: ${(error as Error).message}`)
      );
    }
    if (requests.length === 0) await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}

if (import.meta.main) {
  exitOnStopSignals(pgNetWorkerPidFile, () => {
    stopping = true;
  });
  await run();
}
