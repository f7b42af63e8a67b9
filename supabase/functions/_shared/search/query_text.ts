// Decides whether a search query can be searched for: not empty in meaning, and within what the target's model reads.
import type { InputLimit } from "../providers/input_limit.ts";

/** A letter or a digit of any script: what a query needs for words to be found or a meaning embedded. */
const meaningfulCharacter = /[\p{L}\p{N}]/u;

/** Why the query cannot be searched for (a 400's reason), or null when it can. */
export function queryProblem(
  query: string,
  model: string,
  inputLimit: InputLimit | undefined,
): string | null {
  if (query.trim() === "") return "query is empty: there is nothing to search for";
  if (!meaningfulCharacter.test(query)) {
    return "query has no letter or digit: there is nothing to search for";
  }
  if (inputLimit !== undefined && query.length > inputLimit.maxCharacters) {
    return `query is ${query.length} characters; model ${model} reads at most ${inputLimit.description}: shorten it`;
  }
  return null;
}
