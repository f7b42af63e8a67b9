// The figures every benchmark reports: a rate in rows per second, and the median of its rounds.

/** Formats a rate: 1,234 rows/s. */
export function rowsPerSecond(rate: number): string {
  return `${Math.round(rate).toLocaleString("en-US")} rows/s`;
}

/** The middle value: the benchmarks repeat their rounds and report the median, because this machine is shared and noisy. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
