// The benchmarks' throwaway target and their synthetic provider (seeded random unit vectors: no model, never a default).
import type postgres from "postgres";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { dropMeasurementTable, measurementTableComment } from "../tools/cli/measurement_target.ts";
import { seededUnitVector } from "../tools/cli/stand_in_provider.ts";

export const benchDimensions = 384;
export const syntheticModel = "synthetic-unit-vectors";

/** A seeded random unit vector per key (mulberry32), so every run writes the same vectors. */
export function syntheticVector(seed: number): number[] {
  return seededUnitVector(seed, benchDimensions);
}

/** The throwaway table of a benchmark: its name in public, and the model it is registered with. */
export interface BenchTable {
  table: string;
  model: string;
}

/** The write-path benchmarks' table, filled with synthetic vectors. */
export const benchRows: BenchTable = { table: "bench_rows", model: syntheticModel };

/**
 * public.<table> with `rows` rows (RLS on, no client grants), registered with `model`, every row
 * queued; any earlier one of that name is dropped first.
 */
export async function createBenchTarget(
  admin: postgres.Sql,
  rows: number,
  withIndex: boolean,
  { table, model }: BenchTable = benchRows,
): Promise<number> {
  await dropMeasurementTable(admin, table);
  await admin.unsafe(`
    create table public.${table} (id bigint primary key, body text not null,
      embedding extensions.vector(${benchDimensions}));
    create function public.${table}_content(r public.${table}) returns text
      language sql immutable set search_path = '' as $$ select r.body $$;
    insert into public.${table} select i, 'row ' || i from generate_series(1, ${rows}) as i;
    ${
    withIndex
      ? `create index on public.${table} using hnsw (embedding extensions.vector_cosine_ops);`
      : ""
  }
    alter table public.${table} enable row level security;
    revoke all on public.${table} from anon, authenticated;
    comment on table public.${table} is '${measurementTableComment}';
    analyze public.${table};`);
  const [{ id }] = await admin<{ id: string }[]>`
    select embeddings.register_target(${`public.${table}`}, 'id',
      ${`public.${table}_content(public.${table})`}, 'embedding', ${model},
      ${benchDimensions}) as id`;
  // Queue every row up front, so claims measure claiming, not the backfill's chunks.
  for (let done = false; !done;) {
    await admin`select embeddings.queue_backfill_chunk(${id}::bigint, 100000)`;
    [{ done }] = await admin<{ done: boolean }[]>`
      select backfill_done as done from embeddings.targets where id = ${id}`;
  }
  await admin`analyze embeddings.queue`;
  return Number(id);
}

/**
 * Rows per second of the engine as the worker drives it: claim, write_batch and its books, batch
 * after batch until nothing is left; an error unless it wrote every one of `rows`.
 */
export async function engineWriteRate(
  worker: postgres.Sql,
  targetId: number,
  rows: number,
  batchSize: number,
): Promise<number> {
  const queue = new PostgresTargetQueue(worker);
  const started = performance.now();
  let written = 0;
  while (true) {
    const batch = await queue.claimBatch(targetId, batchSize, 600, false);
    if (batch.leaseToken === null || batch.rows.length === 0) break;
    const outcome = await queue.writeBatch(
      targetId,
      batch.leaseToken,
      syntheticModel,
      batch.rows.map((row) => ({
        key: row.key,
        contentHash: row.contentHash,
        embedding: syntheticVector(Number(row.key)),
      })),
    );
    written += outcome.writtenKeys.length;
  }
  if (written !== rows) throw new Error(`the engine wrote ${written} of ${rows} rows`);
  return rows / ((performance.now() - started) / 1000);
}
