// Supabase's built-in gte-small model (384 dims), available only inside Supabase's edge runtime.
import type { EmbeddingProvider, EmbedOptions } from "./embedding_provider.ts";
import type { InputLimit } from "./input_limit.ts";
import { ProviderError, throwIfOutOfTime } from "./provider_error.ts";

/** The part of the edge runtime's global `Supabase.ai` API this provider uses. */
interface SupabaseAiSession {
  run(
    input: string,
    options: { mean_pool: boolean; normalize: boolean },
  ): Promise<unknown>;
}
interface SupabaseAiGlobal {
  ai: { Session: new (model: string) => SupabaseAiSession };
}

export function supabaseAiRuntime(): SupabaseAiGlobal | undefined {
  const candidate = (globalThis as { Supabase?: SupabaseAiGlobal }).Supabase;
  return candidate?.ai?.Session ? candidate : undefined;
}

/**
 * gte-small reads 512 tokens and cuts the rest itself. Tokens are not counted here: texts over
 * 1,536 characters (3 characters a token, below English's average of about 4) are reported as
 * cut, an estimate that errs towards reporting.
 */
const gteSmallInputLimit: InputLimit = {
  maxCharacters: 512 * 3,
  description: "512 tokens (estimated as 1,536 characters, 3 characters a token)",
};

export class GteSmallProvider implements EmbeddingProvider {
  readonly name = "gte-small";
  readonly model = "gte-small";
  readonly dimensions = 384;
  readonly inputLimit = gteSmallInputLimit;
  #session: SupabaseAiSession | undefined;

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<number[][]> {
    const runtime = supabaseAiRuntime();
    if (!runtime) {
      throw new ProviderError(
        "unavailable",
        "EMBEDDING_PROVIDER=gte-small needs Supabase's edge runtime (Supabase.ai.Session); use 'local' or 'openai' elsewhere",
      );
    }
    this.#session ??= new runtime.ai.Session("gte-small");
    const vectors: number[][] = [];
    // The session takes one text per call.
    for (const text of texts) {
      throwIfOutOfTime(options.signal, "gte-small embedding");
      let output: unknown;
      try {
        output = await this.#session.run(text, { mean_pool: true, normalize: true });
      } catch (error) {
        throw new ProviderError("unavailable", `gte-small failed: ${(error as Error).message}`);
      }
      vectors.push(Array.from(output as ArrayLike<number>));
    }
    return vectors;
  }
}
