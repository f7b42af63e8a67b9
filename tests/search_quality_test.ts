// Search quality on the demo data with the offline model: each row's own topic finds it first in every mode, and on the labelled questions hybrid scores at least as well as the better of keyword and semantic.
import assert from "node:assert/strict";
import { searchAsCaller } from "../supabase/functions/_shared/search/search_as_caller.ts";
import { searchModes } from "../supabase/functions/_shared/search/search_request.ts";
import { anonCaller, embedQuestions, evaluateModes } from "../tools/eval/evaluate.ts";
import { readQuestionSet } from "../tools/eval/question_set.ts";
import { withDatabase } from "./test_support.ts";
import { localProvider, seedEmbedded, seedTarget } from "./search_seed_rows.ts";

Deno.test("search quality: each demo row's topic, as words, ranks that row first in every mode", () =>
  withDatabase(async (sql) => {
    await seedEmbedded(sql);
    const set = await readQuestionSet();
    const queries = set.corpus.map((row) => row.topic.replaceAll("_", " "));
    const embeddings = await (await localProvider()).embed(queries);
    for (const mode of searchModes) {
      const missed: string[] = [];
      for (const [index, row] of set.corpus.entries()) {
        const [first] = await searchAsCaller(sql, anonCaller, {
          target: seedTarget,
          mode,
          matchCount: 1,
          queryText: queries[index],
          queryEmbedding: mode === "keyword" ? null : embeddings[index],
          filters: {},
        });
        if (first?.key !== row.id) {
          missed.push(`${row.topic} (got ${first?.row.topic ?? "nothing"})`);
        }
      }
      assert.deepEqual(missed, [], `${mode}: every topic finds its own row first`);
    }
  }));

Deno.test("search quality: on the labelled questions, hybrid scores at least as well as the better of keyword and semantic", () =>
  withDatabase(async (sql) => {
    await seedEmbedded(sql);
    const set = await readQuestionSet();
    const scores = await evaluateModes(sql, set, await embedQuestions(await localProvider(), set));
    const { keyword, semantic, hybrid } = scores;
    assert.ok(keyword && semantic && hybrid);
    console.log(
      `MRR@10 keyword ${keyword.mrrAt10.toFixed(3)}, semantic ${
        semantic.mrrAt10.toFixed(3)
      }, hybrid ${hybrid.mrrAt10.toFixed(3)}; recall@5 keyword ${
        keyword.recallAt5.toFixed(3)
      }, semantic ${semantic.recallAt5.toFixed(3)}, hybrid ${hybrid.recallAt5.toFixed(3)}`,
    );
    assert.ok(
      hybrid.mrrAt10 >= Math.max(keyword.mrrAt10, semantic.mrrAt10),
      "hybrid MRR@10 is at least the better side's",
    );
    assert.ok(
      hybrid.recallAt5 >= Math.max(keyword.recallAt5, semantic.recallAt5),
      "hybrid recall@5 is at least the better side's",
    );
    // The figures the README states, so a change to the search that moves them is seen.
    assert.deepEqual(
      [keyword.mrrAt10, semantic.mrrAt10, hybrid.mrrAt10].map((value) => value.toFixed(3)),
      ["0.848", "0.712", "0.853"],
    );
  }));
