// The worker against the real database and the real local model, with fault-injecting wrappers around them.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { ProviderError } from "../supabase/functions/_shared/providers/provider_error.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { defaultRunOptions, type RunOptions } from "../supabase/functions/_shared/run_options.ts";
import type { TargetQueue } from "../supabase/functions/_shared/target_queue.ts";
import { runWorker, WorkerRequestError } from "../supabase/functions/_shared/worker.ts";
import type { WorkerReport } from "../supabase/functions/_shared/worker_report.ts";
import {
  assertEveryRowEmbedded,
  assertEveryRowStillQueued,
  connectAsPostgres,
  cosine,
  createNotesTarget,
  queueCounts,
  registeredTargetNames,
  resetToSeedRows,
  seedStories,
  storedEmbeddingStats,
  storedVector,
  targetReport,
  withDatabase,
  withNotesTarget,
} from "./test_support.ts";

const localModel = new LocalSentenceEncoderProvider(384);
const options: RunOptions = { ...defaultRunOptions, batchSize: 5, target: "music_knowledge" };
const vocalEqId = "0a6b1f0e-2c1d-4a7e-9d0a-000000000006";
const basicChordsId = "b914834e-74fd-4df9-9723-6c87fc54b6dc";

/** The real local model, with `corrupt` applied to its output. */
function providerWith(
  corrupt: (texts: readonly string[], vectors: number[][]) => number[][] | Promise<number[][]>,
  identity: { model?: string; dimensions?: number } = {},
): EmbeddingProvider {
  return {
    name: "local",
    model: identity.model ?? localModel.model,
    dimensions: identity.dimensions ?? 384,
    embed: async (texts) => await corrupt(texts, await localModel.embed(texts)),
  };
}

/** One worker run through the real database with `provider`, on music_knowledge unless told otherwise. */
function runWith(
  sql: postgres.Sql,
  provider: EmbeddingProvider,
  overrides: Partial<RunOptions> = {},
): Promise<WorkerReport> {
  return runWorker(new PostgresTargetQueue(sql), provider, { ...options, ...overrides });
}

Deno.test("worker: a NaN vector fails only its row, names it, and the rest are written", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const provider = providerWith((texts, vectors) =>
      vectors.map((vector, i) =>
        texts[i].startsWith("vocal eq") ? vector.map((v, d) => d === 10 ? NaN : v) : vector
      )
    );
    const report = await runWith(sql, provider);
    const music = targetReport(report, "music_knowledge");
    assert.equal(report.ok, false);
    assert.equal(report.failed, 1);
    assert.equal(music.claimed, 20);
    assert.equal(music.written, 19);
    assert.equal(music.failed, 1);
    assert.deepEqual(music.failedRows, [{
      key: vocalEqId,
      error:
        "universal-sentence-encoder-lite-384: embedding element 11 is NaN, not a finite number",
      deadLettered: false,
    }]);
    assert.deepEqual(await queueCounts(sql, "music_knowledge"), {
      embedded: 19,
      pending: 1,
      inFlight: 0,
      deadLettered: 0,
    }, "the failed row stays queued, nothing is lost");
    assert.equal((await storedEmbeddingStats(sql)).embedded, 19);
    assert.match(music.status?.lastError ?? "", /element 11 is NaN/);
  }));

/** Every attempt count of the target's queue, in order. */
async function attemptCounts(sql: postgres.Sql, target: string): Promise<number[]> {
  const [{ attempts }] = await sql<{ attempts: number[] | null }[]>`
    select array_agg(q.attempts order by q.attempts) as attempts from embeddings.queue q
    join embeddings.targets t on t.id = q.target_id where t.name = ${target}`;
  return attempts ?? [];
}

