// Reads the embed function's request body as run options: {target?, batchSize?, maxRows?, timeBudgetMs?, leaseSeconds?}.
import { defaultRunOptions, parseRunOptions, type RunOptions } from "./run_options.ts";

export type ParsedEmbedRequest =
  | { ok: true; options: RunOptions }
  | { ok: false; error: string };

/** `bodyText` is the raw request body; an empty body means all defaults. */
export function parseEmbedRequest(bodyText: string): ParsedEmbedRequest {
  if (bodyText.trim() === "") return { ok: true, options: { ...defaultRunOptions } };
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
