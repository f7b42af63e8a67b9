// What doctor reports: the rows of embeddings.doctor(), and the registered targets the command line checks itself.
import type { ServiceRoleSql } from "./service_role_session.ts";

export type FindingLevel = "ok" | "warning" | "error";

/** One row of embeddings.doctor(): a check that passed (level ok) or one finding. */
export interface Finding {
  level: FindingLevel;
  check_name: string;
  /** The table, function, secret or target; null on an ok row. */
  subject: string | null;
  finding: string;
  /** The SQL or step that fixes it; null on an ok row. */
  fix: string | null;
}

export interface RegisteredTarget {
  id: number;
  name: string;
  model: string;
  dimensions: number;
}

export async function readDoctorFindings(sql: ServiceRoleSql): Promise<Finding[]> {
  return [
    ...await sql<Finding[]>`
    select level, check_name, subject, finding, fix from embeddings.doctor()`,
  ];
}

export async function readRegisteredTargets(sql: ServiceRoleSql): Promise<RegisteredTarget[]> {
  const rows = await sql<{ id: string; name: string; model: string; dimensions: number }[]>`
    select t.id, t.name, t.model, t.dimensions from embeddings.targets as t order by t.id`;
  return rows.map((row) => ({ ...row, id: Number(row.id) }));
}
