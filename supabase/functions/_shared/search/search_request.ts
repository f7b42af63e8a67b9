// Reads the search function's request body: {query, target, matchCount?, mode?, filters?}, each field checked, with the reason when one is wrong.
import { jsonNestingProblem } from "../embed_request.ts";

export const searchModes = ["hybrid", "semantic", "keyword"] as const;
export type SearchMode = typeof searchModes[number];

/** One filter's value: equality with a scalar, any of a list, or IS NULL. */
export type FilterScalar = string | number | boolean;
export type FilterValue = FilterScalar | null | FilterScalar[];

export interface SearchRequest {
  /** The words searched for and embedded; never empty. */
  query: string;
  /** The registered target searched (embeddings.targets.name); required: the engine has no default. */
  target: string;
  /** How many rows to answer with at most. */
  matchCount: number;
  mode: SearchMode;
  /** {"column": value}: equality on the target table's columns. */
  filters: Record<string, FilterValue>;
}

export const defaultMatchCount = 10;
export const matchCountLimits = { min: 1, max: 100 } as const;
/** The body, its filters object, a filter's list: nothing in a search nests deeper. */
const maxJsonNesting = 3;
/** A list filter holds at most this many values. */
export const maxFilterValues = 1000;

export type ParsedSearchRequest =
  | { ok: true; request: SearchRequest }
  | { ok: false; error: string };

const fields = ["query", "target", "matchCount", "mode", "filters"] as const;

function refused(error: string): ParsedSearchRequest {
  return { ok: false, error };
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

function isScalar(value: unknown): value is FilterScalar {
  return typeof value === "string" || typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value));
}

function parseFilters(
  raw: unknown,
): { ok: true; filters: Record<string, FilterValue> } | { ok: false; error: string } {
  if (raw === undefined) return { ok: true, filters: {} };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      error:
        `filters must be an object of column names to values, like {"category": "mixing"}; got ${
          shown(raw)
        }`,
    };
  }
  const filters: Record<string, FilterValue> = {};
  for (const [column, value] of Object.entries(raw)) {
    if (column.trim() === "") return { ok: false, error: "filters name a column with no name" };
    if (value === null || isScalar(value)) {
      filters[column] = value;
    } else if (Array.isArray(value) && value.length <= maxFilterValues && value.every(isScalar)) {
      filters[column] = value;
    } else {
      return {
        ok: false,
        error:
          `filter on ${column} must be a string, number, boolean, null or a list of at most ${maxFilterValues} of them; got ${
            shown(value)
          }`,
      };
    }
  }
  return { ok: true, filters };
}

/** `bodyText` is the raw request body. Only the body's own fields are read. */
export function parseSearchRequest(bodyText: string): ParsedSearchRequest {
  if (bodyText.trim() === "") {
    return refused('the body is empty: send {"query": "...", "target": "<a registered target>"}');
  }
  // Checked before parsing, so no parser walks a deeply nested value.
  if (jsonNestingProblem(bodyText, maxJsonNesting) !== null) {
    return refused(
      `body nests arrays or objects deeper than ${maxJsonNesting} levels; a search is at most {"filters": {"column": [values]}}`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch (error) {
    return refused(`body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return refused(
      'body must be a JSON object like {"query": "punchy kick drum", "target": "<a registered target>"}',
    );
  }
  const own = Object.keys(body);
  const unknown = own.filter((name) => !(fields as readonly string[]).includes(name));
  if (unknown.length > 0) {
    return refused(
      `unknown field ${shown(unknown[0])}: a search takes ${fields.join(", ")}`,
    );
  }
  const value = (name: typeof fields[number]): unknown =>
    Object.hasOwn(body, name) ? (body as Record<string, unknown>)[name] : undefined;

  const query = value("query");
  if (typeof query !== "string") {
    return refused(`query must be a string of words to search for; got ${shown(query ?? null)}`);
  }
  if (query.trim() === "") return refused("query is empty: there is nothing to search for");

  const target = value("target");
  if (target === undefined) {
    return refused(
      "target is required: the name of the registered target to search (embeddings.targets.name)",
    );
  }
  if (typeof target !== "string" || target.trim() === "") {
    return refused(`target must be the name of a registered target; got ${shown(target)}`);
  }

  const matchCount = value("matchCount") ?? defaultMatchCount;
  if (
    typeof matchCount !== "number" || !Number.isInteger(matchCount) ||
    matchCount < matchCountLimits.min || matchCount > matchCountLimits.max
  ) {
    return refused(
      `matchCount must be an integer from ${matchCountLimits.min} to ${matchCountLimits.max}; got ${
        shown(matchCount)
      }`,
    );
  }

  const mode = value("mode") ?? "hybrid";
  if (typeof mode !== "string" || !(searchModes as readonly string[]).includes(mode)) {
    return refused(`mode must be one of ${searchModes.join(", ")}; got ${shown(mode)}`);
  }

  const filters = parseFilters(value("filters"));
  if (!filters.ok) return refused(filters.error);

  return {
    ok: true,
    request: { query, target, matchCount, mode: mode as SearchMode, filters: filters.filters },
  };
}
