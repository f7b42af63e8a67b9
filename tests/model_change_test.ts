// A model change on the demo target, offline (local 384 to local-512): search quality on the labelled questions is the old model's exactly with half the new version written, the complete new version's at the switch, and hybrid never drops; the CLI's steps print what they did; a chunked target's change, filled by the real worker.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { defaultRunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import { embedQuestions, evaluateModes } from "../tools/eval/evaluate.ts";
import type { ModeScores } from "../tools/eval/metrics.ts";
import { type QuestionSet, readQuestionSet } from "../tools/eval/question_set.ts";
import { runModelChangeStep } from "../tools/cli/model_change_steps.ts";
import { localProvider, seedEmbedded, seedTarget } from "./search_seed_rows.ts";
import { type CliRun, describeCliRun, runCli } from "../tools/cli/run_cli.ts";
import { databaseUrl, withDatabase } from "./test_support.ts";

const nextVersion = `${seedTarget}__next`;
const measuredModes = ["semantic", "hybrid"] as const;

/** MRR@10 of the measured modes, the questions embedded with the provider the target now uses. */
async function quality(
  sql: postgres.Sql,
  set: QuestionSet,
  provider: EmbeddingProvider,
): Promise<Record<string, number>> {
  const scores = await evaluateModes(
    sql,
    set,
    await embedQuestions(provider, set),
    {},
    measuredModes,
  );
  return Object.fromEntries(
    measuredModes.map((mode) => [mode, (scores[mode] as ModeScores).mrrAt10]),
  );
}

/** Runs the worker on a version (the new one unless named) for at most maxRows rows; returns the rows it wrote. */
async function fillVersion(
  sql: postgres.Sql,
  provider: EmbeddingProvider,
  maxRows: number,
  target = nextVersion,
): Promise<number> {
  const report = await runWorker(new PostgresTargetQueue(sql), provider, {
    ...defaultRunOptions,
    batchSize: Math.min(maxRows, defaultRunOptions.batchSize),
    maxRows,
    target,
  });
  assert.ok(report.ok, report.message);
  return report.written;
}

async function newVersionProgress(sql: postgres.Sql): Promise<[number, number]> {
  const [row] = await sql<{ total_rows: number; embedded: number }[]>`
    select total_rows::int, embedded::int from embeddings.status where name = ${nextVersion}`;
  return [row.embedded, row.total_rows];
}

/** Back to where the test found the database: the change undone (rollback, then abandon). */
async function undoChange(sql: postgres.Sql, target = seedTarget): Promise<void> {
  for (let step = 0; step < 2; step++) {
    const [running] = await sql<{ id: string }[]>`
      select id from embeddings.model_changes
      where state in ('filling', 'switched') and target_name = ${target}`;
    if (running === undefined) return;
    await runModelChangeStep(sql, target, "rollback");
  }
}

Deno.test("model change: search quality does not drop while the change runs, and the switch answers the complete new version", () =>
  withDatabase(async (sql) => {
    await seedEmbedded(sql);
    const set = await readQuestionSet();
    const oldProvider = await localProvider();
    const newProvider = new LocalSentenceEncoderProvider(512);
    const before = await quality(sql, set, oldProvider);
    try {
      const started = await runModelChangeStep(sql, seedTarget, "start", {
        model: newProvider.model,
        dimensions: newProvider.dimensions,
        column: null,
        vectorType: "vector",
      });
      assert.equal(started.state, "filling");
      const [, total] = await newVersionProgress(sql);
      const half = Math.floor(total / 2);
      assert.equal(await fillVersion(sql, newProvider, half), half);
      assert.deepEqual(
        await newVersionProgress(sql),
        [half, total],
        "half the new version written",
      );
      await assert.rejects(
        runModelChangeStep(sql, seedTarget, "switch"),
        /has \d+ of \d+ rows embedded/,
        "switch is refused while half the rows lack a new vector",
      );
      const during = await quality(sql, set, oldProvider);
      assert.equal(await fillVersion(sql, newProvider, total), total - half);
      // The new model's own quality: its complete version, searched by its own name.
      const newModelAlone = await quality(sql, { ...set, target: nextVersion }, newProvider);
      const switched = await runModelChangeStep(sql, seedTarget, "switch");
      assert.deepEqual(
        [switched.newVersion.name, switched.newVersion.embedded],
        [seedTarget, total],
      );
      const after = await quality(sql, set, newProvider);
      console.log(
        `MRR@10 before / with half written / after the switch (the new model alone): ${
          measuredModes.map((mode) =>
            `${mode} ${before[mode].toFixed(3)} / ${during[mode].toFixed(3)} / ${
              after[mode].toFixed(3)
            } (${newModelAlone[mode].toFixed(3)})`
          ).join("; ")
        }`,
      );
      // While the change runs search answers from the old model, exactly as before; the switch
      // answers at once what the new model answers complete (its own quality, measured above).
      assert.deepEqual(during, before, "no drop while the change runs");
      assert.deepEqual(after, newModelAlone, "the switch answers the complete new version at once");
      assert.ok(after.hybrid >= before.hybrid, "hybrid, the default mode, never drops");
    } finally {
      await undoChange(sql);
    }
  }));

