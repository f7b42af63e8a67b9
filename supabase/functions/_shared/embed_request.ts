// Reads the embed function's request body as run options: {target?, batchSize?, maxRows?, timeBudgetMs?, leaseSeconds?}.
import { defaultRunOptions, parseRunOptions, type RunOptions } from "./run_options.ts";

/** Deepest nesting of arrays and objects a body may have; run options are one flat object. */
export const maxJsonNesting = 16;

export type ParsedEmbedRequest =
  | { ok: true; options: RunOptions }
  | { ok: false; error: string };

/** Null when the JSON text nests no deeper than `limit`; else what is wrong. Strings are skipped. */
export function jsonNestingProblem(text: string, limit = maxJsonNesting): string | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const character = text[i];
    if (inString) {
      if (character === "\\") i += 1;
      else if (character === '"') inString = false;
    } else if (character === '"') {
      inString = true;
    } else if (character === "[" || character === "{") {
      depth += 1;
      if (depth > limit) {
        return `body nests arrays or objects deeper than ${limit} levels; run options are one flat object`;
      }
    } else if (character === "]" || character === "}") {
      depth -= 1;
    }
  }
  return null;
}

/** `bodyText` is the raw request body; an empty body means all defaults. */
export function parseEmbedRequest(bodyText: string): ParsedEmbedRequest {
  if (bodyText.trim() === "") return { ok: true, options: { ...defaultRunOptions } };
  // Checked before parsing, so no parser or error message ever walks a deeply nested value.
  const nesting = jsonNestingProblem(bodyText);
  if (nesting) return { ok: false, error: nesting };
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch (error) {
    return { ok: false, error: `body is not valid JSON: ${(error as Error).message}` };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, error: 'body must be a JSON object like {"batchSize": 50}' };
  }
  const parsed = parseRunOptions(body as Record<string, unknown>);
  return parsed.ok ? parsed : { ok: false, error: parsed.error };
}
