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
 * Queues every row of the target again (embeddings.requeue_target, as service_role): dead letters
 * get fresh attempts, the records of what was embedded are forgotten (the vectors stay in the
 * column, searchable, until replaced; verify calls them unvouched meanwhile) and the chunked
 * backfill starts over, queuing its first 10,000 rows now and the rest as workers claim.
 */
export function requeueEveryRow(sql: Sql, target: Target): Promise<RequeueResult> {
  return asServiceRole(sql, async (tx) => {
    const [before] = await tx<{ dead: number; records: number }[]>`
      select (select count(*)::int from embeddings.queue as q
              where q.target_id = ${target.id}::bigint and q.dead_at is not null) as dead,
             (select count(*)::int from embeddings.embedded_rows as e
              where e.target_id = ${target.id}::bigint) as records`;
    const [{ queued }] = await tx<{ queued: number }[]>`
      select embeddings.requeue_target(${target.id}::bigint) as queued`;
    return {
      target: target.name,
      targetId: target.id,
      deadRequeued: before.dead,
      recordsForgotten: before.records,
      queuedNow: queued,
    };
  });
}
