// Validates the embed function's request body: {batchSize?, maxRows?, timeBudgetMs?}, each a bounded integer.
import { type BackfillOptions, defaultBackfillOptions } from "./backfill.ts";

const limits: Record<keyof BackfillOptions, { min: number; max: number }> = {
  batchSize: { min: 1, max: 1000 },
  maxRows: { min: 1, max: 1_000_000 },
  timeBudgetMs: { min: 100, max: 400_000 },
};

export type ParsedEmbedRequest =
  | { ok: true; options: BackfillOptions }
  | { ok: false; error: string };

/** `bodyText` is the raw request body; an empty body means all defaults. */
export function parseEmbedRequest(bodyText: string): ParsedEmbedRequest {
  if (bodyText.trim() === "") return { ok: true, options: { ...defaultBackfillOptions } };
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch (error) {
    return { ok: false, error: `body is not valid JSON: ${(error as Error).message}` };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, error: 'body must be a JSON object like {"batchSize": 50}' };
  }
  const options: BackfillOptions = { ...defaultBackfillOptions };
  for (const [key, value] of Object.entries(body)) {
    if (!(key in limits)) {
      return {
        ok: false,
        error: `unknown field ${JSON.stringify(key)}; allowed: ${Object.keys(limits).join(", ")}`,
      };
    }
    const name = key as keyof BackfillOptions;
    const { min, max } = limits[name];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      return {
        ok: false,
        error: `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
      };
    }
    options[name] = value;
  }
  return { ok: true, options };
}
