// doctor's one check only the command line can make: is each target's model the configured provider's?
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import { createProvider } from "../../supabase/functions/_shared/providers/create_provider.ts";
import type { EmbeddingProvider } from "../../supabase/functions/_shared/providers/embedding_provider.ts";
import type { Finding, RegisteredTarget } from "./doctor_findings.ts";
import { configuredSettings } from "./provider_choice.ts";

const providerCheckName = "target_model_matches_provider";

/** The provider identity a run would use; building it loads no model weights. */
export type ProviderChoice = { ok: true; provider: EmbeddingProvider } | {
  ok: false;
  error: string;
};

/**
 * The provider the embed function would build from this environment (EMBEDDING_PROVIDER and the
 * OPENAI_* settings), with `--provider` taking precedence; local off Supabase by default.
 */
export async function configuredProvider(
  providerFlag: string | undefined,
  databaseUrl: string,
  environment: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): Promise<ProviderChoice> {
  try {
    const settings = configuredSettings(providerFlag, databaseUrl, environment);
    return { ok: true, provider: await createProvider(settings) };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

/** How to configure a provider that makes the given model. */
function providerFor(model: string, dimensions: number): string {
  if (model === "gte-small") return "EMBEDDING_PROVIDER=gte-small (or --provider gte-small)";
  if (model === "universal-sentence-encoder-lite-512") {
    return "EMBEDDING_PROVIDER=local-512 (or --provider local-512)";
  }
  if (model.startsWith("universal-sentence-encoder-lite")) {
    return "EMBEDDING_PROVIDER=local (or --provider local)";
  }
  return `EMBEDDING_PROVIDER=openai with OPENAI_EMBEDDING_MODEL=${model} OPENAI_EMBEDDING_DIMENSIONS=${dimensions} (or --provider openai)`;
}

export function checkTargetModels(
  targets: readonly RegisteredTarget[],
  choice: ProviderChoice,
): Finding[] {
  if (!choice.ok) {
    return [{
      level: "error",
      check_name: providerCheckName,
      subject: "provider",
      finding:
        `the provider could not be configured, so no target's model can be compared: ${choice.error}`,
      fix:
        "set EMBEDDING_PROVIDER (gte-small, openai, local or local-512) and its settings, or pass --provider",
    }];
  }
  const { provider } = choice;
  const findings: Finding[] = targets
    .filter((target) =>
      target.model !== provider.model || target.dimensions !== provider.dimensions
    )
    .map((target) => ({
      level: "error",
      check_name: providerCheckName,
      subject: target.name,
      finding:
        `target ${target.name} embeds with model ${target.model} (${target.dimensions} dimensions) but the configured provider ${provider.name} makes ${provider.model} (${provider.dimensions} dimensions): the worker refuses the target`,
      fix: `select embeddings.set_target_model(${target.id}, '${
        provider.model.replaceAll("'", "''")
      }', ${provider.dimensions}); -- re-embeds every row; or configure ${
        providerFor(target.model, target.dimensions)
      }`,
    }));
  if (findings.length > 0) return findings;
  return [{
    level: "ok",
    check_name: providerCheckName,
    subject: null,
    finding: targets.length === 0
      ? `no target is registered, so none can disagree with the ${provider.name} provider's ${provider.model}`
      : `every target (${targets.length}) embeds with the ${provider.name} provider's model ${provider.model} (${provider.dimensions} dimensions)`,
    fix: null,
  }];
}
