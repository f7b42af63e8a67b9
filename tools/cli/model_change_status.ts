// `deno task cli model-change status`: every running model change with both versions' progress, read from embeddings.model_change_status().
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import { asServiceRole } from "./service_role_session.ts";
import { formatCount, formatTable } from "./text_table.ts";

export interface RunningModelChange {
  targetName: string;
  state: string;
  currentModel: string;
  oldModel: string;
  oldProgress: string;
  newModel: string;
  newProgress: string;
  newWaiting: number;
}

interface StatusRow {
  target_name: string;
  state: string;
  current_model: string;
  old_model: string;
  old_total_rows: string | null;
  old_embedded: string | null;
  new_model: string;
  new_total_rows: string | null;
  new_embedded: string | null;
  new_pending: string | null;
}

function progress(embedded: string | null, total: string | null): string {
  if (total === null) return "broken";
  return `${formatCount(Number(embedded ?? 0))}/${formatCount(Number(total))}`;
}

/** The running changes, as service_role; counted by embeddings.status. */
export function readRunningModelChanges(sql: Sql): Promise<RunningModelChange[]> {
  return asServiceRole(sql, async (tx) => {
    const rows = await tx<StatusRow[]>`select * from embeddings.model_change_status()`;
    return rows.map((row) => ({
      targetName: row.target_name,
      state: row.state,
      currentModel: row.current_model,
      oldModel: row.old_model,
      oldProgress: progress(row.old_embedded, row.old_total_rows),
      newModel: row.new_model,
      newProgress: progress(row.new_embedded, row.new_total_rows),
      newWaiting: Number(row.new_pending ?? 0),
    }));
  });
}

/** A table of the running changes, or a line saying there is none. */
export function renderRunningModelChanges(changes: readonly RunningModelChange[]): string {
  if (changes.length === 0) return "model-change: no model change is running";
  return formatTable(
    ["target", "state", "search reads", "old model", "embedded", "new model", "embedded", "queued"],
    changes.map((change) => [
      change.targetName,
      change.state,
      change.currentModel,
      change.oldModel,
      change.oldProgress,
      change.newModel,
      change.newProgress,
      formatCount(change.newWaiting),
    ]),
    { indent: "", rightAligned: [4, 6, 7] },
  ).join("\n");
}
