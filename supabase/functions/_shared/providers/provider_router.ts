// Routes each target to the provider that makes its model: a map model -> provider built once, each provider built only when a target of its model is worked.
import { errorMessage } from "../error_message.ts";
import type { EmbeddingProvider } from "./embedding_provider.ts";
import { type ModelIdentity, modelKey } from "./served_model.ts";

/** One provider a run may use: its name, the model it makes, and how to build it. */
export interface ProviderEntry extends ModelIdentity {
  name: string;
  /** Called at most once while it succeeds; a failure is not kept, so the next run tries again. */
  build: () => Promise<EmbeddingProvider>;
}

/** A target as routing sees it. */
export interface RoutedTarget extends ModelIdentity {
  id: number;
  name: string;
}

export type Route =
  | { ok: true; entry: ProviderEntry }
  | {
    ok: false;
    /** Why no configured provider serves the target, and the two ways to fix it. */
    reason: string;
  };

export class ProviderRouter {
  readonly entries: readonly ProviderEntry[];
  readonly #byModel = new Map<string, ProviderEntry>();
  readonly #built = new Map<string, Promise<EmbeddingProvider>>();

  /** Throws when two entries make the same model: which one a target gets must never be a guess. */
  constructor(entries: readonly ProviderEntry[]) {
    if (entries.length === 0) throw new Error("no embedding provider is configured");
    this.entries = entries;
    for (const entry of entries) {
      const key = modelKey(entry);
      const other = this.#byModel.get(key);
      if (other) {
        throw new Error(
          `providers ${other.name} and ${entry.name} both make ${key}: configure only one of them`,
        );
      }
      this.#byModel.set(key, entry);
    }
  }

  /** A router of one provider already built (tests, the stand-in, one-provider callers). */
  static of(provider: EmbeddingProvider): ProviderRouter {
    return new ProviderRouter([{
      name: provider.name,
      model: provider.model,
      dimensions: provider.dimensions,
      build: () => Promise.resolve(provider),
    }]);
  }

  /** The configured provider that makes the target's model, or why none does. */
  route(target: RoutedTarget): Route {
    const entry = this.#byModel.get(modelKey(target));
    if (entry) return { ok: true, entry };
    const made = this.entries.map((other) => `${other.name} makes ${modelKey(other)}`).join(", ");
    const first = this.entries[0];
    return {
      ok: false,
      reason:
        `target ${target.name} embeds with model ${target.model} (${target.dimensions} dimensions) but no configured provider makes it (${made}); vectors of two models are never mixed. Configure a provider for ${target.model} (EMBEDDING_PROVIDERS) or switch the target with embeddings.set_target_model(${target.id}, '${
          first.model.replaceAll("'", "''")
        }', ${first.dimensions})`,
    };
  }

  /** The entry's provider, built on first use and kept; a failed build is forgotten. */
  provider(entry: ProviderEntry): Promise<EmbeddingProvider> {
    let built = this.#built.get(entry.name);
    if (!built) {
      built = entry.build().catch((error) => {
        this.#built.delete(entry.name);
        throw new Error(`the ${entry.name} provider could not be set up: ${errorMessage(error)}`);
      });
      this.#built.set(entry.name, built);
    }
    return built;
  }
}
