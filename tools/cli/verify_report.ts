// Turns verify's rows into a table per target, a closing line that says only what the rows say, and the exit code.
import { type ExitCode, exitCodes } from "./exit_codes.ts";
import type { Colors } from "./terminal_colors.ts";
import { formatCount, formatTable, plural } from "./text_table.ts";
import type { VerifyRow } from "./verify_rows.ts";

/** What --fix does about a problem: queue its rows, remove its bookkeeping, or nothing (and what to do instead). */
export type FixAction = { kind: "queued" | "removed" } | { kind: "none"; instead: string };

/** Reads embeddings.verify_checks()'s fixed_by text ("queued ...", "removed", "nothing: <what to do>"). */
export function fixActionOf(fixedBy: string | undefined, targetId: number): FixAction {
  if (fixedBy?.startsWith("queued")) return { kind: "queued" };
  if (fixedBy?.startsWith("removed")) return { kind: "removed" };
  return {
    kind: "none",
    instead: (fixedBy ?? "nothing: verify --fix does not repair it")
      .replace(/^nothing:\s*/, "")
      .replaceAll("<target id>", String(targetId)),
  };
}

export interface VerifyReportInput {
  rows: readonly VerifyRow[];
  fix: boolean;
  /** problem -> embeddings.verify_checks().fixed_by */
  fixActions: ReadonlyMap<string, string>;
  /** target id -> rows in its table; read only when every target is clean. */
  rowCounts: ReadonlyMap<number, number> | null;
}

function unfixed(row: VerifyRow): number {
  return row.row_count - (row.fixed ?? 0);
}

/** Exit 0 when no row has a problem (with --fix: when nothing is left unfixed), else 1. */
export function verifyExitCode(rows: readonly VerifyRow[], fix: boolean): ExitCode {
  const remaining = rows.reduce((sum, row) => sum + (fix ? unfixed(row) : row.row_count), 0);
  return remaining === 0 ? exitCodes.ok : exitCodes.problemsFound;
}

function fixCell(row: VerifyRow, action: FixAction): string {
  if (action.kind === "none") return `not fixed: ${action.instead}`;
  const left = unfixed(row);
  return `${action.kind} ${formatCount(row.fixed ?? 0)}${
    left > 0 ? ` (${formatCount(left)} not)` : ""
  }`;
}

function targetSection(
  rows: readonly VerifyRow[],
  input: VerifyReportInput,
  colors: Colors,
): string[] {
  const first = rows[0];
  const problems = rows.filter((row) => row.row_count > 0);
  const title = `${colors.bold(first.target)} (target ${first.target_id})`;
  if (problems.length === 0) return [`${title}: ${colors.green("clean")}`];
  const rowTotal = problems.reduce((sum, row) => sum + row.row_count, 0);
  const header = input.fix
    ? ["problem", "rows", "--fix", "sample keys", "meaning"]
    : ["problem", "rows", "sample keys", "meaning"];
  const table = formatTable(
    header,
    problems.map((row) => {
      const cells = [row.problem, formatCount(row.row_count)];
      if (input.fix) {
        cells.push(fixCell(row, fixActionOf(input.fixActions.get(row.problem), row.target_id)));
      }
      cells.push(row.sample_keys.join(", ") || "-", row.description);
      return cells;
    }),
    { rightAligned: [1] },
  );
  return [
    `${title}: ${colors.red(`${plural(problems.length, "problem")}, ${plural(rowTotal, "row")}`)}`,
    ...table,
  ];
}

function closingLine(input: VerifyReportInput): string {
  const { rows, fix } = input;
  const command = fix ? "verify --fix" : "verify";
  const targetIds = [...new Set(rows.map((row) => row.target_id))];
  const problems = rows.filter((row) => row.row_count > 0);
  if (problems.length === 0) {
    const checked = input.rowCounts
      ? `, ${
        plural([...input.rowCounts.values()].reduce((sum, count) => sum + count, 0), "row")
      } checked`
      : "";
    if (targetIds.length === 0) return `${command}: no target is registered, nothing to verify`;
    return `${command}: every target clean (${plural(targetIds.length, "target")}${checked})${
      fix ? "; nothing to fix" : ""
    }`;
  }
  const affectedTargets = new Set(problems.map((row) => row.target_id)).size;
  const rowTotal = problems.reduce((sum, row) => sum + row.row_count, 0);
  const parts = [
    `${command}: ${plural(problems.length, "problem")} in ${affectedTargets} of ${
      plural(targetIds.length, "target")
    } (${plural(rowTotal, "row")})`,
  ];
  const actions = problems.map((row) => ({
    row,
    action: fixActionOf(input.fixActions.get(row.problem), row.target_id),
  }));
  const sumOf = (kind: FixAction["kind"], count: (row: VerifyRow) => number) =>
    actions.filter(({ action }) => action.kind === kind).reduce(
      (sum, { row }) => sum + count(row),
      0,
    );
  if (fix) {
    const queued = sumOf("queued", (row) => row.fixed ?? 0);
    const removed = sumOf("removed", (row) => row.fixed ?? 0);
    const done = [
      queued > 0 ? `queued ${plural(queued, "row")}` : "",
      removed > 0 ? `removed the bookkeeping of ${plural(removed, "row")}` : "",
    ].filter(Boolean);
    parts.push(done.length > 0 ? done.join(" and ") : "fixed nothing");
    if (queued > 0) parts.push("run the worker (deno task cli backfill) to embed what was queued");
  } else {
    const fixable = actions.filter(({ action }) => action.kind !== "none");
    const fixableRows = fixable.reduce((sum, { row }) => sum + row.row_count, 0);
    if (fixableRows > 0) {
      const verbs = [...new Set(fixable.map(({ action }) => action.kind))]
        .map((kind) => kind === "queued" ? "queue" : "remove").join(" or ");
      parts.push(
        `run with --fix to ${verbs} ${
          fixableRows === rowTotal ? "them" : `${formatCount(fixableRows)} of them`
        }`,
      );
    }
  }
  const leftOver = actions.filter(({ row, action }) =>
    action.kind === "none" || (fix && unfixed(row) > 0)
  );
  for (const { row, action } of leftOver) {
    const count = fix ? unfixed(row) : row.row_count;
    parts.push(
      `--fix leaves ${row.problem} (${plural(count, "row")}) of ${row.target}${
        action.kind === "none" ? `: ${action.instead}` : ""
      }`,
    );
  }
  if (fix && leftOver.length === 0) parts.push("nothing left unfixed");
  return parts.join("; ");
}

export function renderVerifyReport(input: VerifyReportInput, colors: Colors): string {
  const byTarget = new Map<number, VerifyRow[]>();
  for (const row of input.rows) {
    byTarget.set(row.target_id, [...byTarget.get(row.target_id) ?? [], row]);
  }
  const lines: string[] = [];
  for (const rows of byTarget.values()) lines.push(...targetSection(rows, input, colors));
  if (lines.length > 0) lines.push("");
  lines.push(closingLine(input));
  return lines.join("\n");
}