function modelChange(...args: string[]): Promise<CliRun> {
  return runCli(["model-change", ...args, "--target", seedTarget, "--db-url", databaseUrl]);
}

Deno.test("model change: the CLI's steps print what they did, read back, and a refusal its reason", () =>
  withDatabase(async (sql) => {
    await seedEmbedded(sql);
    try {
      const start = await modelChange(
        "start",
        "--model",
        "text-embedding-3-small",
        "--dimensions",
        "1536",
      );
      assert.equal(start.code, 0, describeCliRun(start));
      assert.match(
        start.stdout,
        /model change \d+ started, universal-sentence-encoder-lite-384 to text-embedding-3-small/,
      );
      assert.match(
        start.stdout,
        /new version: music_knowledge__next \(target \d+\), text-embedding-3-small, 0 of 20 rows embedded/,
      );
      assert.match(
        start.stdout,
        /column: embedding_text_embedding_3_small, added by the engine, in the table/,
      );
      const status = await runCli(["model-change", "status", "--db-url", databaseUrl]);
      assert.match(
        status.stdout,
        /music_knowledge +filling +universal-sentence-encoder-lite-384 .* 20\/20 +text-embedding-3-small +0\/20 +20/,
        describeCliRun(status),
      );
      const refused = await modelChange("switch");
      assert.equal(refused.code, 1, describeCliRun(refused));
      assert.match(
        refused.stderr,
        /refused: the new version of music_knowledge \(text-embedding-3-small\) has 0 of 20 rows embedded/,
      );
      const forced = await modelChange("switch", "--force", "--json");
      assert.equal(forced.code, 0, describeCliRun(forced));
      assert.equal((JSON.parse(forced.stdout) as { state: string }).state, "switched");
      const back = await modelChange("rollback");
      assert.match(
        back.stdout,
        /rolled back; search and status of music_knowledge read universal-sentence-encoder-lite-384 again/,
      );
      const abandoned = await modelChange("rollback");
      assert.match(
        abandoned.stdout,
        /column: embedding_text_embedding_3_small, added by the engine, dropped/,
      );
      const [column] = await sql`select 1 from information_schema.columns
        where table_name = 'music_knowledge' and column_name = 'embedding_text_embedding_3_small'`;
      assert.equal(column, undefined, "the column the engine added is gone");
    } finally {
      await undoChange(sql);
    }
  }));

const chunkedTable = "mc_chunked_lessons";
const lessons = [
  "Tuning the kick drum. Tighten the batter head a quarter turn at a time until the low note rings short and punchy.",
  "Mixing vocals. Cut the mud around three hundred hertz, compress gently, then add a touch of plate reverb.",
  "Practising scales. Play the major scale slowly with a metronome, then in thirds, then in broken chords.",
];

/** public.mc_chunked_lessons registered chunked (100-character chunks, the local model); removed after, with any change left running. */
async function withChunkedLessons(sql: postgres.Sql, work: () => Promise<void>): Promise<void> {
  const drop = async () => {
    await undoChange(sql, chunkedTable);
    await sql`select embeddings.unregister_target(id) from embeddings.targets where name = ${chunkedTable}`;
    await sql.unsafe(`drop table if exists public.${chunkedTable} cascade;
      drop function if exists public.${chunkedTable}_content;`);
  };
  await drop();
  await sql.unsafe(`create table public.${chunkedTable} (id text primary key, body text not null);
    create function public.${chunkedTable}_content(lesson public.${chunkedTable}) returns text
      language sql immutable set search_path = '' as $$ select lesson.body $$;`);
  await sql`insert into ${sql("public")}.${sql(chunkedTable)} (id, body)
    select 'l' || n, body from unnest(${lessons}::text[]) with ordinality as b(body, n)`;
  const provider = await localProvider();
  await sql`select embeddings.register_target(${`public.${chunkedTable}`}::regclass, 'id',
    ${`public.${chunkedTable}_content(public.${chunkedTable})`}::regprocedure, null,
    ${provider.model}, ${provider.dimensions}, chunking => '{"size": 100, "overlap": 0}')`;
  try {
    await work();
  } finally {
    await drop();
  }
}

