// The search command's query vector: the query embedded by the provider this environment configures (--provider, EMBEDDING_PROVIDER, else local), refused when that provider's model is not the target's.
import { queryProblem } from "../../supabase/functions/_shared/search/query_text.ts";
import type { SearchTarget } from "../../supabase/functions/_shared/search/search_target.ts";
import { errorMessage } from "../../supabase/functions/_shared/error_message.ts";
import { CliFailure } from "./exit_codes.ts";
import { buildProvider, chooseProvider } from "./provider_choice.ts";

/** The query's problem before any database or provider is asked (empty, no letter or digit). */
export function checkQueryText(query: string): void {
  const problem = queryProblem(query, "", undefined);
  if (problem !== null) throw new CliFailure(problem);
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
  const provider = await buildProvider(chooseProvider(providerFlag, databaseUrl));
  if (provider.model !== target.model || provider.dimensions !== target.dimensions) {
    throw new CliFailure(
      `target ${target.name} holds vectors of model ${target.model} (${target.dimensions} dimensions), but the ${provider.name} provider makes ${provider.model} (${provider.dimensions} dimensions): pass the --provider (or set EMBEDDING_PROVIDER) that makes ${target.model}, or search with --mode keyword`,
    );
  }
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
