// doctor's one check only the command line can make: which configured provider serves each target's model, and which targets none does.
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import type { ProviderRouter } from "../../supabase/functions/_shared/providers/provider_router.ts";
import type { Finding, RegisteredTarget } from "./doctor_findings.ts";
import { chooseProvider, routerFor } from "./provider_choice.ts";

const providerCheckName = "target_model_matches_provider";

/** The providers a run would route to; making it builds no provider and loads no model. */
export type ProviderChoice = { ok: true; router: ProviderRouter } | {
  ok: false;
  error: string;
};

/**
 * The providers the embed function would route to from this environment (EMBEDDING_PROVIDERS or
 * EMBEDDING_PROVIDER, and OPENAI_*), with the `--provider` list taking precedence; local off
 * Supabase by default.
 */
export function configuredProvider(
  providerFlag: string | undefined,
  databaseUrl: string,
  environment: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): ProviderChoice {
  try {
    return { ok: true, router: routerFor(chooseProvider(providerFlag, databaseUrl, environment)) };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

/** How to configure a provider that makes the given model. */
function providerFor(model: string, dimensions: number): string {
  if (model === "gte-small") return "gte-small";
  if (model === "universal-sentence-encoder-lite-512") return "local-512";
  if (model.startsWith("universal-sentence-encoder-lite")) return "local";
  return `openai with OPENAI_EMBEDDING_MODEL=${model} OPENAI_EMBEDDING_DIMENSIONS=${dimensions}`;
}

/** One finding per target: the provider that serves it (ok), or that none does (error, skipped by every run). */
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
        `the providers could not be configured, so no target's model can be compared: ${choice.error}`,
      fix:
        "set EMBEDDING_PROVIDERS (a list of gte-small, openai, local, local-512) and their settings, or pass --provider",
    }];
  }
  const { router } = choice;
  if (targets.length === 0) {
    const names = router.entries.map((entry) => entry.name).join(", ");
    return [{
      level: "ok",
      check_name: providerCheckName,
      subject: null,
      finding: `no target is registered, so none can disagree with the providers ${names}`,
      fix: null,
    }];
  }
  return targets.map((target): Finding => {
    const route = router.route(target);
    if (route.ok) {
      return {
        level: "ok",
        check_name: providerCheckName,
        subject: target.name,
        finding:
          `target ${target.name} embeds with model ${target.model} (${target.dimensions} dimensions), made by the configured provider ${route.entry.name}`,
        fix: null,
      };
    }
    const [first] = router.entries;
    return {
      level: "error",
      check_name: providerCheckName,
      subject: target.name,
      finding: `${route.reason}: every run skips the target`,
      fix: `add ${
        providerFor(target.model, target.dimensions)
      } to EMBEDDING_PROVIDERS (or --provider); or select embeddings.set_target_model(${target.id}, '${
        first.model.replaceAll("'", "''")
      }', ${first.dimensions}); -- re-embeds every row`,
    };
  });
}
