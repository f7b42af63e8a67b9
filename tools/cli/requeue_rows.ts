// What requeue does in the database: dead letters queued again (embeddings.requeue_dead), or every row of a target queued again (its records forgotten, its backfill restarted).
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import type { Target } from "../../supabase/functions/_shared/target_queue.ts";
import { asServiceRole } from "./service_role_session.ts";

export interface RequeueResult {
  target: string;
  targetId: number;
  /** Dead-lettered rows queued again with fresh attempts. */
  deadRequeued: number;
  /** Records of embedded rows forgotten (every row mode only; null with --dead). */
  recordsForgotten: number | null;
  /** Rows queued now by the restarted backfill's first chunk (every row mode only). */
  queuedNow: number | null;
}

/** embeddings.requeue_dead(target): the API call, as service_role. */
export function requeueDead(sql: Sql, target: Target): Promise<RequeueResult> {
  return asServiceRole(sql, async (tx) => {
    const [{ requeued }] = await tx<{ requeued: number }[]>`
      select embeddings.requeue_dead(${target.id}::bigint) as requeued`;
    return {
      target: target.name,
      targetId: target.id,
      deadRequeued: requeued,
      recordsForgotten: null,
      queuedNow: null,
    };
  });
}

/**
 * Queues every row of the target again, in one transaction: dead letters get fresh attempts, the
 * records of what was embedded are forgotten (the vectors stay in the column, searchable, until
 * replaced; verify calls them unvouched meanwhile) and the chunked backfill starts over, queuing
 * its first 10,000 rows now and the rest as workers claim.
 *
 * The engine has no API function for this (see the reply to issue 12: embeddings.requeue_target),
 * so it runs as the role the URL logs in as, the tables' owner (postgres), with the engine's own
 * requeue_dead and queue_backfill_chunk.
 */
export function requeueEveryRow(sql: Sql, target: Target): Promise<RequeueResult> {
  return sql.begin(async (tx) => {
    const [{ dead }] = await tx<{ dead: number }[]>`
      select embeddings.requeue_dead(${target.id}::bigint) as dead`;
    const forgotten = await tx`
      delete from embeddings.embedded_rows as e where e.target_id = ${target.id}::bigint`;
    await tx`
      update embeddings.targets as t set backfill_after = null, backfill_done = false
      where t.id = ${target.id}::bigint`;
    const [{ queued }] = await tx<{ queued: number }[]>`
      select embeddings.queue_backfill_chunk(${target.id}::bigint) as queued`;
    return {
      target: target.name,
      targetId: target.id,
      deadRequeued: dead,
      recordsForgotten: forgotten.count,
      queuedNow: queued,
    };
  }) as Promise<RequeueResult>;
}
