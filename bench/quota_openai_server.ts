// A quota-limited OpenAI-compatible /v1/embeddings server of our own, for the quota benchmark: latency per call, tokens and requests per minute with a burst, per-request caps, and 429s with OpenAI's headers.
//
// usage: deno run -A bench/quota_openai_server.ts [--port N] [--latency-ms N] [--tokens-per-minute N]
//        [--requests-per-minute N] [--burst-seconds N] [--max-inputs N] [--max-tokens N]
// (or import startQuotaServer). Each limit is a token bucket that starts full, holds
// `burst-seconds` of its rate and refills continuously: a request is admitted when both buckets
// hold what it asks (1 request, its tokens), else answered 429 at once with retry-after,
// retry-after-ms and x-ratelimit-* headers as OpenAI sends them. An admitted request is answered
// after the latency, with deterministic vectors (a hash of each text) of the asked dimensions.
// Tokens are estimated as the engine estimates them: characters / 3, rounded up, per text.
import { parseArgs } from "node:util";
import { textHashVector } from "../tools/cli/stand_in_provider.ts";

export interface QuotaSettings {
  /** Each admitted call is answered this long after it arrived. */
  latencyMs: number;
  tokensPerMinute: number;
  requestsPerMinute: number;
  /** How much of each rate the buckets hold: calls may run this far ahead of the rate. */
  burstSeconds: number;
  /** Per-request caps, refused with 400 as OpenAI does (2,048 inputs, 300,000 tokens). */
  maxInputs: number;
  maxTokensPerRequest: number;
  charactersPerToken: number;
  /** Model name -> its dimensions; a request may ask for fewer (`dimensions`), never more. */
  models: Readonly<Record<string, number>>;
}

export const defaultQuotaSettings: QuotaSettings = {
  latencyMs: 300,
  tokensPerMinute: 600_000,
  requestsPerMinute: 5_000,
  burstSeconds: 5,
  maxInputs: 2_048,
  maxTokensPerRequest: 300_000,
  charactersPerToken: 3,
  models: { "text-embedding-3-small": 1536, "text-embedding-3-large": 3072 },
};

/** What the server saw: every call, and how each was answered. */
export interface QuotaCounts {
  calls: number;
  answered: number;
  rateLimited: number;
  /** 400 (a cap, a bad body) and 404 (an unknown model). */
  refused: number;
  /** Tokens of the answered calls. */
  tokens: number;
  texts: number;
}

export interface QuotaServer {
  baseUrl: string;
  settings: QuotaSettings;
  counts: QuotaCounts;
  close(): Promise<void>;
}

/** A bucket of `capacity` that refills at `perMs` a millisecond, starting full. */
class Bucket {
  #level: number;
  #at: number;
  constructor(readonly capacity: number, readonly perMs: number, now: number) {
    this.#level = capacity;
    this.#at = now;
  }
  level(now: number): number {
    this.#level = Math.min(this.capacity, this.#level + (now - this.#at) * this.perMs);
    this.#at = now;
    return this.#level;
  }
  take(amount: number): void {
    this.#level -= amount;
  }
  /** Milliseconds until it holds `amount` (0 if it does now). */
  waitFor(amount: number, now: number): number {
    return Math.max(0, Math.ceil((amount - this.level(now)) / this.perMs));
  }
  /** Milliseconds until it is full again: OpenAI's x-ratelimit-reset-*. */
  untilFull(now: number): number {
    return Math.ceil((this.capacity - this.level(now)) / this.perMs);
  }
}

/** A duration as OpenAI writes it in x-ratelimit-reset-*: "120ms", "1.5s", "6m0s". */
export function openAiDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Number(((ms % 60_000) / 1000).toFixed(3));
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}

function openAiError(
  status: number,
  message: string,
  type: string,
  code: string | null,
  headers: Record<string, string> = {},
): Response {
  return Response.json({ error: { message, type, param: null, code } }, { status, headers });
}

interface EmbeddingsRequest {
  model: string;
  inputs: string[];
  dimensions: number;
  tokens: number;
}

/** The request's model, texts, dimensions and tokens, or the 400/404 OpenAI would answer. */
function readRequest(body: unknown, settings: QuotaSettings): EmbeddingsRequest | Response {
  const { model, input, dimensions } = (body ?? {}) as Record<string, unknown>;
  const inputs = typeof input === "string" ? [input] : input;
  if (
    !Array.isArray(inputs) || inputs.length === 0 || !inputs.every((t) => typeof t === "string")
  ) {
    return openAiError(
      400,
      "'input' must be a string or a non-empty array of strings",
      "invalid_request_error",
      null,
    );
  }
  const native = typeof model === "string" ? settings.models[model] : undefined;
  if (native === undefined) {
    return openAiError(
      404,
      `The model \`${String(model)}\` does not exist or you do not have access to it.`,
      "invalid_request_error",
      "model_not_found",
    );
  }
  const asked = dimensions ?? native;
  if (typeof asked !== "number" || !Number.isInteger(asked) || asked < 1 || asked > native) {
    return openAiError(
      400,
      `'dimensions' must be an integer from 1 to ${native} for ${model}, got ${
        JSON.stringify(asked)
      }`,
      "invalid_request_error",
      null,
    );
  }
  if (inputs.length > settings.maxInputs) {
    return openAiError(
      400,
      `'input' holds ${inputs.length} texts; at most ${settings.maxInputs} per request`,
      "invalid_request_error",
      null,
    );
  }
  const tokens = inputs.reduce(
    (sum, text) => sum + Math.ceil(text.length / settings.charactersPerToken),
    0,
  );
  if (tokens > settings.maxTokensPerRequest) {
    return openAiError(
      400,
      `Requested ${tokens} tokens, max ${settings.maxTokensPerRequest} tokens per request`,
      "max_tokens_per_request",
      "max_tokens_per_request",
    );
  }
  return { model: model as string, inputs, dimensions: asked, tokens };
}

