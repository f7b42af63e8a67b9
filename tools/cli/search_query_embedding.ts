// The search command's query vector: the query embedded by the configured provider that makes the target's model (--provider, EMBEDDING_PROVIDERS, EMBEDDING_PROVIDER, else local,local-512), refused when none does.
import { queryProblem } from "../../supabase/functions/_shared/search/query_text.ts";
import type { SearchTarget } from "../../supabase/functions/_shared/search/search_target.ts";
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import { CliFailure } from "./exit_codes.ts";
import { chooseProvider, routerFor } from "./provider_choice.ts";
import type { EmbeddingProvider } from "../../supabase/functions/_shared/providers/embedding_provider.ts";

/** The query's problem before any database or provider is asked (empty, no letter or digit). */
export function checkQueryText(query: string): void {
  const problem = queryProblem(query, "", undefined);
  if (problem !== null) throw new CliFailure(problem);
}

/** The configured provider that makes the target's model, built; or the error that says which to pass. */
async function providerOfTarget(
  target: SearchTarget,
  providerFlag: string | undefined,
  databaseUrl: string,
): Promise<EmbeddingProvider> {
  const router = routerFor(chooseProvider(providerFlag, databaseUrl));
  const route = router.route(target);
  if (!route.ok) {
    const made = router.entries.map((entry) =>
      `the ${entry.name} provider makes ${entry.model} (${entry.dimensions} dimensions)`
    ).join(", ");
    throw new CliFailure(
      `target ${target.name} holds vectors of model ${target.model} (${target.dimensions} dimensions), but ${made}: pass the --provider (or set EMBEDDING_PROVIDERS) that makes ${target.model}, or search with --mode keyword`,
    );
  }
  try {
    return await router.provider(route.entry);
  } catch (error) {
    throw new CliFailure(errorMessage(error));
  }
}

/**
 * The query embedded with the target's model. The provider is chosen as the other commands choose
 * it; a provider of another model would put the query in another space than the stored vectors,
 * so it is an error that says which provider to pass.
 */
export async function embedSearchQuery(
  query: string,
  target: SearchTarget,
  providerFlag: string | undefined,
  databaseUrl: string,
): Promise<number[]> {
  const provider = await providerOfTarget(target, providerFlag, databaseUrl);
  const problem = queryProblem(query, provider.model, provider.inputLimit);
  if (problem !== null) throw new CliFailure(problem);
  try {
    const [vector] = await provider.embed([query]);
    return vector;
  } catch (error) {
    throw new CliFailure(
      `the ${provider.name} provider could not embed the query: ${errorMessage(error)}`,
    );
  }
}