Deno.test("worker: when the provider goes down, no row pays: the batch goes back untried, the worker backs off and retries, then stops saying the provider is down", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    let calls = 0;
    const provider = providerWith((_texts, vectors) => {
      calls += 1;
      if (calls > 1) throw new ProviderError("unavailable", "HTTP 503 from the model server");
      return vectors;
    });
    const report = await runWith(sql, provider, { timeBudgetMs: 5_000 });
    const music = targetReport(report, "music_knowledge");
    assert.equal(report.ok, false);
    assert.equal(report.stoppedBecause, "provider_unavailable");
    assert.match(
      report.message,
      /^embedding provider is down \(HTTP 503 from the model server\); /,
    );
    assert.deepEqual(
      { kind: report.providerError?.kind, message: report.providerError?.message },
      { kind: "unavailable", message: "HTTP 503 from the model server" },
    );
    assert.ok(report.providerRetries >= 1, "the worker waited and tried again");
    assert.equal(calls, report.providerRetries + 2, "one call after each wait, no more");
    assert.equal(music.written, 5, "the first batch was written");
    assert.equal(music.failed, 0, "no row is blamed for the outage");
    assert.equal(music.released, 5 * (report.providerRetries + 1), "each failed batch went back");
    assert.match(music.error ?? "", /HTTP 503/);
    assert.deepEqual(await queueCounts(sql, "music_knowledge"), {
      embedded: 5,
      pending: 15,
      inFlight: 0,
      deadLettered: 0,
    });
    assert.deepEqual(await attemptCounts(sql, "music_knowledge"), Array(15).fill(0));
  }));

Deno.test("worker: an error a provider does not classify is taken as the provider being down, never charged to a row", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const provider = providerWith(() => {
      throw new Error("socket hang up");
    });
    const report = await runWith(sql, provider, { timeBudgetMs: 500 });
    assert.equal(report.stoppedBecause, "provider_unavailable");
    assert.equal(
      report.providerError?.message,
      "embedding provider local failed: socket hang up",
    );
    assert.equal(report.failed, 0);
    assert.deepEqual(await attemptCounts(sql, "music_knowledge"), Array(20).fill(0));
  }));

Deno.test("worker: a provider that ignores the budget's signal is given up on when the budget is spent", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    let calls = 0;
    const deaf: EmbeddingProvider = {
      name: "local",
      model: localModel.model,
      dimensions: 384,
      // Never settles and never looks at its signal.
      embed: () => {
        calls += 1;
        return new Promise(() => {});
      },
    };
    const report = await runWith(sql, deaf, { timeBudgetMs: 500 });
    assert.equal(report.stoppedBecause, "provider_unavailable");
    assert.equal(
      report.providerError?.message,
      "embedding provider local did not answer before the run's time budget was spent",
    );
    assert.equal(calls, 1, "the one call was given up on; no other was started");
    assert.equal(report.providerRetries, 0, "and no retry: the budget was spent");
    assert.equal(report.written + report.failed, 0);
    await assertEveryRowStillQueued(sql, "music_knowledge", 20, "its batch went back untried");
    assert.deepEqual(await attemptCounts(sql, "music_knowledge"), Array(20).fill(0));
  }));

Deno.test("worker: a provider that returns too few vectors never misaligns rows, and no row pays for it", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const provider = providerWith((_texts, vectors) => vectors.slice(1));
    const report = await runWith(sql, provider, { timeBudgetMs: 500 });
    const music = targetReport(report, "music_knowledge");
    assert.equal(report.stoppedBecause, "provider_malformed_answer");
    assert.equal(music.written, 0);
    assert.equal(music.failed, 0);
    assert.match(music.error ?? "", /returned 4 vectors for 5 texts; none of them is used/);
    assert.equal((await storedEmbeddingStats(sql)).embedded, 0);
    assert.equal((await queueCounts(sql, "music_knowledge")).pending, 20);
    assert.deepEqual(await attemptCounts(sql, "music_knowledge"), Array(20).fill(0));
  }));

