// Provider for any OpenAI-compatible /embeddings endpoint (OpenAI, Azure-style gateways, Ollama, vLLM...).
import type { EmbeddingProvider } from "./embedding_provider.ts";
import { chunkTexts } from "./embedding_provider.ts";
import type { OpenAiSettings } from "./provider_settings.ts";

export interface OpenAiCompatibleSettings extends OpenAiSettings {
  /** Texts per HTTP request. */
  requestBatchSize: number;
  timeoutMs: number;
}

interface EmbeddingsResponse {
  data: { index: number; embedding: unknown }[];
}

function isEmbeddingsResponse(value: unknown): value is EmbeddingsResponse {
  if (typeof value !== "object" || value === null) return false;
  const data = (value as { data?: unknown }).data;
  return Array.isArray(data) &&
    data.every((item) =>
      typeof item === "object" && item !== null && typeof item.index === "number"
    );
}

export class OpenAiCompatibleProvider implements EmbeddingProvider {
  readonly name = "openai";
  readonly model: string;
  readonly dimensions: number;
  readonly #settings: OpenAiCompatibleSettings;

  constructor(settings: OpenAiCompatibleSettings) {
    this.#settings = settings;
    this.model = settings.model;
    this.dimensions = settings.dimensions;
  }

  async embed(texts: readonly string[]): Promise<number[][]> {
    const vectors: number[][] = [];
    for (const chunk of chunkTexts(texts, this.#settings.requestBatchSize)) {
      vectors.push(...await this.#embedChunk(chunk));
    }
    return vectors;
  }

  async #embedChunk(texts: string[]): Promise<number[][]> {
    const url = `${this.#settings.baseUrl.replace(/\/+$/, "")}/embeddings`;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.#settings.apiKey) headers.authorization = `Bearer ${this.#settings.apiKey}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({
          model: this.model,
          input: texts,
          dimensions: this.dimensions,
          encoding_format: "float",
        }),
        signal: AbortSignal.timeout(this.#settings.timeoutMs),
      });
    } catch (error) {
      throw new Error(`POST ${url} failed: ${(error as Error).message}`);
    }
    const bodyText = await response.text();
    if (!response.ok) {
      throw new Error(`POST ${url} answered ${response.status}: ${bodyText.slice(0, 300)}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(bodyText);
    } catch {
      throw new Error(
        `POST ${url} answered with something other than JSON: ${bodyText.slice(0, 120)}`,
      );
    }
    if (!isEmbeddingsResponse(body)) {
      throw new Error(`POST ${url} answered JSON without a data[] of {index, embedding}`);
    }
    if (body.data.length !== texts.length) {
      throw new Error(
        `${this.model} returned ${body.data.length} embeddings for ${texts.length} texts`,
      );
    }
    const ordered: number[][] = new Array(texts.length);
    for (const item of body.data) {
      if (!Number.isInteger(item.index) || item.index < 0 || item.index >= texts.length) {
        throw new Error(`${this.model} returned an embedding with index ${item.index}`);
      }
      if (!Array.isArray(item.embedding)) {
        throw new Error(`${this.model} returned a non-array embedding at index ${item.index}`);
      }
      ordered[item.index] = item.embedding as number[];
    }
    return ordered;
  }
}
