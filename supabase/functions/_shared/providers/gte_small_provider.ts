// Supabase's built-in gte-small model (384 dims), available only inside Supabase's edge runtime.
import type { EmbeddingProvider } from "./embedding_provider.ts";

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

export class GteSmallProvider implements EmbeddingProvider {
  readonly name = "gte-small";
  readonly model = "gte-small";
  readonly dimensions = 384;
  #session: SupabaseAiSession | undefined;

  async embed(texts: readonly string[]): Promise<number[][]> {
    const runtime = supabaseAiRuntime();
    if (!runtime) {
      throw new Error(
        "EMBEDDING_PROVIDER=gte-small needs Supabase's edge runtime (Supabase.ai.Session); use 'local' or 'openai' elsewhere",
      );
    }
    this.#session ??= new runtime.ai.Session("gte-small");
    const vectors: number[][] = [];
    // The session takes one text per call; gte-small truncates input to 512 tokens itself.
    for (const text of texts) {
      const output = await this.#session.run(text, { mean_pool: true, normalize: true });
      vectors.push(Array.from(output as ArrayLike<number>));
    }
    return vectors;
  }
}
