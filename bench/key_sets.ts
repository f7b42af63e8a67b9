// Benchmark: the engine's statements that take sets of keys (backfill chunk, claim, write, fail, requeue, release, verify with fix, moving a bulk statement's key set into the queue) cost the same per row whether the table holds 10,000 rows or 1,000,000.
//
// usage: deno run -A bench/key_sets.ts [--quick] [--db-url URL]
// The same fixed amount of work on tables of growing size, every row queued: a statement whose
// cost per row grows with the table is reading more than the keys it was given. Nothing is a test.
import type postgres from "postgres";
import { connectDatabase } from "../supabase/functions/_shared/database.ts";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { type BenchContext, type BenchSection, runStandalone } from "./bench_section.ts";
import { type BenchTable, syntheticModel, syntheticVector } from "./bench_table.ts";
import { median } from "./bench_figures.ts";
import { dropMeasurementTable, measurementTableComment } from "../tools/cli/measurement_target.ts";

const benchKeys: BenchTable = { table: "bench_key_sets", model: syntheticModel };
/** Rows each statement is measured on, whatever the table's size. */
const workRows = 5_000;
const batchSize = 500;

type Step =
  | "backfill chunk"
  | "claim"
  | "write"
  | "fail"
  | "requeue dead"
  | "release"
  | "verify (fix)"
  | "move key set";

/** Microseconds per row of each step on a table of `rows` rows. */
async function measureTable(admin: postgres.Sql, rows: number): Promise<Record<Step, number>> {
  await dropMeasurementTable(admin, benchKeys.table);
  await admin.unsafe(`
    create table public.${benchKeys.table} (id bigint primary key, body text not null,
      embedding extensions.vector(384));
    comment on table public.${benchKeys.table} is '${measurementTableComment}';
    create function public.${benchKeys.table}_content(r public.${benchKeys.table}) returns text
      language sql immutable set search_path = '' begin atomic select r.body; end;
    insert into public.${benchKeys.table} select i, 'row ' || i from generate_series(1, ${rows}) as i;
    analyze public.${benchKeys.table};`);
  const perRow = (ms: number, count: number) => (ms * 1000) / Math.max(count, 1);
  const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const result = await work();
    return [result, performance.now() - started];
  };
  // Registration queues the first chunk, each call after it the next: every row queued in chunks.
  const [[{ id }], registerMs] = await timed(() =>
    admin<{ id: string }[]>`
      select embeddings.register_target(${`public.${benchKeys.table}`}, 'id',
        ${`public.${benchKeys.table}_content(public.${benchKeys.table})`}, 'embedding',
        ${benchKeys.model}, 384, 1) as id`
  );
  const targetId = Number(id);
  let chunkMs = registerMs;
  for (let done = false; !done;) {
    const [, ms] = await timed(() =>
      admin`select embeddings.queue_backfill_chunk(${targetId}::bigint, 10000)`
    );
    chunkMs += ms;
    [{ done }] = await admin<{ done: boolean }[]>`
      select backfill_done as done from embeddings.targets where id = ${targetId}`;
  }
  await admin`analyze embeddings.queue`;
  const queue = new PostgresTargetQueue(admin);
  const claimAll = async () => {
    const leases: { token: string; keys: string[]; hashes: string[] }[] = [];
    for (let claimed = 0; claimed < workRows; claimed += batchSize) {
      const batch = await queue.claimBatch(targetId, batchSize, 600, false);
      if (batch.leaseToken === null) break;
      leases.push({
        token: batch.leaseToken,
        keys: batch.rows.map((row) => row.key),
        hashes: batch.rows.map((row) => row.contentHash),
      });
    }
    return leases;
  };
  const [written, claimMs] = await timed(claimAll);
  const [, writeMs] = await timed(async () => {
    for (const lease of written) {
      await queue.writeBatch(
        targetId,
        lease.token,
        benchKeys.model,
        lease.keys.map((key, i) => ({
          key,
          contentHash: lease.hashes[i],
          embedding: syntheticVector(Number(key)),
        })),
      );
    }
  });
  const failing = await claimAll();
  const [, failMs] = await timed(async () => {
    for (const lease of failing) {
      await queue.failRows(
        targetId,
        lease.token,
        lease.keys.map((key) => ({ key, error: "bench" })),
      );
    }
  });
  const [[{ requeued }], requeueMs] = await timed(() =>
    admin<{ requeued: number }[]>`select embeddings.requeue_dead(${targetId}::bigint) as requeued`
  );
  const releasing = await claimAll();
  const [, releaseMs] = await timed(async () => {
    for (const lease of releasing) await queue.releaseRows(targetId, lease.token, lease.keys);
  });
  const [, verifyMs] = await timed(() =>
    admin`select * from embeddings.verify(${targetId}::bigint, true, 5)`
  );
  // A bulk UPDATE of the written rows' text notes their keys in a set: moved into the queue, as the
  // next claim moves it. Three times (their entries dropped in between), the median kept: one move
  // is a few tens of milliseconds, within a checkpoint's or autovacuum's reach.
  const moves: number[] = [];
  for (let round = 0; round < 3; round++) {
    await admin.unsafe(`
      delete from embeddings.queue where target_id = ${targetId} and row_key::bigint <= ${workRows};
      update public.${benchKeys.table} set body = body || '!' where id <= ${workRows};`);
    const [, ms] = await timed(() =>
      admin`select embeddings._move_queued_key_sets(t) from embeddings.targets as t
        where t.id = ${targetId}::bigint`
    );
    moves.push(ms);
  }
  const moveMs = median(moves);
  await dropMeasurementTable(admin, benchKeys.table);
  const count = (leases: { keys: string[] }[]) => leases.reduce((sum, l) => sum + l.keys.length, 0);
  return {
    "backfill chunk": perRow(chunkMs, rows),
    claim: perRow(claimMs, count(written)),
    write: perRow(writeMs, count(written)),
    fail: perRow(failMs, count(failing)),
    "requeue dead": perRow(requeueMs, requeued),
    release: perRow(releaseMs, count(releasing)),
    "verify (fix)": perRow(verifyMs, rows),
    "move key set": perRow(moveMs, workRows),
  };
}

