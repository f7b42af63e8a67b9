// Embeds the long-document eval's targets with the command line's backfill (the engine's worker in Web Workers, the local model) until embeddings.status, read back, says every document of both targets is embedded.
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import { defaultRunOptions } from "../../supabase/functions/_shared/run_options.ts";
import type { TargetStatus } from "../../supabase/functions/_shared/target_queue.ts";
import type { ProgressMode } from "../cli/backfill_progress.ts";
import { runBackfill } from "../cli/backfill_run.ts";
import type { ProviderSpec } from "../cli/provider_choice.ts";
import { readStatusView } from "../cli/status_view.ts";
import { evalTargets } from "./long_database_setup.ts";

export interface EmbedTargetsRequest {
  databaseUrl: string;
  provider: ProviderSpec;
  progress: ProgressMode;
  /** Documents in the table: what both targets must count as embedded. */
  documents: number;
}

/** Backfills a target can take before the eval gives up (each runs until nothing is claimable). */
const maxBackfills = 3;

function complete(status: TargetStatus, documents: number): boolean {
  return status.broken === null && status.totalRows === documents &&
    status.embedded === documents && status.pending === 0 && status.inFlight === 0 &&
    status.deadLettered === 0 && status.backfillDone;
}

function describeStatus(status: TargetStatus, documents: number): string {
  return `${status.name}: ${status.embedded} of ${documents} documents embedded (${status.totalRows} rows, ${status.pending} queued, ${status.inFlight} leased, ${status.deadLettered} dead-lettered${
    status.chunks === null ? "" : `, ${status.chunks} chunks`
  }${status.broken ? `, broken: ${status.broken}` : ""}${
    status.lastError ? `; last error: ${status.lastError}` : ""
  })`;
}

/** Backfills one target, again while its status says rows are left; its status, read back. */
async function embedTarget(sql: Sql, request: EmbedTargetsRequest, name: string) {
  for (let attempt = 1; attempt <= maxBackfills; attempt++) {
    const { outcome } = await runBackfill(sql, {
      databaseUrl: request.databaseUrl,
      provider: request.provider,
      options: { ...defaultRunOptions, target: name },
      concurrency: null,
      deferIndex: false,
      progress: request.progress,
    });
    if (outcome.errors.length > 0 || outcome.failedRows.length > 0) {
      throw new Error(`backfill of ${name} failed: ${outcome.message}`);
    }
    const [status] = outcome.targets;
    if (status === undefined) throw new Error(`embeddings.status has no target ${name}`);
    if (complete(status, request.documents)) return status;
    if (outcome.written === 0 || attempt === maxBackfills) {
      throw new Error(`after ${attempt} backfills, ${describeStatus(status, request.documents)}`);
    }
  }
  throw new Error(`${name} was never backfilled`);
}

/**
 * Embeds the chunked target, then the whole-row one, each by the backfill the command line runs;
 * returns both targets' status, read back afterwards (every document embedded, nothing queued).
 */
export async function embedEvalTargets(
  sql: Sql,
  request: EmbedTargetsRequest,
): Promise<{ chunked: TargetStatus; whole: TargetStatus }> {
  const chunked = await embedTarget(sql, request, evalTargets.chunked);
  const whole = await embedTarget(sql, request, evalTargets.whole);
  // Read once more, both together: the chunked target's count is still whole after the other ran.
  const after = await readStatusView(sql, [chunked.id, whole.id]);
  for (const status of after) {
    if (!complete(status, request.documents)) {
      throw new Error(`after the backfills, ${describeStatus(status, request.documents)}`);
    }
  }
  return { chunked: after[0], whole: after[1] };
}
