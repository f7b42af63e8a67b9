// Changes the engine did not make to a target's table (vectors cleared or overwritten, TRUNCATE, DELETE, a restore with triggers off) end with every row holding its own current vector, and status agreeing with the column.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { defaultRunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import type { WorkerReport } from "../supabase/functions/_shared/worker_report.ts";
import { cosine, createNotesTarget, type NotesTarget, withDatabase } from "./test_support.ts";

const localModel = new LocalSentenceEncoderProvider(384);

/** A vector no text of these tests is close to: the first axis. */
const foreignVector = `[${Array.from({ length: 384 }, (_, i) => (i === 0 ? 1 : 0)).join(",")}]`;

function embedTarget(sql: postgres.Sql, target: NotesTarget): Promise<WorkerReport> {
  return runWorker(new PostgresTargetQueue(sql), localModel, {
    ...defaultRunOptions,
    batchSize: 25,
    target: target.table,
  });
}

/**
 * The rule every drift case ends with: each row holds the vector of its own current text, and
 * embeddings.status counts exactly what the column holds, with nothing left queued.
 */
async function assertEveryRowHoldsItsOwnVector(
  sql: postgres.Sql,
  target: NotesTarget,
): Promise<void> {
  const rows = await sql<{ id: string; body: string; embedding: string | null }[]>`
    select id, body, embedding::text from ${sql("public")}.${sql(target.table)} order by id`;
  const missing = rows.filter((row) => row.embedding === null).map((row) => row.id);
  assert.deepEqual(missing, [], "every row has a vector");
  const fresh = await localModel.embed(rows.map((row) => row.body));
  rows.forEach((row, index) => {
    const similarity = cosine(JSON.parse(row.embedding ?? "[]"), fresh[index]);
    assert.ok(
      similarity > 0.9999,
      `row ${row.id} holds its own text's vector (cosine ${similarity})`,
    );
  });
  const [counted] = await sql<{ rows: number; vectors: number }[]>`
    select count(*)::int as rows, count(embedding)::int as vectors
    from ${sql("public")}.${sql(target.table)}`;
  const [status] = await sql<
    { total_rows: number; embedded: number; pending: number; in_flight: number }[]
  >`
    select total_rows::int, embedded::int, pending::int, in_flight::int
    from embeddings.status(${target.id}::bigint)`;
  assert.deepEqual(
    { ...status },
    { total_rows: counted.rows, embedded: counted.vectors, pending: 0, in_flight: 0 },
    "status agrees with a direct count of the column",
  );
}

/** Creates a throwaway target of `rows` notes, embeds it fully, runs `drift`, then drops it. */
async function withEmbeddedNotes(
  table: string,
  rows: number,
  drift: (sql: postgres.Sql, target: NotesTarget) => Promise<void>,
): Promise<void> {
  await withDatabase(async (sql) => {
    const target = await createNotesTarget(sql, table, rows);
    try {
      const first = await embedTarget(sql, target);
      assert.equal(first.written, rows, "the backfill embedded every row");
      await assertEveryRowHoldsItsOwnVector(sql, target);
      await drift(sql, target);
    } finally {
      await target.drop();
    }
  });
}

async function statusOf(sql: postgres.Sql, target: NotesTarget) {
  const [status] = await sql<{ embedded: number; pending: number }[]>`
    select embedded::int, pending::int from embeddings.status(${target.id}::bigint)`;
  return { ...status };
}

Deno.test("drift: vectors set to null are queued again, counted as missing, and refilled", () =>
  withEmbeddedNotes("drift_nulled_notes", 20, async (sql, target) => {
    await sql`update ${sql("public")}.${
      sql(target.table)
    } set embedding = null where id <= 'n0010'`;
    assert.deepEqual(
      await statusOf(sql, target),
      { embedded: 10, pending: 10 },
      "status no longer counts the cleared vectors, and queues their rows",
    );
    const report = await embedTarget(sql, target);
    assert.equal(report.written, 10);
    await assertEveryRowHoldsItsOwnVector(sql, target);
  }));

Deno.test("drift: a vector written by someone else is not vouched for: queued and replaced", () =>
  withEmbeddedNotes("drift_foreign_notes", 10, async (sql, target) => {
    await sql`update ${sql("public")}.${sql(target.table)}
      set embedding = ${foreignVector}::extensions.vector where id = 'n0003'`;
    assert.deepEqual(await statusOf(sql, target), { embedded: 9, pending: 1 });
    const report = await embedTarget(sql, target);
    assert.equal(report.written, 1);
    await assertEveryRowHoldsItsOwnVector(sql, target);
  }));

Deno.test("drift: a target that adopts existing vectors keeps one written by someone else", () =>
  withEmbeddedNotes("drift_adopting_notes", 10, async (sql, target) => {
    await sql`select embeddings.set_target_options(${target.id}::bigint, adopt_existing_vectors => true)`;
    await sql`update ${sql("public")}.${sql(target.table)}
      set embedding = ${foreignVector}::extensions.vector where id = 'n0003'`;
    assert.deepEqual(
      await statusOf(sql, target),
      { embedded: 10, pending: 0 },
      "the imported vector is recorded as the target's model, and nothing is queued",
    );
    const [kept] = await sql<{ embedding: string }[]>`
      select embedding::text from ${sql("public")}.${sql(target.table)} where id = 'n0003'`;
    assert.equal(JSON.parse(kept.embedding)[0], 1, "the imported vector stays");
  }));