export async function keySets(context: BenchContext): Promise<BenchSection> {
  const sizes = context.size === "quick" ? [10_000, 30_000] : [10_000, 100_000, 1_000_000];
  const admin = connectDatabase(context.databaseUrl);
  const measured: Record<Step, number>[] = [];
  try {
    for (const rows of sizes) measured.push(await measureTable(admin, rows));
  } finally {
    await dropMeasurementTable(admin, benchKeys.table);
    await admin.end({ timeout: 5 });
  }
  const steps = Object.keys(measured[0]) as Step[];
  const growth = (step: Step) => measured[measured.length - 1][step] / measured[0][step];
  return {
    title: "Key sets: the engine's statements cost the same per row on a larger table",
    method:
      `On a registered table of each size, every row queued by the chunked backfill, the same ${
        workRows.toLocaleString("en-US")
      } rows are claimed and written, claimed and failed (dead at once), requeued, claimed and released, in batches of ${batchSize}; verify with fix reads the whole table; then an UPDATE of the written rows' text notes their keys in a set, which is moved into the queue as a claim moves it (median of 3). Microseconds per row through postgres.js, as the worker calls them.`,
    command: `deno run -A bench/key_sets.ts${context.size === "quick" ? " --quick" : ""}`,
    table: {
      header: [
        "statement",
        ...sizes.map((rows) => `µs/row at ${rows.toLocaleString("en-US")} rows`),
        "growth",
      ],
      rows: steps.map((step) => [
        step,
        ...measured.map((m) => m[step].toFixed(1)),
        `${growth(step).toFixed(2)}x`,
      ]),
    },
    goals: [{
      goal: `cost per row flat from ${sizes[0].toLocaleString("en-US")} to ${
        sizes[sizes.length - 1].toLocaleString("en-US")
      } rows (at most 1.5x)`,
      measured: steps.map((step) => `${step} ${growth(step).toFixed(2)}x`).join(", "),
      met: steps.every((step) => growth(step) <= 1.5),
    }],
  };
}

if (import.meta.main) await runStandalone(keySets);