Deno.test("worker: text longer than the local model reads is written and reported as truncated", () =>
  withNotesTarget("long_local_notes", 3, async (sql, notes) => {
    const long = "scales and arpeggios every morning. ".repeat(300);
    await sql`update public.long_local_notes set body = ${long} where id = 'n0003'`;
    const report = await runWith(sql, localModel, { target: notes.table });
    assert.equal(report.ok, true);
    assert.ok(long.length > 8_000);
    assert.deepEqual(targetReport(report, notes.table).truncatedKeys, ["n0003"]);
    assert.deepEqual(report.inputLimit, {
      maxCharacters: 8_000,
      description: "8,000 characters",
    });
    assert.match(report.message, /wrote 3 of 3 claimed \(1 cut to the model's input limit\)/);
  }));

Deno.test("worker: a row deleted while its batch is embedded is reported lost, not counted", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const provider = providerWith(async (texts, vectors) => {
      if (texts.some((text) => text.startsWith("basic chords"))) {
        await sql`delete from public.music_knowledge where id = ${basicChordsId}`;
      }
      return vectors;
    });
    const report = await runWith(sql, provider);
    const music = targetReport(report, "music_knowledge");
    assert.equal(report.ok, true);
    assert.equal(music.written, 19);
    assert.deepEqual(music.lostKeys, [basicChordsId]);
    assert.equal(music.status?.totalRows, 19);
    assert.equal(music.status?.embedded, 19);
    assert.equal(music.status?.pending, 0);
  }));

Deno.test("worker: a write answer that does not match the batch is not trusted", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const queue = new PostgresTargetQueue(sql);
    const lyingQueue: TargetQueue = {
      listTargets: () => queue.listTargets(),
      readStatus: (...args) => queue.readStatus(...args),
      claimBatch: (...args) => queue.claimBatch(...args),
      failRows: (...args) => queue.failRows(...args),
      releaseRows: (...args) => queue.releaseRows(...args),
      writeChunks: (...args) => queue.writeChunks(...args),
      writeBatch: (_target, _lease, _model, rows) =>
        Promise.resolve({
          writtenKeys: rows.map((row) => row.key).slice(1),
          staleKeys: [],
          lostKeys: [],
        }),
    };
    const report = await runWorker(lyingQueue, localModel, options);
    const music = targetReport(report, "music_knowledge");
    assert.equal(report.ok, false);
    assert.equal(report.stoppedBecause, "database_failed");
    assert.match(report.message, /^database call failed; /);
    assert.equal(music.written, 0);
    assert.match(music.error ?? "", /does not match the batch .*unaccounted keys: /);
  }));

Deno.test("worker: a target of a model or size no provider makes is skipped before anything is claimed", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const queue = new PostgresTargetQueue(sql);
    for (
      const [identity, expected] of [
        [{ dimensions: 512 }, /makes universal-sentence-encoder-lite-384 \(512 dimensions\)/],
        [{ model: "text-embedding-3-small" }, /makes text-embedding-3-small \(384 dimensions\)/],
      ] as const
    ) {
      const report = await runWorker(queue, providerWith((_t, v) => v, identity), options);
      const music = targetReport(report, "music_knowledge");
      assert.equal(report.ok, false);
      assert.equal(report.stoppedBecause, "no_target_matches_provider");
      assert.match(report.message, /^no target matches the provider \(/);
      assert.equal(music.claimed, 0);
      assert.equal(music.error, null, "skipped, not failed");
      assert.match(
        music.skipped ?? "",
        /target music_knowledge embeds with model universal-sentence-encoder-lite-384 \(384 dimensions\)/,
      );
      assert.match(music.skipped ?? "", expected);
      assert.match(music.skipped ?? "", /never mixed.*embeddings\.set_target_model/);
    }
    assert.equal((await queueCounts(sql, "music_knowledge")).pending, 20);
    assert.equal((await storedEmbeddingStats(sql)).embedded, 0);
  }));

Deno.test("worker: the time budget stops the run between batches", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    // Loaded first, so the first batch takes the provider's 500 ms and not the model's loading:
    // one batch fits the 900 ms budget, and a second would not.
    await localModel.embed(["warm up"]);
    const slow = providerWith(async (_texts, vectors) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return vectors;
    });
    const report = await runWith(sql, slow, { timeBudgetMs: 900 });
    assert.equal(report.stoppedBecause, "time_budget_spent");
    assert.match(report.message, /^time budget spent; /);
    assert.equal(report.batches, 1);
    assert.equal(report.written, 5);
    assert.equal(report.queued, 15);
    assert.equal((await queueCounts(sql, "music_knowledge")).pending, 15);
  }));

