// Provider for any OpenAI-compatible /embeddings endpoint (OpenAI, Azure-style gateways, Ollama, vLLM...).
import { callDeadline } from "./call_deadline.ts";
import type { EmbeddingProvider, EmbedOptions } from "./embedding_provider.ts";
import { chunkTexts } from "./embedding_provider.ts";
import { cutToInputLimit, type InputLimit } from "./input_limit.ts";
import { ProviderError, throwIfOutOfTime } from "./provider_error.ts";
import type { RequestLimits } from "./request_limits.ts";
import type { OpenAiSettings } from "./provider_settings.ts";
import { quotaHeaders, rateLimitWait } from "./retry_after.ts";

export interface OpenAiCompatibleSettings extends OpenAiSettings {
  /** Texts per HTTP request. */
  requestBatchSize: number;
}

/**
 * OpenAI's embedding models read 8,191 tokens and refuse longer input (a 400) rather than cut it,
 * so texts are cut here, by characters: at 3 characters a token (English averages about 4), a
 * text cut to this length fits in most cases, and every text cut is reported as truncated.
 */
export const openAiInputLimit: InputLimit = {
  maxCharacters: 8_191 * 3,
  description: "8,191 tokens (cut at 24,573 characters, 3 characters a token)",
};

/** OpenAI's per-request caps: 2,048 inputs and 300,000 tokens; a larger request is a 400. */
export const openAiRequestLimits: RequestLimits = { maxInputs: 2_048, maxTokens: 300_000 };

/** How much of an answer's body an error message quotes. */
const quotedBodyCharacters = 300;

/** The vectors of an answer in the order of the texts sent, or why the answer cannot be used. */
function orderedEmbeddings(body: unknown, count: number): number[][] | string {
  if (
    typeof body !== "object" || body === null || !Array.isArray((body as { data?: unknown }).data)
  ) {
    return "the answer is JSON without a data[] of {index, embedding}";
  }
  const data: unknown[] = (body as { data: unknown[] }).data;
  if (data.length !== count) return `the answer has ${data.length} embeddings for ${count} texts`;
  const ordered: (number[] | undefined)[] = new Array(count).fill(undefined);
  for (const [position, item] of data.entries()) {
    const index = typeof item === "object" && item !== null
      ? (item as { index?: unknown }).index
      : undefined;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= count) {
      return `item ${position} of the answer has index ${
        JSON.stringify(index) ?? "undefined"
      }, not an integer from 0 to ${count - 1}`;
    }
    if (ordered[index] !== undefined) {
      const times = data.filter((other) =>
        typeof other === "object" && other !== null &&
        (other as { index?: unknown }).index === index
      ).length;
      return `index ${index} appears ${times} times in the answer: it does not map one-to-one onto the ${count} texts sent`;
    }
    const embedding = (item as { embedding?: unknown }).embedding;
    if (!Array.isArray(embedding)) return `the embedding at index ${index} is not an array`;
    ordered[index] = embedding;
  }
  // Every index from 0 to count - 1 was seen exactly once: count items, none repeated.
  return ordered as number[][];
}

function kindOfStatus(status: number): ProviderError["kind"] {
  if (status === 429) return "rate_limited";
  if (status === 408) return "timeout";
  // The input itself was refused (malformed, too long, filtered): a text of the batch is to blame.
  if (status === 400 || status === 413 || status === 422) return "rejected_input";
  // 5xx, and 401/403/404 (a wrong key, URL or model): nothing a row did, nothing a retry of the
  // row would fix.
  return "unavailable";
}

export class OpenAiCompatibleProvider implements EmbeddingProvider {
  readonly name = "openai";
  readonly model: string;
  readonly dimensions: number;
  readonly inputLimit = openAiInputLimit;
  readonly requestLimits: RequestLimits;
  readonly #settings: OpenAiCompatibleSettings;

  constructor(settings: OpenAiCompatibleSettings) {
    this.#settings = settings;
    this.requestLimits = settings.requestLimits ?? openAiRequestLimits;
    this.model = settings.model;
    this.dimensions = settings.dimensions;
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<number[][]> {
    const vectors: number[][] = [];
    for (const chunk of chunkTexts(texts, this.#settings.requestBatchSize)) {
      throwIfOutOfTime(options.signal, `${this.model} embedding`);
      vectors.push(...await this.#embedChunk(chunk, options));
    }
    return vectors;
  }

  async #embedChunk(texts: string[], options: EmbedOptions): Promise<number[][]> {
    const url = `${this.#settings.baseUrl.replace(/\/+$/, "")}/embeddings`;
    const what = `${this.model}: POST ${url}`;
    const { response, bodyText } = await this.#post(url, what, texts, options.signal);
    const quota = quotaHeaders(response.headers);
    if (quota !== null) options.onQuota?.(quota);
    if (!response.ok) {
      const kind = kindOfStatus(response.status);
      // Only a limit (429) or an overloaded provider (503) says when to call again.
      const retryAfterMs = response.status === 429 || response.status === 503
        ? rateLimitWait(response.headers, Date.now())
        : null;
      throw new ProviderError(
        kind,
        `${what} answered ${response.status}: ${bodyText.slice(0, quotedBodyCharacters)}`,
        retryAfterMs,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(bodyText);
    } catch {
      throw new ProviderError(
        "malformed_answer",
        `${what} answered ${response.status} with something other than JSON: ${
          bodyText.slice(0, 120)
        }`,
      );
    }
    const ordered = orderedEmbeddings(body, texts.length);
    if (typeof ordered === "string") {
      throw new ProviderError("malformed_answer", `${what}: ${ordered}; none of it is used`);
    }
    return ordered;
  }

  /** The request and its whole answer, within the call's timeout and the run's budget. */
  async #post(
    url: string,
    what: string,
    texts: readonly string[],
    runSignal: AbortSignal | undefined,
  ): Promise<{ response: Response; bodyText: string }> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.#settings.apiKey) headers.authorization = `Bearer ${this.#settings.apiKey}`;
    const deadline = callDeadline(this.#settings.timeoutMs, runSignal);
    const started = performance.now();
    try {
      const response = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({
          model: this.model,
          input: texts.map((text) => cutToInputLimit(text, this.inputLimit)),
          dimensions: this.dimensions,
          encoding_format: "float",
        }),
        signal: deadline.signal,
      });
      return { response, bodyText: await response.text() };
    } catch (error) {
      const waited = Math.round(performance.now() - started);
      if (deadline.timedOut()) {
        throw new ProviderError(
          "timeout",
          `${what} did not answer within ${this.#settings.timeoutMs} ms (OPENAI_TIMEOUT_MS)`,
        );
      }
      if (runSignal?.aborted) {
        throw new ProviderError(
          "timeout",
          `${what} did not answer within the ${waited} ms left of the run's time budget`,
        );
      }
      throw new ProviderError("unavailable", `${what} failed: ${(error as Error).message}`);
    } finally {
      deadline.dispose();
    }
  }
}