Deno.test("drift: TRUNCATE clears the target's books; a reload with the same keys and text is embedded", () =>
  withEmbeddedNotes("drift_truncated_notes", 15, async (sql, target) => {
    const saved = await sql<{ id: string; body: string }[]>`
      select id, body from ${sql("public")}.${sql(target.table)} order by id`;
    await sql`truncate ${sql("public")}.${sql(target.table)}`;
    const [books] = await sql<{ records: number; entries: number; backfill_done: boolean }[]>`
      select (select count(*)::int from embeddings.embedded_rows where target_id = ${target.id}) as records,
             (select count(*)::int from embeddings.queue where target_id = ${target.id}) as entries,
             (select backfill_done from embeddings.targets where id = ${target.id})`;
    assert.deepEqual({ ...books }, { records: 0, entries: 0, backfill_done: false });
    // A restore: the same keys and text, with the vectors left behind by the dump.
    await sql`insert into ${sql("public")}.${sql(target.table)} ${
      sql(saved.map((row) => ({ ...row })))
    }`;
    assert.deepEqual(await statusOf(sql, target), { embedded: 0, pending: 15 });
    const report = await embedTarget(sql, target);
    assert.equal(report.written, 15, "every reloaded row is embedded, none skipped");
    await assertEveryRowHoldsItsOwnVector(sql, target);
  }));

Deno.test("drift: DELETE leaves nothing counted behind, and the sweep leaves nothing at all", () =>
  withEmbeddedNotes("drift_deleted_notes", 10, async (sql, target) => {
    await sql`update ${sql("public")}.${
      sql(target.table)
    } set body = body || ' (edited)' where id = 'n0002'`;
    await sql`delete from ${sql("public")}.${sql(target.table)} where id in ('n0001', 'n0002')`;
    // The DELETE only noted a sweep: until it runs, status counts the table, not the books.
    assert.deepEqual(await statusOf(sql, target), { embedded: 8, pending: 0 });
    const found = await sql<{ problem: string }[]>`
      select problem from embeddings.verify(${target.id}::bigint) where row_count > 0`;
    assert.deepEqual(found.map((row) => row.problem), [], "a noted DELETE is no drift");
    const [left] = await sql<{ records: number; entries: number; notes: number }[]>`
      select (select count(*)::int from embeddings.embedded_rows
              where target_id = ${target.id} and row_key in ('n0001', 'n0002')) as records,
             (select count(*)::int from embeddings.queue
              where target_id = ${target.id} and row_key in ('n0001', 'n0002')) as entries,
             (select count(*)::int from embeddings.pending_sweeps where target_id = ${target.id}) as notes`;
    assert.deepEqual({ ...left }, { records: 0, entries: 0, notes: 0 }, "verify swept them first");
    await assertEveryRowHoldsItsOwnVector(sql, target);
  }));

Deno.test("drift: a key deleted and inserted again is embedded anew, its old record never trusted", () =>
  withEmbeddedNotes("drift_reused_notes", 5, async (sql, target) => {
    const table = sql("public");
    await sql`delete from ${table}.${sql(target.table)} where id = 'n0003'`;
    await sql`insert into ${table}.${
      sql(target.table)
    } (id, body) values ('n0003', 'another text')`;
    assert.deepEqual(await statusOf(sql, target), { embedded: 4, pending: 1 });
    const report = await embedTarget(sql, target);
    assert.equal(report.written, 1, "the new row is embedded");
    await assertEveryRowHoldsItsOwnVector(sql, target);
  }));

Deno.test("drift: what triggers cannot see (replica mode) is found by verify and repaired by its fix", () =>
  withEmbeddedNotes("drift_replica_notes", 12, async (sql, target) => {
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update ${tx("public")}.${tx(target.table)} set embedding = null where id = 'n0001'`;
      await tx`update ${tx("public")}.${tx(target.table)}
        set embedding = ${foreignVector}::extensions.vector where id = 'n0002'`;
      await tx`update ${tx("public")}.${
        tx(target.table)
      } set body = 'a new text' where id = 'n0003'`;
      await tx`delete from ${tx("public")}.${tx(target.table)} where id = 'n0004'`;
    });
    const found = await sql<{ problem: string; row_count: number; sample_keys: string[] }[]>`
      select problem, row_count::int, sample_keys from embeddings.verify(${target.id}::bigint)
      where row_count > 0 order by problem`;
    assert.deepEqual(found.map((row) => ({ ...row })), [
      { problem: "missing_vector", row_count: 1, sample_keys: ["n0001"] },
      { problem: "orphan_bookkeeping", row_count: 1, sample_keys: ["n0004"] },
      { problem: "stale_vector", row_count: 1, sample_keys: ["n0003"] },
      { problem: "unvouched_vector", row_count: 1, sample_keys: ["n0002"] },
    ]);
    const fixed = await sql<{ problem: string; fixed: number }[]>`
      select problem, fixed::int from embeddings.verify(${target.id}::bigint, fix => true)
      where fixed > 0 order by problem`;
    assert.deepEqual(fixed.map((row) => ({ ...row })), [
      { problem: "missing_vector", fixed: 1 },
      { problem: "orphan_bookkeeping", fixed: 1 },
      { problem: "stale_vector", fixed: 1 },
      { problem: "unvouched_vector", fixed: 1 },
    ]);
    const report = await embedTarget(sql, target);
    assert.equal(
      report.written,
      3,
      "the cleared, the overwritten and the stale row are embedded again",
    );
    const clean =
      await sql`select 1 from embeddings.verify(${target.id}::bigint) where row_count > 0`;
    assert.equal(clean.length, 0, "verify finds nothing left");
    await assertEveryRowHoldsItsOwnVector(sql, target);
  }));