/** The best chunk a semantic search of the name answers for a question, and the model of that chunk in the table of the name. */
async function bestChunk(
  sql: postgres.Sql,
  provider: EmbeddingProvider,
  question: string,
): Promise<{ row_key: string; chunk: string; model: string }> {
  const [vector] = await provider.embed([question]);
  const [best] = await sql<{ row_key: string; chunk: string; model: string }[]>`
    select s.row_key, s.chunk, (select c.model from ${sql("embedding_chunks")}.${
    sql(chunkedTable)
  } as c
             where c.row_key = s.row_key and c.chunk_index = s.chunk_index) as model
    from public.search_embeddings(${chunkedTable}, query_embedding => ${
    JSON.stringify(vector)
  }::extensions.vector,
      mode => 'semantic') as s
    order by s.similarity desc limit 1`;
  return best;
}

Deno.test("model change: a chunked target's new version is filled by the worker in its own chunk table, and search follows switch and finish", () =>
  withDatabase((sql) =>
    withChunkedLessons(sql, async () => {
      const oldProvider = await localProvider();
      const newProvider = new LocalSentenceEncoderProvider(512);
      const question = "how do I make the vocals sound less muddy";
      assert.equal(await fillVersion(sql, oldProvider, 100, chunkedTable), lessons.length);
      await runModelChangeStep(sql, chunkedTable, "start", {
        model: newProvider.model,
        dimensions: newProvider.dimensions,
        column: null,
        vectorType: "vector",
      });
      const next = `${chunkedTable}__next`;
      assert.equal(await fillVersion(sql, newProvider, 100, next), lessons.length);
      const [{ dimensions }] = await sql<{ dimensions: number }[]>`
        select a.atttypmod as dimensions from pg_attribute as a
        where a.attrelid = ${`embedding_chunks.${next}`}::regclass and a.attname = 'embedding'`;
      assert.equal(dimensions, 512, "the new version's chunk table holds the new model's vectors");
      const before = await bestChunk(sql, oldProvider, question);
      assert.deepEqual([before.row_key, before.model], ["l2", oldProvider.model]);

      const switched = await runModelChangeStep(sql, chunkedTable, "switch");
      assert.deepEqual([switched.newVersion.name, switched.newVersion.embedded], [
        chunkedTable,
        lessons.length,
      ]);
      const after = await bestChunk(sql, newProvider, question);
      assert.deepEqual(
        [after.row_key, after.model],
        ["l2", newProvider.model],
        "search answers the new chunks",
      );
      // An edit after the switch: each version's worker writes the chunk table of its name now.
      await sql`update ${sql("public")}.${
        sql(chunkedTable)
      } set body = body || ' Then check it in mono.' where id = 'l2'`;
      assert.equal(await fillVersion(sql, newProvider, 100, chunkedTable), 1);
      assert.equal(await fillVersion(sql, oldProvider, 100, `${chunkedTable}__previous`), 1);
      const problems = await sql<{ name: string; problems: number }[]>`
        select t.name, (select coalesce(sum(v.row_count), 0)::int from embeddings.verify(t.id) as v) as problems
        from embeddings.targets as t where t.name like ${chunkedTable + "%"} order by t.name`;
      assert.deepEqual(problems.map((p) => [p.name, p.problems]), [
        [chunkedTable, 0],
        [`${chunkedTable}__previous`, 0],
      ], "verify finds each version's chunks where they belong");

      await runModelChangeStep(sql, chunkedTable, "finish");
      const [{ previous }] = await sql<{ previous: string | null }[]>`
        select to_regclass(${`embedding_chunks.${chunkedTable}__previous`})::text as previous`;
      assert.equal(previous, null, "finish dropped the old chunk table");
      const finished = await bestChunk(sql, newProvider, question);
      assert.deepEqual([finished.row_key, finished.model], ["l2", newProvider.model]);
    })
  ));
