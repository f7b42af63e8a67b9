// Checks a provider's vector before it is sent to the database: right length, finite numbers, not all zeros.

/** Returns why the vector cannot be stored in a column of `dimensions`, or null when it can. */
export function embeddingProblem(vector: unknown, dimensions: number): string | null {
  if (!Array.isArray(vector)) return `embedding is ${typeof vector}, not an array`;
  if (vector.length !== dimensions) {
    return `embedding has ${vector.length} dimensions, expected ${dimensions}`;
  }
  let nonZero = false;
  for (let i = 0; i < vector.length; i++) {
    const value: unknown = vector[i];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      return `embedding element ${i + 1} is ${String(value)}, not a finite number`;
    }
    if (Math.abs(value) > 3.4028234e38) {
      return `embedding element ${i + 1} (${value}) does not fit a 4-byte float`;
    }
    if (value !== 0) nonZero = true;
  }
  return nonZero ? null : "embedding is all zeros, which has no cosine direction";
}
