// Lays rows of text out in aligned columns, for the command line's reports.

/**
 * Each column padded to its widest cell (the columns in `rightAligned`, numbers, on the left);
 * the last column is not padded.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  { indent = "  ", rightAligned = [] }: { indent?: string; rightAligned?: readonly number[] } = {},
): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, column) =>
    Math.max(...all.map((row) => (row[column] ?? "").length))
  );
  const pad = (cell: string, column: number) =>
    rightAligned.includes(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column]);
  return all.map((row) =>
    indent + row.map((cell, column) => column === row.length - 1 ? cell : pad(cell, column))
      .join("  ").trimEnd()
  );
}

/** 20000 as "20,000". */
export function formatCount(count: number): string {
  return count.toLocaleString("en-US");
}

/** "1 row" / "2 rows". */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : pluralForm}`;
}
