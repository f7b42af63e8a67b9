// What verify reads: embeddings.verify()'s rows, what --fix does about each problem, the target names and the rows checked.
import { CliFailure } from "./exit_codes.ts";
import type { ServiceRoleSql } from "./service_role_session.ts";

/** One row of embeddings.verify(): one check of one target. */
export interface VerifyRow {
  target_id: number;
  target: string;
  problem: string;
  description: string;
  /** Rows with this problem; 0 when the check is clean. */
  row_count: number;
  /** Up to --sample of their keys (for broken_target, what is broken). */
  sample_keys: string[];
  /** With --fix, the rows it queued or removed; null without --fix. */
  fixed: number | null;
}

export interface VerifyRequest {
  targetId: number | null;
  fix: boolean;
  sampleSize: number;
}

export async function readVerifyRows(
  sql: ServiceRoleSql,
  request: VerifyRequest,
): Promise<VerifyRow[]> {
  const rows = await sql<
    {
      target_id: string;
      target: string;
      problem: string;
      description: string;
      row_count: string;
      sample_keys: string[];
      fixed: string | null;
    }[]
  >`
    select target_id, target, problem, description, row_count, sample_keys, fixed
    from embeddings.verify(${request.targetId}::bigint, ${request.fix}, ${request.sampleSize}::integer)`;
  return rows.map((row) => ({
    ...row,
    target_id: Number(row.target_id),
    row_count: Number(row.row_count),
    fixed: row.fixed === null ? null : Number(row.fixed),
  }));
}

/** What verify(fix => true) does about each problem, from embeddings.verify_checks(). */
export async function readFixActions(sql: ServiceRoleSql): Promise<Map<string, string>> {
  const rows = await sql<{ problem: string; fixed_by: string }[]>`
    select problem, fixed_by from embeddings.verify_checks()`;
  return new Map(rows.map((row) => [row.problem, row.fixed_by]));
}

/** The id of the target of that name; an unknown name is bad usage, listing the registered names. */
export async function targetIdByName(sql: ServiceRoleSql, name: string): Promise<number> {
  const rows = await sql<{ id: string; name: string }[]>`
    select t.id, t.name from embeddings.targets as t order by t.name`;
  const match = rows.find((row) => row.name === name);
  if (match) return Number(match.id);
  throw new CliFailure(
    `no target is named ${JSON.stringify(name)}; registered: ${
      rows.map((row) => row.name).join(", ") || "none"
    }`,
  );
}

/** How many rows each target's table holds, from embeddings.status (an exact count). */
export async function readRowCounts(
  sql: ServiceRoleSql,
  targetIds: readonly number[],
): Promise<Map<number, number>> {
  const rows = await sql<{ target_id: string; total_rows: string }[]>`
    select s.target_id, s.total_rows
    from unnest(${[...targetIds]}::bigint[]) as requested(id)
    cross join lateral embeddings.status(requested.id) as s`;
  return new Map(rows.map((row) => [Number(row.target_id), Number(row.total_rows)]));
}
