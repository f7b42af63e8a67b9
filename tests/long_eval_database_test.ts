// The long-document eval through the engine on three documents (needs the local stack): both targets embedded by the backfill, every document chunked (counted in the chunk table), the report's shape, and the table and targets gone afterwards, also when the run fails.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { connectForCli } from "../tools/cli/cli_connection.ts";
import { closeConnection } from "../tools/cli/close_connection.ts";
import { evaluateThroughDatabase } from "../tools/eval/long_database_eval.ts";
import { measureLongDocumentsInDatabase } from "../tools/eval/long_database_report.ts";
import { evalTable, evalTargets } from "../tools/eval/long_database_setup.ts";
import { buildLongDocuments, defaultShape } from "../tools/eval/long_documents.ts";
import { firstCorpusRows, readQuestionSet } from "../tools/eval/question_set.ts";
import { readCorpusTexts } from "../tools/eval/seed_rows.ts";
import { databaseUrl, withDatabase } from "./test_support.ts";

async function assertNothingLeft(sql: postgres.Sql): Promise<void> {
  const [left] = await sql<{ table: string | null; targets: number; chunk_tables: number }[]>`
    select pg_catalog.to_regclass(${`public.${evalTable}`})::text as table,
      (select count(*)::integer from embeddings.targets as t
        where t.name in ${sql(Object.values(evalTargets))}) as targets,
      (select count(*)::integer from pg_catalog.pg_tables as c
        where c.schemaname = 'embedding_chunks' and c.tablename in ${
    sql(Object.values(evalTargets))
  }) as chunk_tables`;
  assert.deepEqual(left, { table: null, targets: 0, chunk_tables: 0 });
}

Deno.test("long eval --database: three documents through both targets, every one chunked, nothing left", async () => {
  const outcome = await measureLongDocumentsInDatabase(databaseUrl, {
    seed: defaultShape.seed,
    documents: 3,
    quiet: true,
  });
  assert.equal(outcome.documents, 3);
  assert.ok(outcome.questions >= 1);
  assert.deepEqual(outcome.chunking, {
    unit: "characters",
    size: 300,
    overlap: 45,
    splitter: "recursive",
  });
  const perDocument = Object.values(outcome.chunksPerDocument);
  assert.equal(perDocument.length, 3);
  for (const [key, count] of Object.entries(outcome.chunksPerDocument)) {
    // 9,000 characters and more in chunks of at most 300: dozens each.
    assert.ok(count >= 30, `${key} has ${count} chunks`);
  }
  assert.deepEqual(
    outcome.results.map((result) => `${result.target} ${result.mode}`),
    [
      "chunked keyword",
      "chunked semantic",
      "chunked hybrid",
      "whole keyword",
      "whole semantic",
      "whole hybrid",
    ],
  );
  // A chunked result's units are the per-document counts summed (and checked against status
  // inside the eval); only the whole target's can be told apart here: one vector per document.
  for (const result of outcome.results) {
    if (result.target === "whole") assert.equal(result.units, 3);
    assert.ok(result.meanAnswerRows > 0 && result.meanAnswerRows <= 3);
    for (const value of Object.values(result.scores)) assert.ok(value >= 0 && value <= 1);
  }
  // The keyword side reads the whole text of either target: the same answers.
  assert.deepEqual(outcome.results[0].scores, outcome.results[3].scores);
  await withDatabase(assertNothingLeft);
});

Deno.test("long eval --database: a run that fails still removes the table and the targets", async () => {
  const questions = firstCorpusRows(await readQuestionSet(), 2);
  const set = buildLongDocuments(questions, await readCorpusTexts(questions));
  const sql = connectForCli(databaseUrl);
  try {
    // The backfill's workers embed with another model than the targets': nothing is written.
    await assert.rejects(
      evaluateThroughDatabase({
        sql,
        databaseUrl,
        providerSpec: { kind: "stand-in", dimensions: 384 },
        provider: new LocalSentenceEncoderProvider(),
        set,
        progress: "none",
      }),
      /eval_long_chunked/,
    );
  } finally {
    await closeConnection(sql);
  }
  await withDatabase(assertNothingLeft);
});
