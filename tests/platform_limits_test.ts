// The platform's shapes and limits: halfvec columns as targets, and a run stopped mid-batch (a function shutting down) handing its rows back at once.
import assert from "node:assert/strict";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { defaultRunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import { cosine, createNotesTarget, localStackModel, withDatabase } from "./test_support.ts";

const localModel = new LocalSentenceEncoderProvider(384);

Deno.test("halfvec: a halfvec(384) column is a target end to end: backfilled, read back, verified", () =>
  withDatabase(async (sql) => {
    await sql.unsafe(`
      create table public.halfvec_notes (id bigint primary key, body text not null,
        embedding extensions.halfvec(384));
      create function public.halfvec_notes_content(note public.halfvec_notes) returns text
        language sql immutable set search_path = '' as $$ select note.body $$;
      insert into public.halfvec_notes
        select i, 'a note about ' || (array['chords', 'drums', 'mixing'])[1 + i % 3] || ' number ' || i
        from generate_series(1, 12) as i;`);
    try {
      const [{ id }] = await sql<{ id: string }[]>`
        select embeddings.register_target('public.halfvec_notes', 'id',
          'public.halfvec_notes_content(public.halfvec_notes)', 'embedding',
          ${localStackModel.model}, 384) as id`;
      const report = await runWorker(new PostgresTargetQueue(sql), localModel, {
        ...defaultRunOptions,
        target: "halfvec_notes",
      });
      assert.equal(report.written, 12, JSON.stringify(report.targets[0]?.error));
      const rows = await sql<{ body: string; embedding: string }[]>`
        select body, embedding::extensions.vector::text as embedding
        from public.halfvec_notes order by id`;
      const fresh = await localModel.embed(rows.map((row) => row.body));
      rows.forEach((row, index) => {
        const similarity = cosine(JSON.parse(row.embedding), fresh[index]);
        assert.ok(
          similarity > 0.999,
          `row ${index + 1} holds its vector in half precision (${similarity})`,
        );
      });
      const problems = await sql`
        select problem, row_count from embeddings.verify(${id}::bigint) where row_count > 0`;
      assert.deepEqual([...problems], [], "verify finds the halfvec column clean");
      const [status] = await sql<{ embedded: number; pending: number }[]>`
        select embedded::int, pending::int from embeddings.status(${id}::bigint)`;
      assert.deepEqual({ ...status }, { embedded: 12, pending: 0 });
      await sql`select embeddings.unregister_target(${id}::bigint)`;
    } finally {
      await sql.unsafe(`drop table public.halfvec_notes cascade`);
    }
  }));

Deno.test("shutdown: a run asked to stop mid-batch hands its rows back at once, charging none", () =>
  withDatabase(async (sql) => {
    const target = await createNotesTarget(sql, "shutdown_notes", 12);
    try {
      const stop = new AbortController();
      let calls = 0;
      // The platform's beforeunload arrives while the second batch is being embedded.
      const provider: EmbeddingProvider = {
        name: "local",
        model: localModel.model,
        dimensions: 384,
        embed: async (texts, options) => {
          calls += 1;
          if (calls === 2) {
            stop.abort();
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          if (options?.signal?.aborted) throw options.signal.reason;
          return await localModel.embed(texts);
        },
      };
      const report = await runWorker(new PostgresTargetQueue(sql), provider, {
        ...defaultRunOptions,
        batchSize: 4,
        leaseSeconds: 600,
        target: target.table,
      }, { stop: stop.signal });
      assert.equal(report.stoppedBecause, "stopped");
      assert.equal(report.written, 4, "the first batch was written");
      const [queue] = await sql<{ leased: number; charged: number; queued: number }[]>`
        select count(*) filter (where leased_until > now())::int as leased,
               count(*) filter (where attempts > 0)::int as charged,
               count(*)::int as queued
        from embeddings.queue where target_id = ${target.id}`;
      assert.deepEqual(
        { ...queue },
        { leased: 0, charged: 0, queued: 8 },
        "nothing is left leased for ten minutes, and no row paid for the shutdown",
      );
    } finally {
      await target.drop();
    }
  }));
