// A claim that moves a bulk statement's noted keys into the queue gives way to an app transaction holding one of their entries: it never keeps the app waiting, and the keys are moved by a later claim.
import assert from "node:assert/strict";
import postgres from "postgres";
import { databaseUrl, withNotesTarget } from "./test_support.ts";

/** Counts of the target's noted keys and queue entries. */
async function books(sql: postgres.Sql, targetId: number) {
  const [row] = await sql<{ noted: number; queued: number }[]>`
    select (select coalesce(sum(cardinality(s.row_keys)), 0)::int from embeddings.queued_key_sets as s
            where s.target_id = ${targetId}) as noted,
           (select count(*)::int from embeddings.queue as q where q.target_id = ${targetId}) as queued`;
  return row;
}

Deno.test("key sets: a claim's move gives way to an app transaction holding an entry, and a later claim moves the keys", () =>
  withNotesTarget("key_set_move_notes", 0, async (sql, target) => {
    // 1,500 rows in one statement: noted, no entry per row.
    await sql.unsafe(`
      insert into public.${target.table} (id, body)
        select 'n' || lpad(i::text, 4, '0'), 'note ' || i from generate_series(1, 1500) as i`);
    assert.deepEqual(await books(sql, target.id), { noted: 1500, queued: 0 });

    const app = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const reserved = await app.reserve();
      try {
        // The app's transaction queues one of those rows through the small-statement path and
        // keeps its entry locked (uncommitted insert) while it goes on.
        await reserved.unsafe("begin");
        await reserved.unsafe(
          `update public.${target.table} set body = 'edited by the app' where id = 'n0750'`,
        );
        const claimed = await sql<{ row_key: string }[]>`
          select row_key from embeddings.claim_batch(${target.id}::bigint, 10, 60)`;
        // The move waited its 100 ms, gave up and noted the keys again: nothing was queued from
        // the set, so nothing was claimed, and the app's statement never waited or failed.
        assert.equal(claimed.length, 0);
        assert.deepEqual(await books(sql, target.id), { noted: 1500, queued: 0 });
        await reserved.unsafe(
          `update public.${target.table} set body = 'edited again' where id = 'n0001'`,
        );
        await reserved.unsafe("commit");
      } finally {
        reserved.release();
      }
    } finally {
      await app.end({ timeout: 5 });
    }

    // The app committed: the next claim moves the keys and leases from them.
    const claimed = await sql<{ row_key: string }[]>`
      select row_key from embeddings.claim_batch(${target.id}::bigint, 10, 60)`;
    assert.equal(claimed.length, 10);
    assert.deepEqual(await books(sql, target.id), { noted: 0, queued: 1500 });
  }));