/** OpenAI's x-ratelimit-* headers for the buckets as they are now. */
function rateHeaders(requests: Bucket, tokens: Bucket, now: number): Record<string, string> {
  return {
    "x-ratelimit-limit-requests": String(Math.round(requests.perMs * 60_000)),
    "x-ratelimit-limit-tokens": String(Math.round(tokens.perMs * 60_000)),
    "x-ratelimit-remaining-requests": String(Math.max(0, Math.floor(requests.level(now)))),
    "x-ratelimit-remaining-tokens": String(Math.max(0, Math.floor(tokens.level(now)))),
    "x-ratelimit-reset-requests": openAiDuration(requests.untilFull(now)),
    "x-ratelimit-reset-tokens": openAiDuration(tokens.untilFull(now)),
  };
}

/** The 429 of a request the buckets cannot admit now, naming the limit it hit. */
function rateLimited(request: EmbeddingsRequest, requests: Bucket, tokens: Bucket, now: number) {
  const waitMs = Math.max(requests.waitFor(1, now), tokens.waitFor(request.tokens, now), 1);
  const limit = tokens.waitFor(request.tokens, now) > 0
    ? "tokens per min (TPM)"
    : "requests per min (RPM)";
  return openAiError(
    429,
    `Rate limit reached for ${request.model} on ${limit}: Requested ${request.tokens} tokens. Please try again in ${
      openAiDuration(waitMs)
    }.`,
    limit.startsWith("tokens") ? "tokens" : "requests",
    "rate_limit_exceeded",
    {
      ...rateHeaders(requests, tokens, now),
      "retry-after": String(Math.ceil(waitMs / 1000)),
      "retry-after-ms": String(waitMs),
    },
  );
}

/** Starts the server on 127.0.0.1 (`port` 0: any free port). */
export function startQuotaServer(overrides: Partial<QuotaSettings> = {}, port = 0): QuotaServer {
  const settings = { ...defaultQuotaSettings, ...overrides };
  const started = performance.now();
  const requests = new Bucket(
    settings.requestsPerMinute / 60 * settings.burstSeconds,
    settings.requestsPerMinute / 60_000,
    started,
  );
  const tokens = new Bucket(
    settings.tokensPerMinute / 60 * settings.burstSeconds,
    settings.tokensPerMinute / 60_000,
    started,
  );
  const counts: QuotaCounts = {
    calls: 0,
    answered: 0,
    rateLimited: 0,
    refused: 0,
    tokens: 0,
    texts: 0,
  };
  const closing = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: () => {},
    signal: closing.signal,
  }, async (http) => {
    counts.calls += 1;
    if (http.method !== "POST" || !new URL(http.url).pathname.endsWith("/embeddings")) {
      counts.refused += 1;
      return openAiError(
        404,
        `no route ${http.method} ${new URL(http.url).pathname}`,
        "invalid_request_error",
        null,
      );
    }
    const request = readRequest(await http.json().catch(() => null), settings);
    if (request instanceof Response) {
      counts.refused += 1;
      return request;
    }
    const now = performance.now();
    if (requests.level(now) < 1 || tokens.level(now) < request.tokens) {
      counts.rateLimited += 1;
      return rateLimited(request, requests, tokens, now);
    }
    requests.take(1);
    tokens.take(request.tokens);
    const headers = rateHeaders(requests, tokens, now);
    await new Promise((resolve) => setTimeout(resolve, settings.latencyMs));
    counts.answered += 1;
    counts.tokens += request.tokens;
    counts.texts += request.inputs.length;
    return Response.json({
      object: "list",
      model: request.model,
      data: request.inputs.map((text, index) => ({
        object: "embedding",
        index,
        embedding: textHashVector(text, request.dimensions),
      })),
      usage: { prompt_tokens: request.tokens, total_tokens: request.tokens },
    }, { headers });
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    settings,
    counts,
    close: async () => {
      closing.abort();
      await server.finished;
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: Object.fromEntries(
      [
        "port",
        "latency-ms",
        "tokens-per-minute",
        "requests-per-minute",
        "burst-seconds",
        "max-inputs",
        "max-tokens",
      ]
        .map((name) => [name, { type: "string" as const }]),
    ),
  });
  const number = (name: string, fallback: number) => {
    const raw = values[name];
    const value = Number(raw ?? fallback);
    if (typeof raw === "string" && (!Number.isFinite(value) || value < 0)) {
      throw new Error(`--${name} must be a number, zero or more; got ${raw}`);
    }
    return value;
  };
  const server = startQuotaServer({
    latencyMs: number("latency-ms", defaultQuotaSettings.latencyMs),
    tokensPerMinute: number("tokens-per-minute", defaultQuotaSettings.tokensPerMinute),
    requestsPerMinute: number("requests-per-minute", defaultQuotaSettings.requestsPerMinute),
    burstSeconds: number("burst-seconds", defaultQuotaSettings.burstSeconds),
    maxInputs: number("max-inputs", defaultQuotaSettings.maxInputs),
    maxTokensPerRequest: number("max-tokens", defaultQuotaSettings.maxTokensPerRequest),
  }, number("port", 0));
  console.log(`quota server: OPENAI_BASE_URL=${server.baseUrl}; Ctrl-C to stop`);
  setInterval(() => console.log(JSON.stringify(server.counts)), 5_000);
}
