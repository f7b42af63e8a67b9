// What `status` shows: every target's embeddings.status (read through the worker's own queue), the vector indexes a backfill left dropped, as a table or as JSON.
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import { PostgresTargetQueue } from "../../supabase/functions/_shared/postgres_target_queue.ts";
import type { TargetStatus } from "../../supabase/functions/_shared/target_queue.ts";
import { type DeferredIndex, readDeferredIndexes } from "./deferred_indexes.ts";
import type { Colors } from "./terminal_colors.ts";
import { formatCount, formatTable, plural } from "./text_table.ts";

/** One target as `status --json` prints it: embeddings.status, plus the vector indexes left dropped. */
export interface TargetStatusView extends TargetStatus {
  /** Indexes `backfill --defer-index` dropped and has not built again (schema.name). */
  deferredIndexes: string[];
}

export async function readStatusView(
  sql: Sql,
  targetIds?: readonly number[],
): Promise<TargetStatusView[]> {
  const statuses = await new PostgresTargetQueue(sql).readStatus(targetIds);
  const deferred = await readDeferredIndexes(sql);
  return statuses.map((status) => ({
    ...status,
    deferredIndexes: deferred
      .filter((index: DeferredIndex) => index.targetName === status.name)
      .map((index) => `${index.indexSchema}.${index.indexName}`),
  }));
}

function when(iso: string | null): string {
  return iso === null ? "-" : iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** Notes under the table: what a reader should know about a target beyond its counts. */
function notesFor(status: TargetStatusView): string[] {
  const notes: string[] = [];
  if (status.broken) notes.push(`broken: ${status.broken}`);
  if (status.inFlight > 0) {
    notes.push(
      `${plural(status.inFlight, "row")} leased by a worker until ${when(status.leasedUntil)}`,
    );
  }
  if (status.retrying > 0) {
    notes.push(
      `${plural(status.retrying, "row")} waiting to retry from ${when(status.nextRetryAt)}`,
    );
  }
  if (status.deadLettered > 0) {
    notes.push(
      `${
        plural(status.deadLettered, "row")
      } dead-lettered: deno task cli requeue --target ${status.name} --dead`,
    );
  }
  if (status.lastError && (status.retrying > 0 || status.deadLettered > 0)) {
    notes.push(`last error: ${status.lastError}`);
  }
  if (!status.backfillDone) notes.push("backfill still walking the table (a claim continues it)");
  for (const index of status.deferredIndexes) {
    notes.push(
      `vector index ${index} dropped by backfill --defer-index and not built yet: deno task cli backfill --target ${status.name} builds it`,
    );
  }
  return notes;
}

/** The closing line: only what the counts say. */
function summary(statuses: readonly TargetStatusView[]): string {
  if (statuses.length === 0) return "status: no target is registered";
  const total = statuses.reduce((sum, status) => sum + (status.totalRows ?? 0), 0);
  const embedded = statuses.reduce((sum, status) => sum + status.embedded, 0);
  const queued = statuses.reduce((sum, status) => sum + status.pending + status.inFlight, 0);
  const dead = statuses.reduce((sum, status) => sum + status.deadLettered, 0);
  const broken = statuses.filter((status) => status.broken !== null).length;
  return `status: ${plural(statuses.length, "target")}, ${formatCount(embedded)} of ${
    plural(total, "row")
  } embedded, ${formatCount(queued)} queued, ${formatCount(dead)} dead-lettered${
    broken > 0 ? `, ${broken} broken` : ""
  }`;
}

export function renderStatus(statuses: readonly TargetStatusView[], colors: Colors): string {
  const header = [
    "target",
    "model",
    "rows",
    "embedded",
    "pending",
    "in flight",
    "dead",
    "last write",
  ];
  const rows = statuses.map((status) => [
    status.name,
    `${status.model} (${status.dimensions})`,
    status.totalRows === null ? "-" : formatCount(status.totalRows),
    formatCount(status.embedded),
    formatCount(status.pending),
    formatCount(status.inFlight),
    formatCount(status.deadLettered),
    when(status.lastWriteAt),
  ]);
  const lines = statuses.length > 0
    ? formatTable(header, rows, { rightAligned: [2, 3, 4, 5, 6] })
    : [];
  if (lines.length > 0) lines[0] = colors.bold(lines[0]);
  for (const status of statuses) {
    for (const note of notesFor(status)) {
      const paint = note.startsWith("broken") || note.includes("dead-lettered")
        ? colors.red
        : colors.yellow;
      lines.push(`  ${colors.bold(status.name)}: ${paint(note)}`);
    }
  }
  if (lines.length > 0) lines.push("");
  lines.push(summary(statuses));
  return lines.join("\n");
}
