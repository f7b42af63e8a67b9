// What `deno task cli model-change` does in the database: each step's SQL call as service_role, then the change and both versions read back.
import { targetIdByName } from "./verify_rows.ts";
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import { CliFailure, exitCodes } from "./exit_codes.ts";
import { asServiceRole, type ServiceRoleSql } from "./service_role_session.ts";

export type ModelChangeStep = "start" | "switch" | "rollback" | "finish";

export interface StartSettings {
  model: string;
  dimensions: number;
  column: string | null;
  vectorType: "vector" | "halfvec";
}

/** One version as status counts it now; null fields when it is no longer registered. */
export interface VersionReadBack {
  targetId: number;
  name: string | null;
  model: string | null;
  totalRows: number | null;
  embedded: number | null;
}

export interface ModelChangeReadBack {
  changeId: number;
  targetName: string;
  state: string;
  oldModel: string;
  newModel: string;
  addedColumn: string | null;
  /** Whether the column the engine added is in the table now (null when it added none). */
  addedColumnPresent: boolean | null;
  oldVersion: VersionReadBack;
  newVersion: VersionReadBack;
}

interface ChangeRow {
  id: string;
  target_name: string;
  state: string;
  old_target_id: string;
  new_target_id: string;
  old_model: string;
  new_model: string;
  added_column: string | null;
}

/** The SQLSTATEs the steps refuse with: a refusal is a problem found (exit 1), not a failure to run. */
const refusalCodes = ["55000", "22023", "23505", "0A000", "42703"];

function callStep(
  tx: ServiceRoleSql,
  step: ModelChangeStep,
  targetId: number,
  start: StartSettings | null,
  force: boolean,
): Promise<ChangeRow[]> {
  switch (step) {
    case "start":
      if (start === null) throw new CliFailure("start needs --model and --dimensions");
      return tx<ChangeRow[]>`select * from embeddings.start_model_change(${targetId}::bigint,
        ${start.model}, ${start.dimensions}::integer, ${start.column}::name, ${start.vectorType})`;
    case "switch":
      return tx<
        ChangeRow[]
      >`select * from embeddings.switch_model_change(${targetId}::bigint, ${force})`;
    case "rollback":
      return tx<ChangeRow[]>`select * from embeddings.rollback_model_change(${targetId}::bigint)`;
    case "finish":
      return tx<ChangeRow[]>`select * from embeddings.finish_model_change(${targetId}::bigint)`;
  }
}

async function readVersion(tx: ServiceRoleSql, targetId: number): Promise<VersionReadBack> {
  const rows = await tx<
    { name: string; model: string; total_rows: string | null; embedded: string | null }[]
  >`select s.name, s.model, s.total_rows, s.embedded from embeddings.status(${targetId}::bigint) as s`;
  const row = rows[0];
  return {
    targetId,
    name: row?.name ?? null,
    model: row?.model ?? null,
    totalRows: row?.total_rows == null ? null : Number(row.total_rows),
    embedded: row?.embedded == null ? null : Number(row.embedded),
  };
}

async function columnPresent(tx: ServiceRoleSql, change: ChangeRow): Promise<boolean | null> {
  if (change.added_column === null) return null;
  // The table of whichever version is still registered (both name the same table).
  const [row] = await tx<{ present: boolean }[]>`
    select exists (
      select 1 from embeddings.targets as t
      join pg_catalog.pg_attribute as a
        on a.attrelid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.table_schema, t.table_name))
      where t.id in (${change.old_target_id}::bigint, ${change.new_target_id}::bigint)
        and a.attname = ${change.added_column} and a.attnum > 0 and not a.attisdropped) as present`;
  return row.present;
}

/** Runs one step on the target of that name, in one transaction as service_role, and reads back what it did. */
export function runModelChangeStep(
  sql: Sql,
  targetName: string,
  step: ModelChangeStep,
  start: StartSettings | null = null,
  force = false,
): Promise<ModelChangeReadBack> {
  return asServiceRole(sql, async (tx) => {
    const targetId = await targetIdByName(tx, targetName);
    let change: ChangeRow;
    try {
      [change] = await callStep(tx, step, targetId, start, force);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" && refusalCodes.includes(code)) {
        throw new CliFailure(`refused: ${(error as Error).message}`, exitCodes.problemsFound);
      }
      throw error;
    }
    return {
      changeId: Number(change.id),
      targetName: change.target_name,
      state: change.state,
      oldModel: change.old_model,
      newModel: change.new_model,
      addedColumn: change.added_column,
      addedColumnPresent: await columnPresent(tx, change),
      oldVersion: await readVersion(tx, Number(change.old_target_id)),
      newVersion: await readVersion(tx, Number(change.new_target_id)),
    };
  });
}