Deno.test("worker: an unknown target name is refused, naming the registered ones", () =>
  withDatabase(async (sql) => {
    await assert.rejects(
      runWorker(new PostgresTargetQueue(sql), localModel, { ...options, target: "nope" }),
      (error: Error) =>
        error instanceof WorkerRequestError &&
        /no embedding target is named "nope"; registered: .*music_knowledge/.test(error.message),
    );
  }));

Deno.test("worker: targets share a run round-robin, one batch each per round", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const first = await createNotesTarget(sql, "fair_notes_a", 30);
    const second = await createNotesTarget(sql, "fair_notes_b", 30);
    try {
      const report = await runWorker(new PostgresTargetQueue(sql), localModel, {
        ...options,
        target: null,
        maxRows: 20,
      });
      assert.equal(report.stoppedBecause, "max_rows_reached");
      // Round one: 5 from each target with rows, the seed's 4 stories whole (19); round two: the
      // last row maxRows allows, of music_knowledge, first in id order.
      const expectedClaims: Record<string, number> = {
        music_knowledge: 6,
        stories: seedStories.rows,
        fair_notes_a: 5,
        fair_notes_b: 5,
      };
      assert.deepEqual(
        report.targets.map((target) => [target.target, target.claimed]),
        (await registeredTargetNames(sql)).map((name) => [name, expectedClaims[name] ?? 0]),
      );
      assert.equal(report.written, 20);
      assert.equal(report.queued, 14 + 0 + 25 + 25, "what is left, over the targets worked");
      assert.equal((await queueCounts(sql, "fair_notes_a")).pending, 25);
    } finally {
      await first.drop();
      await second.drop();
    }
  }));

Deno.test("worker: two concurrent workers finish one backlog with no row embedded twice", () =>
  withDatabase(async (sql) => {
    const notes = await createNotesTarget(sql, "concurrent_notes", 80);
    const connections = [connectAsPostgres(), connectAsPostgres()];
    try {
      const embeddedBy: string[][] = [[], []];
      const runs = connections.map((connection, worker) => {
        const recording = providerWith(async (texts, vectors) => {
          embeddedBy[worker].push(...texts);
          // A little latency, as a remote model has, so the two workers interleave.
          await new Promise((resolve) => setTimeout(resolve, 15));
          return vectors;
        });
        return runWorker(new PostgresTargetQueue(connection), recording, {
          ...options,
          target: "concurrent_notes",
        });
      });
      const reports = await Promise.all(runs);
      const [firstTexts, secondTexts] = embeddedBy.map((texts) => new Set(texts));
      assert.ok(reports.every((report) => report.ok));
      assert.ok(firstTexts.size > 0 && secondTexts.size > 0, "both workers did part of the work");
      assert.equal(firstTexts.size + secondTexts.size, 80, "each row was embedded exactly once");
      assert.deepEqual([...firstTexts].filter((text) => secondTexts.has(text)), []);
      assert.equal(embeddedBy[0].length + embeddedBy[1].length, 80);
      assert.equal(reports[0].written + reports[1].written, 80);
      await assertEveryRowEmbedded(sql, "concurrent_notes", 80);
    } finally {
      await Promise.all(connections.map((connection) => connection.end({ timeout: 5 })));
      await notes.drop();
    }
  }));

