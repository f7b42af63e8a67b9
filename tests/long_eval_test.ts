// The long-document eval's parts without the model: the documents (answers past the input limit, relevance by the document holding the row), the ranking callback's scores, best-chunk ranking, and the default size it picks.
import assert from "node:assert/strict";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { buildLongDocuments, defaultShape } from "../tools/eval/long_documents.ts";
import {
  bestUnitRanking,
  evaluateLongDocuments,
  type LongResult,
  longSettings,
  pickDefaultSize,
  scoreRanking,
} from "../tools/eval/long_eval.ts";
import { firstCorpusRows, readQuestionSet } from "../tools/eval/question_set.ts";
import { readCorpusTexts } from "../tools/eval/seed_rows.ts";

async function longSet(seed = defaultShape.seed) {
  const set = await readQuestionSet();
  return buildLongDocuments(set, await readCorpusTexts(set), { ...defaultShape, seed });
}

Deno.test("long documents: one per corpus row, its text deep past the model's input limit", async () => {
  const set = await longSet();
  const texts = await readCorpusTexts(await readQuestionSet());
  assert.equal(set.documents.length, 20);
  for (const document of set.documents) {
    assert.ok(document.text.length >= defaultShape.minLength, `${document.key} is long`);
    assert.ok(document.text.length <= defaultShape.maxLength, `${document.key} is not huge`);
    assert.ok(
      document.answerStart >= defaultShape.answerAfter,
      `${document.key}: answer too early`,
    );
    assert.equal(
      document.text.slice(document.answerStart, document.answerEnd),
      texts.get(document.rowId),
    );
    // The row's text is in its own document only.
    for (const other of set.documents) {
      if (other !== document) assert.ok(!other.text.includes(texts.get(document.rowId)!));
    }
  }
  assert.equal(
    texts.get("0a6b1f0e-2c1d-4a7e-9d0a-000000000005"),
    "kick compression (mixing): Compress the kick drum with a slow attack and fast release so the transient punches through.",
  );
  assert.equal(set.questions.length, 64);
  for (const question of set.questions) assert.ok(question.relevant.size >= 1);
  const again = await longSet();
  assert.deepEqual(again.documents, set.documents, "the same seed builds the same documents");
  assert.notDeepEqual((await longSet(23)).documents, set.documents);
});

Deno.test("long eval: a ranking callback is scored by MRR@10, recall@5 and hit@1", async () => {
  const set = await longSet();
  const relevantFirst = (index: number) => Promise.resolve([...set.questions[index].relevant]);
  assert.deepEqual(await scoreRanking(set, relevantFirst), {
    mrrAt10: 1,
    recallAt5: 1,
    hitAt1: 1,
  });
  const others = (index: number) =>
    set.documents.map((document) => document.key).filter((key) =>
      !set.questions[index].relevant.has(key)
    );
  const relevantSecond = (index: number) =>
    Promise.resolve([others(index)[0], ...set.questions[index].relevant]);
  const scores = await scoreRanking(set, relevantSecond);
  assert.equal(scores.mrrAt10, 0.5);
  assert.equal(scores.hitAt1, 0);
});

Deno.test("long eval: a document ranks by its best unit; ties do not favour a name", async () => {
  const vectors = new Map([
    ["a", [[0, 1], [0.6, 0.8]]],
    ["b", [[1, 0]]],
    ["c", [[0, 1]]],
  ]);
  assert.deepEqual(await bestUnitRanking(vectors, [[1, 0]])(0), ["b", "a", "c"]);
  // Equal scores: over many questions, each of two tied documents comes first sometimes.
  const tied = new Map([["a", [[1, 0]]], ["b", [[1, 0]]]]);
  const rank = bestUnitRanking(tied, Array.from({ length: 20 }, () => [1, 0]));
  const firsts = new Set<string>();
  for (let index = 0; index < 20; index++) firsts.add((await rank(index))[0]);
  assert.deepEqual([...firsts].sort(), ["a", "b"]);
});

Deno.test("long eval: every setting is embedded and scored; the default is the best recursive size", async () => {
  const set = await longSet();
  // A stand-in model: a text's vector counts a few words, so the run needs no weights.
  const words = ["kick", "bass", "chord", "reverb", "melody", "mix", "guitar", "coffee"];
  const provider: EmbeddingProvider = {
    name: "local",
    model: "word-counts",
    dimensions: words.length,
    embed: (texts) =>
      Promise.resolve(texts.map((text) => {
        const counts = words.map((word) => text.toLowerCase().split(word).length - 1 + 0.01);
        const norm = Math.hypot(...counts);
        return counts.map((count) => count / norm);
      })),
  };
  const heard: string[] = [];
  const results = await evaluateLongDocuments(
    provider,
    set,
    longSettings(["recursive"]),
    (result) => heard.push(result.setting.label),
  );
  assert.deepEqual(heard, results.map((result) => result.setting.label));
  assert.equal(results[0].setting.chunking, null);
  assert.equal(results[0].units, 20);
  assert.ok(results[1].units > results.at(-1)!.units, "smaller chunks, more of them");
  const chosen = pickDefaultSize(results);
  const best = Math.max(...results.slice(1).map((result) => result.scores.mrrAt10));
  assert.ok(Math.abs(chosen.scores.mrrAt10 - best) < 0.0005);
});

Deno.test("long eval: the default size goes to the larger of equal scores, never to whole documents", () => {
  const result = (size: number | null, mrrAt10: number): LongResult => ({
    setting: {
      label: String(size),
      chunking: size === null
        ? null
        : { unit: "characters", size, overlap: 0, splitter: "recursive" },
    },
    units: 1,
    scores: { mrrAt10, recallAt5: 0, hitAt1: 0 },
  });
  const results = [result(null, 0.9), result(300, 0.5), result(600, 0.5004), result(1000, 0.4)];
  assert.equal(pickDefaultSize(results).setting.chunking?.size, 600);
});

Deno.test("long eval: a small set keeps the first rows and only the questions they answer", async () => {
  const set = await readQuestionSet();
  const small = firstCorpusRows(set, 3);
  assert.deepEqual(small.corpus, set.corpus.slice(0, 3));
  const kept = new Set(small.corpus.map((row) => row.id));
  assert.ok(small.questions.length >= 1 && small.questions.length < set.questions.length);
  for (const entry of small.questions) {
    assert.ok(entry.relevant.length >= 1);
    for (const row of entry.relevant) assert.ok(kept.has(row.id), `${entry.question}: ${row.id}`);
  }
  // Every question with a relevant row among the three is kept.
  const answered = set.questions.filter((entry) => entry.relevant.some((row) => kept.has(row.id)));
  assert.equal(small.questions.length, answered.length);
  assert.throws(() => firstCorpusRows(set, 0), /1 or more/);
});
