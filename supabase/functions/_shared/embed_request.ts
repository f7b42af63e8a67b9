// Validates the embed function's request body: {target?, batchSize?, maxRows?, timeBudgetMs?, leaseSeconds?}.
import { defaultWorkerOptions, type WorkerOptions } from "./worker.ts";

type NumericOption = Exclude<keyof WorkerOptions, "target">;

const limits: Record<NumericOption, { min: number; max: number }> = {
  batchSize: { min: 1, max: 1000 },
  maxRows: { min: 1, max: 1_000_000 },
  timeBudgetMs: { min: 100, max: 400_000 },
  leaseSeconds: { min: 1, max: 3600 },
};
const allowedFields = ["target", ...Object.keys(limits)];

export type ParsedEmbedRequest =
  | { ok: true; options: WorkerOptions }
  | { ok: false; error: string };

/** `bodyText` is the raw request body; an empty body means all defaults. */
export function parseEmbedRequest(bodyText: string): ParsedEmbedRequest {
  if (bodyText.trim() === "") return { ok: true, options: { ...defaultWorkerOptions } };
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch (error) {
    return { ok: false, error: `body is not valid JSON: ${(error as Error).message}` };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, error: 'body must be a JSON object like {"batchSize": 50}' };
  }
  const options: WorkerOptions = { ...defaultWorkerOptions };
  for (const [key, value] of Object.entries(body)) {
    if (key === "target") {
      if (value !== null && (typeof value !== "string" || value.trim() === "")) {
        return {
          ok: false,
          error: `target must be a target's name, got ${JSON.stringify(value)}`,
        };
      }
      options.target = value;
      continue;
    }
    if (!(key in limits)) {
      return {
        ok: false,
        error: `unknown field ${JSON.stringify(key)}; allowed: ${allowedFields.join(", ")}`,
      };
    }
    const name = key as NumericOption;
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