Deno.test("worker: a row rewritten while its batch is embedded ends with the latest text's vector", () =>
  withDatabase(async (sql) => {
    const notes = await createNotesTarget(sql, "race_notes", 10);
    const oldText = "note 3 about melody";
    const newText = "a ballad about sailing home across a stormy sea";
    try {
      let rewritten = false;
      const racing = providerWith(async (texts, vectors) => {
        if (!rewritten && texts.includes(oldText)) {
          rewritten = true;
          await sql`update public.race_notes set body = ${newText} where id = 'n0003'`;
        }
        return vectors;
      });
      const report = await runWorker(new PostgresTargetQueue(sql), racing, {
        ...options,
        batchSize: 10,
        target: "race_notes",
      });
      const race = targetReport(report, "race_notes");
      assert.ok(rewritten, "the row was rewritten mid-batch");
      assert.equal(report.ok, true);
      assert.deepEqual(race.staleKeys, ["n0003"], "the old vector was refused as stale");
      assert.equal(race.written, 10, "9 in the first batch, the rewritten row in the next");
      assert.equal(race.batches, 2);

      const [latest, old] = await localModel.embed([newText, oldText]);
      const stored = await storedVector(sql, "race_notes", "n0003");
      assert.ok(cosine(stored, latest) > 0.9999, "the stored vector is the new text's");
      assert.ok(cosine(stored, old) < 0.9, "and not the old text's");
      const [record] = await sql<{ hash: string; expected: string }[]>`
        select e.content_hash as hash, md5(${newText}) as expected from embeddings.embedded_rows e
        where e.target_id = ${notes.id} and e.row_key = 'n0003'`;
      assert.equal(record.hash, record.expected);
      assert.equal((await queueCounts(sql, "race_notes")).pending, 0);
    } finally {
      await notes.drop();
    }
  }));

Deno.test("worker: a poison row is dead-lettered while the rest complete, and one call requeues it", () =>
  withNotesTarget("poison_notes", 12, async (sql, notes) => {
    await sql`update public.poison_notes set body = 'POISON pill' where id = 'n0007'`;
    const picky = providerWith((texts, vectors) => {
      if (texts.some((text) => text.includes("POISON"))) {
        throw new ProviderError(
          "rejected_input",
          "HTTP 400: input rejected by the model's content filter",
        );
      }
      return vectors;
    });
    const queue = new PostgresTargetQueue(sql);
    const poisonOptions = { ...options, target: "poison_notes" };

    const first = targetReport(await runWorker(queue, picky, poisonOptions), "poison_notes");
    assert.equal(first.written, 11, "every other row was written");
    assert.deepEqual(first.failedRows.map((row) => [row.key, row.deadLettered]), [[
      "n0007",
      false,
    ]]);
    assert.match(first.failedRows[0].error, /content filter/);

    // Skip the backoff instead of waiting it out.
    await sql`update embeddings.queue set next_attempt_at = now() where target_id = ${notes.id}`;
    const second = targetReport(await runWorker(queue, picky, poisonOptions), "poison_notes");
    assert.deepEqual(second.failedRows.map((row) => [row.key, row.deadLettered]), [[
      "n0007",
      true,
    ]]);
    assert.deepEqual(await queueCounts(sql, "poison_notes"), {
      embedded: 11,
      pending: 0,
      inFlight: 0,
      deadLettered: 1,
    });
    assert.match(second.status?.lastError ?? "", /content filter/);

    const third = await runWorker(queue, picky, poisonOptions);
    assert.equal(third.ok, true, "a dead row is not tried again");
    assert.equal(third.claimed, 0);

    const [{ requeued }] = await sql<{ requeued: number }[]>`
        select embeddings.requeue_dead(${notes.id}::bigint) as requeued`;
    assert.equal(requeued, 1);
    assert.equal((await queueCounts(sql, "poison_notes")).pending, 1);
  }, { maxAttempts: 2 }));

Deno.test("worker: rows leased by another worker are reported as leased until their lease ends, never as nothing left", () =>
  withNotesTarget("leased_elsewhere_notes", 8, async (sql, target) => {
    // A worker that claimed 3 rows and died: its lease runs for 10 more minutes.
    await sql`select * from embeddings.claim_batch(${target.id}::bigint, 3, 600)`;
    const report = await runWith(sql, localModel, { target: target.table });
    const [lease] = await sql<{ leased_until: Date }[]>`
        select max(leased_until) as leased_until from embeddings.queue where target_id = ${target.id}`;
    assert.equal(report.written, 5, "the worker embedded the 5 rows it could claim");
    assert.equal(report.stoppedBecause, "nothing_to_claim");
    assert.equal(report.queued, 3, "3 rows are still queued");
    assert.match(
      report.message,
      new RegExp(
        `^nothing left to claim; leased_elsewhere_notes: wrote 5 of 5 claimed; now 5/8 embedded, 3 leased by another worker until ${lease.leased_until.toISOString()}$`,
      ),
    );
  }));
