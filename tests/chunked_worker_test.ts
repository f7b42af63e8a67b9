// The worker on chunked targets (issue 22), against the real database and the real local model: every row's text cut into chunks that cover it, each chunk embedded and written, counted back from the chunk table.
import assert from "node:assert/strict";
import type postgres from "postgres";
import type { ChunkingOptions } from "../supabase/functions/_shared/chunking/chunk_text.ts";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { defaultRunOptions, type RunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import type { WorkerReport } from "../supabase/functions/_shared/worker_report.ts";
import { runCli } from "../tools/cli/run_cli.ts";
import { secretKey } from "../tools/stack/api_keys.ts";
import { standInModel } from "./cli_test_support.ts";
import {
  cosine,
  databaseUrl,
  localStackModel,
  postEmbed,
  queueCounts,
  targetReport,
  withDatabase,
} from "./test_support.ts";

const localModel = new LocalSentenceEncoderProvider(384);

const topics = ["chords", "mixing", "drums", "melody", "mastering", "rhythm", "harmony"];

/** A text of about `length` characters: paragraphs of sentences, different for each `seed`. */
function longText(seed: number, length: number): string {
  const paragraphs: string[] = [];
  let size = 0;
  for (let paragraph = 0; size < length; paragraph++) {
    const sentences: string[] = [];
    for (let sentence = 0; sentence < 5; sentence++) {
      const n = seed * 7919 + paragraph * 31 + sentence;
      sentences.push(
        `Lesson ${n} on ${topics[n % topics.length]} practises ${
          topics[(n * 3 + 1) % topics.length]
        } with a metronome at ${60 + n % 80} beats a minute.`,
      );
    }
    const text = sentences.join(" ");
    paragraphs.push(text);
    size += text.length + 2;
  }
  return paragraphs.join("\n\n");
}

interface ChunkedTarget {
  table: string;
  id: number;
}

const defaultChunking: ChunkingOptions = {
  unit: "characters",
  size: 1000,
  overlap: 100,
  splitter: "recursive",
};

/**
 * Creates public.<table>(id text primary key, body text) with one row per body (ids r01, r02, ...)
 * and registers it as a chunked target (no embedding column); unregistered and dropped after.
 */
async function withChunkedTarget(
  table: string,
  bodies: readonly string[],
  work: (sql: postgres.Sql, target: ChunkedTarget) => Promise<void>,
  { chunking = defaultChunking, model = localStackModel.model }: {
    chunking?: ChunkingOptions;
    model?: string;
  } = {},
): Promise<void> {
  await withDatabase(async (sql) => {
    // What an interrupted run of this test may have left.
    await sql`select embeddings.unregister_target(id) from embeddings.targets where name = ${table}`;
    await sql.unsafe(`
      drop table if exists public.${table} cascade;
      create table public.${table} (id text primary key, body text);
      create or replace function public.${table}_content(note public.${table}) returns text
        language sql immutable set search_path = '' as $$ select note.body $$;`);
    await sql`insert into ${sql("public")}.${sql(table)} (id, body)
      select 'r' || lpad(n::text, 2, '0'), body
      from unnest(${bodies as string[]}::text[]) with ordinality as b(body, n)`;
    const [{ id }] = await sql<{ id: string }[]>`
      select embeddings.register_target(
        source_table => ${`public.${table}`}::regclass, key_column => 'id',
        content_function => ${`public.${table}_content(public.${table})`}::regprocedure,
        embedding_column => null, model => ${model},
        dimensions => ${localStackModel.dimensions}, chunking => ${
      JSON.stringify(chunking)
    }::text::jsonb) as id`;
    try {
      await work(sql, { table, id: Number(id) });
    } finally {
      await sql`select embeddings.unregister_target(${id}::bigint)`;
      await sql.unsafe(`drop function public.${table}_content; drop table public.${table};`);
    }
  });
}

interface StoredChunk {
  rowKey: string;
  index: number;
  start: number;
  end: number;
  text: string;
  contentHash: string;
  embedding: number[];
}

/** The target's chunks, read back from its chunk table (embeddings.chunk_table), in order. */
async function storedChunks(sql: postgres.Sql, targetId: number): Promise<StoredChunk[]> {
  const [{ table }] = await sql<{ table: string | null }[]>`
    select embeddings.chunk_table(${targetId}::bigint)::text as table`;
  assert.ok(table, "a chunked target has a chunk table");
  const rows = await sql.unsafe<
    {
      row_key: string;
      chunk_index: number;
      start_offset: number;
      end_offset: number;
      chunk_text: string;
      content_hash: string;
      embedding: string;
    }[]
  >(`select row_key, chunk_index, start_offset, end_offset, chunk_text, content_hash,
            embedding::text as embedding
     from ${table} order by row_key, chunk_index`);
  return rows.map((row) => ({
    rowKey: row.row_key,
    index: row.chunk_index,
    start: row.start_offset,
    end: row.end_offset,
    text: row.chunk_text,
    contentHash: row.content_hash,
    embedding: JSON.parse(row.embedding),
  }));
}

/** The chunks of one row, by key. */
function chunksOf(chunks: readonly StoredChunk[], key: string): StoredChunk[] {
  return chunks.filter((chunk) => chunk.rowKey === key);
}

/**
 * Asserts a row's chunks cover its whole text: numbered 0, 1, ... from offset 0, each the text
 * between its offsets, each starting within or right after the one before, the last ending at the
 * text's end, none longer than `most` characters.
 */
function assertCovers(chunks: readonly StoredChunk[], text: string, most: number): void {
  assert.ok(chunks.length > 0, "the row has chunks");
  assert.equal(chunks[0].start, 0, "the first chunk starts the text");
  chunks.forEach((chunk, index) => {
    assert.equal(chunk.index, index);
    assert.equal(chunk.text, text.slice(chunk.start, chunk.end), "the chunk is its span of text");
    assert.ok(chunk.end - chunk.start <= most, `chunk ${index} is at most ${most} characters`);
    if (index > 0) {
      const before = chunks[index - 1];
      assert.ok(
        chunk.start > before.start && chunk.start <= before.end,
        "contiguous or overlapping",
      );
      assert.ok(chunk.end > before.end, "each chunk adds text");
    }
  });
  assert.equal(chunks[chunks.length - 1].end, text.length, "the last chunk ends the text");
}

function runOn(
  sql: postgres.Sql,
  provider: EmbeddingProvider,
  target: string,
  overrides: Partial<RunOptions> = {},
): Promise<WorkerReport> {
  return runWorker(new PostgresTargetQueue(sql), provider, {
    ...defaultRunOptions,
    batchSize: 4,
    target,
    ...overrides,
  });
}

/** md5 of each text, as the database computes it. */
async function md5(sql: postgres.Sql, text: string): Promise<string> {
  const [{ hash }] = await sql<{ hash: string }[]>`select md5(${text}) as hash`;
  return hash;
}

Deno.test("chunked worker: every row of several thousand characters is cut into chunks that cover its whole text, each embedded and written, counted back from the chunk table", async () => {
  const bodies = [longText(1, 4_000), longText(2, 6_500), longText(3, 500), longText(4, 3_000)];
  await withChunkedTarget("chunked_lessons", bodies, async (sql, target) => {
    const report = await runOn(sql, localModel, target.table);
    const lessons = targetReport(report, target.table);
    assert.equal(report.ok, true, report.message);
    assert.equal(lessons.written, 4);
    assert.deepEqual(lessons.truncatedKeys, [], "no text is cut");
    assert.deepEqual(lessons.failedRows, []);

    const chunks = await storedChunks(sql, target.id);
    assert.equal(lessons.chunksWritten, chunks.length, "the report counts the chunks stored");
    assert.equal(report.chunksWritten, chunks.length);
    assert.match(report.message, new RegExp(`wrote 4 of 4 claimed in ${chunks.length} chunks`));
    for (const [index, body] of bodies.entries()) {
      const key = `r0${index + 1}`;
      const own = chunksOf(chunks, key);
      assertCovers(own, body, defaultChunking.size);
      const hash = await md5(sql, body);
      assert.ok(own.every((chunk) => chunk.contentHash === hash), "cut from the row's text now");
    }
    assert.ok(bodies[2].length < defaultChunking.size);
    assert.equal(chunksOf(chunks, "r03").length, 1, "a text shorter than a chunk is one chunk");

    // A stored vector is the model's vector of its chunk's text.
    const sample = chunksOf(chunks, "r02")[3];
    const [expected] = await localModel.embed([sample.text]);
    assert.ok(cosine(sample.embedding, expected) > 0.9999);

    assert.deepEqual(await queueCounts(sql, target.table), {
      embedded: 4,
      pending: 0,
      inFlight: 0,
      deadLettered: 0,
    });
    assert.equal(lessons.status?.embedded, 4);
    assert.equal(lessons.status?.chunks, chunks.length, "the status counts the chunk table");
    assert.match(report.message, new RegExp(`now 4/4 embedded in ${chunks.length} chunks`));
  });
});

Deno.test("chunked worker: a chunk size past the model's input limit is capped at it, so no text is ever cut", async () => {
  const bodies = [longText(5, 20_000), longText(6, 9_000)];
  const chunking: ChunkingOptions = { ...defaultChunking, size: 12_000, overlap: 600 };
  await withChunkedTarget("chunked_capped", bodies, async (sql, target) => {
    const report = await runOn(sql, localModel, target.table);
    const capped = targetReport(report, target.table);
    assert.equal(report.ok, true, report.message);
    assert.deepEqual(capped.truncatedKeys, []);
    const chunks = await storedChunks(sql, target.id);
    const limit = localModel.inputLimit.maxCharacters;
    bodies.forEach((body, index) => assertCovers(chunksOf(chunks, `r0${index + 1}`), body, limit));
    assert.ok(chunksOf(chunks, "r01").length >= 3, "20,000 characters in chunks of 8,000 at most");
  }, { chunking });
});

Deno.test("chunked worker: a target chunked in tokens cuts chunks of at most that many estimated tokens", async () => {
  const bodies = [longText(22, 3_000)];
  const chunking: ChunkingOptions = {
    unit: "tokens",
    size: 120,
    overlap: 12,
    splitter: "recursive",
  };
  await withChunkedTarget("chunked_tokens", bodies, async (sql, target) => {
    const report = await runOn(sql, localModel, target.table);
    assert.equal(report.ok, true, report.message);
    const chunks = await storedChunks(sql, target.id);
    // 120 tokens of 3 characters each (request sizing's estimate, rounded up).
    assertCovers(chunks, bodies[0], 360);
    assert.ok(chunks.length >= 9, "3,000 characters in chunks of 360 at most");
  }, { chunking });
});

Deno.test("chunked worker: a blank row is written with no chunks and counts as embedded; a null text fails, saying what to return instead", async () => {
  const bodies = [longText(7, 2_500), "   ", "", "null"];
  await withChunkedTarget("chunked_blank", bodies, async (sql, target) => {
    await sql`update public.chunked_blank set body = null where id = 'r04'`;
    // A batch a row: a blank row's write sends no chunk at all.
    const report = await runOn(sql, localModel, target.table, { batchSize: 1 });
    const blank = targetReport(report, target.table);
    assert.equal(report.ok, false, "a row failed");
    assert.equal(blank.written, 3);
    assert.equal(blank.claimed, 4, "each row claimed once");
    assert.deepEqual(blank.failedRows.map((row) => row.key), ["r04"]);
    assert.match(blank.failedRows[0].error, /^the content function returned null: .* coalesce/);
    const chunks = await storedChunks(sql, target.id);
    assert.deepEqual([...new Set(chunks.map((chunk) => chunk.rowKey))], ["r01"]);
    assert.equal(blank.chunksWritten, chunks.length);
    assert.deepEqual(await queueCounts(sql, target.table), {
      embedded: 3,
      pending: 1,
      inFlight: 0,
      deadLettered: 0,
    });
  });
});

/** The local model, running `first` (a change to the table or the target) before its first call. */
function localModelAfter(
  first: () => Promise<unknown>,
): EmbeddingProvider & { fired: boolean } {
  return {
    name: "local",
    model: localModel.model,
    dimensions: localModel.dimensions,
    inputLimit: localModel.inputLimit,
    fired: false,
    async embed(texts, options) {
      if (!this.fired) {
        this.fired = true;
        await first();
      }
      return await localModel.embed(texts, options);
    },
  };
}

Deno.test("chunked worker: a row edited between claim and write is not written from its old text, and is queued again and written from its new one", async () => {
  const bodies = [longText(8, 3_000), longText(9, 3_000), longText(10, 3_000)];
  const edited = longText(11, 5_000);
  await withChunkedTarget("chunked_edited", bodies, async (sql, target) => {
    const editing = localModelAfter(() =>
      sql`update public.chunked_edited set body = ${edited} where id = 'r02'`
    );
    const report = await runOn(sql, editing, target.table, { batchSize: 3 });
    const race = targetReport(report, target.table);
    assert.ok(editing.fired, "the row was edited mid-batch");
    assert.equal(report.ok, true, report.message);
    assert.deepEqual(race.staleKeys, ["r02"], "the old text's chunks were refused as stale");
    assert.equal(race.written, 3, "two in the first batch, the edited row in the next");
    assert.equal(race.batches, 2);
    const chunks = await storedChunks(sql, target.id);
    assertCovers(chunksOf(chunks, "r02"), edited, defaultChunking.size);
    const hash = await md5(sql, edited);
    assert.ok(chunksOf(chunks, "r02").every((chunk) => chunk.contentHash === hash));
    assert.equal(race.chunksWritten, chunks.length, "the stale chunks are not counted");
    assert.equal((await queueCounts(sql, target.table)).embedded, 3);
  });
});

Deno.test("chunked worker: a chunking changed mid-run cuts the rows claimed after it the new way, never the way the run began with", async () => {
  const bodies = [longText(23, 3_000), longText(24, 3_000), longText(25, 3_000)];
  await withChunkedTarget("chunked_rechunked", bodies, async (sql, target) => {
    const changing = localModelAfter(() =>
      sql`select embeddings.set_target_chunking(${target.id}::bigint,
        ${JSON.stringify({ ...defaultChunking, size: 500, overlap: 50 })}::text::jsonb)`
    );
    const report = await runOn(sql, changing, target.table, { batchSize: 3 });
    const rechunked = targetReport(report, target.table);
    assert.ok(changing.fired, "the chunking was changed mid-batch");
    assert.equal(report.ok, true, report.message);
    assert.deepEqual(
      rechunked.lostKeys,
      ["r01", "r02", "r03"],
      "the batch cut the old way lost its leases",
    );
    assert.equal(rechunked.written, 3, "then claimed again and cut the new way");
    const chunks = await storedChunks(sql, target.id);
    bodies.forEach((body, index) => assertCovers(chunksOf(chunks, `r0${index + 1}`), body, 500));
    assert.equal((await queueCounts(sql, target.table)).pending, 0);
  });
});

Deno.test("chunked worker: a chunk the provider answers badly for fails its row only, naming the chunk; the others are written", async () => {
  const poisoned = `${longText(12, 2_500)}\n\nPOISON chord chart.\n\n${longText(13, 2_500)}`;
  const bodies = [longText(14, 3_000), poisoned, longText(15, 3_000)];
  await withChunkedTarget("chunked_poison", bodies, async (sql, target) => {
    const poisoning: EmbeddingProvider = {
      name: "local",
      model: localModel.model,
      dimensions: localModel.dimensions,
      inputLimit: localModel.inputLimit,
      embed: async (texts, options) =>
        (await localModel.embed(texts, options)).map((vector, i) =>
          texts[i].includes("POISON") ? vector.map(() => NaN) : vector
        ),
    };
    const report = await runOn(sql, poisoning, target.table);
    const poison = targetReport(report, target.table);
    assert.equal(report.ok, false);
    assert.equal(poison.written, 2);
    assert.equal(poison.failed, 1);
    assert.deepEqual(poison.failedRows.map((row) => [row.key, row.deadLettered]), [["r02", false]]);
    assert.match(
      poison.failedRows[0].error,
      /^chunk \d+ \(characters \d+ to \d+\): universal-sentence-encoder-lite-384: embedding element 1 is NaN/,
    );
    const chunks = await storedChunks(sql, target.id);
    assert.deepEqual([...new Set(chunks.map((chunk) => chunk.rowKey))], ["r01", "r03"]);
    assert.equal(poison.chunksWritten, chunks.length);
    assert.deepEqual(await queueCounts(sql, target.table), {
      embedded: 2,
      pending: 1,
      inFlight: 0,
      deadLettered: 0,
    }, "the failed row stays queued, one attempt spent");
  });
});

/** A CLI command's JSON output, against the local stack's database. */
async function cliJson(
  ...args: string[]
): Promise<{ code: number; json: Record<string, unknown> }> {
  const run = await runCli([...args, "--db-url", databaseUrl]);
  try {
    return { code: run.code, json: JSON.parse(run.stdout) };
  } catch {
    throw new Error(`cli ${args.join(" ")} printed no JSON (exit ${run.code}): ${run.stderr}`);
  }
}

Deno.test("chunked worker: the CLI's backfill (--defer-index: the chunk table's index) and embed work a chunked target with no new flag, and count its chunks", async () => {
  const bodies = [longText(16, 4_000), longText(17, 2_000), longText(18, 5_000)];
  await withChunkedTarget("chunked_cli", bodies, async (sql, target) => {
    const backfill = await cliJson(
      "backfill",
      "--provider",
      "stand-in",
      "--target",
      target.table,
      "--defer-index",
      "--json",
    );
    let chunks = await storedChunks(sql, target.id);
    assert.equal(backfill.code, 0, JSON.stringify(backfill.json));
    const [hnsw] = await sql<{ name: string }[]>`
      select format('%I.%I', n.nspname, i.relname) as name
      from pg_catalog.pg_index as x
      join pg_catalog.pg_class as i on i.oid = x.indexrelid
      join pg_catalog.pg_namespace as n on n.oid = i.relnamespace
      join pg_catalog.pg_am as am on am.oid = i.relam
      where x.indrelid = embeddings.chunk_table(${target.id}::bigint) and am.amname = 'hnsw'`;
    assert.ok(hnsw, "the chunk table's HNSW index is there after the backfill");
    assert.deepEqual(backfill.json.indexes, {
      dropped: [hnsw.name],
      rebuilt: [hnsw.name],
      leftDropped: [],
    }, "--defer-index dropped the chunk table's index and built it again");
    assert.equal(backfill.json.written, 3);
    assert.equal(backfill.json.chunksWritten, chunks.length);
    assert.match(
      String(backfill.json.message),
      new RegExp(`wrote 3 rows \\(${chunks.length} chunks\\)`),
    );
    bodies.forEach((body, index) => assertCovers(chunksOf(chunks, `r0${index + 1}`), body, 1000));

    const edited = longText(19, 3_500);
    await sql`update public.chunked_cli set body = ${edited} where id = 'r01'`;
    const embed = await cliJson("embed", "--provider", "stand-in", "--target", target.table);
    chunks = await storedChunks(sql, target.id);
    assert.equal(embed.code, 0, JSON.stringify(embed.json));
    assert.equal(embed.json.written, 1);
    assert.equal(embed.json.chunksWritten, chunksOf(chunks, "r01").length);
    assertCovers(chunksOf(chunks, "r01"), edited, 1000);
  }, { model: standInModel });
});

Deno.test("chunked worker: the embed function works a chunked target and answers its chunks written", async () => {
  const bodies = [longText(20, 3_000), longText(21, 1_500)];
  await withChunkedTarget("chunked_http", bodies, async (sql, target) => {
    const response = await postEmbed(secretKey, JSON.stringify({ target: target.table }));
    const answer = await response.json();
    assert.equal(response.status, 200, JSON.stringify(answer));
    const chunks = await storedChunks(sql, target.id);
    assert.equal(answer.written, 2);
    assert.equal(answer.chunksWritten, chunks.length);
    const [part] = answer.targets;
    assert.equal(part.chunksWritten, chunks.length);
    assert.deepEqual(part.truncatedKeys, []);
    assert.equal(part.status.embedded, 2);
  });
});
