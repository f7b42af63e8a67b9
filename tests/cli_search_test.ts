// `deno task cli search` against the local stack's app: the seed rows in every mode as service_role, two users' stories each seen only by their writer, a chunked target's best chunks, the JSON answer, and the usage errors.
import assert from "node:assert/strict";
import type { SearchReport } from "../tools/cli/search_report.ts";
import { describeCliRun, runCli } from "../tools/cli/run_cli.ts";
import { databaseUrl, withDatabase } from "./test_support.ts";
import { anaSeaStory, seedEmbedded, seedTarget, withTwoUsersStories } from "./search_seed_rows.ts";
import { anaStory, chunkedTarget, withChunkedStories } from "./search_chunked_rows.ts";

/** The seed row that answers the loudness question (topic loudness_targets). */
const loudnessKey = "0a6b1f0e-2c1d-4a7e-9d0a-000000000009";
const loudnessQuestion = "How loud should my master be for Spotify?";

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function search(...args: string[]) {
  return runCli(["search", ...args, "--db-url", databaseUrl], { EMBEDDING_PROVIDER: "local" });
}

async function searchJson(...args: string[]): Promise<SearchReport> {
  const run = await search(...args, "--json");
  assert.equal(run.code, 0, describeCliRun(run));
  return JSON.parse(run.stdout) as SearchReport;
}

Deno.test("cli search: --help names every flag and says who the search runs as", async () => {
  const help = await runCli(["search", "--help"]);
  assert.equal(help.code, 0, describeCliRun(help));
  assert.match(help.stdout, /^Usage: deno task cli search \[options\] <query>/);
  for (
    const flag of [
      /--target <name>/,
      /--mode <mode> +how to rank \(choices: "hybrid", "semantic", "keyword",\s+default: "hybrid"\)/,
      /--as-user <uuid>/,
      /--limit <n>/,
      /--json/,
      /--provider <name>/,
      /as service_role, which\s+bypasses RLS/,
    ]
  ) {
    assert.match(help.stdout, flag);
  }
});

Deno.test("cli search: the seed rows in every mode, as service_role, ranked with an excerpt", () =>
  withDatabase(async (sql) => {
    await seedEmbedded(sql);
    for (const mode of ["hybrid", "semantic", "keyword"]) {
      const run = await search(loudnessQuestion, "--target", seedTarget, "--mode", mode);
      assert.equal(run.code, 0, describeCliRun(run));
      const lines = run.stdout.trimEnd().split("\n");
      assert.match(
        lines[0],
        new RegExp(
          `^search music_knowledge for "${
            escaped(loudnessQuestion)
          }" \\(${mode}, model universal-sentence-encoder-lite-384\\): (\\d+) results?$`,
        ),
      );
      assert.equal(lines[1], "searched as service_role (RLS bypassed: every row of the table)");
      assert.match(lines[2], /^ +# +key +score +ranked by +excerpt$/);
      const count = Number(lines[0].match(/: (\d+) results?$/)?.[1]);
      assert.ok(count > 0 && count <= 10, `${mode}: at most --limit's default, 10`);
      assert.equal(lines.length, 3 + count, "one line per result");
      assert.ok(lines.slice(3).every((line) => line.length <= 160), "excerpts are short");
      if (mode !== "semantic") {
        assert.match(lines[3], new RegExp(`^ +1 +${loudnessKey} +[0-9.]+ +.*loudness_targets`));
      }
    }

    const report = await searchJson(loudnessQuestion, "--target", seedTarget, "--limit", "3");
    assert.equal(report.role, "service_role");
    assert.equal(report.asUser, null);
    assert.equal(report.mode, "hybrid");
    assert.equal(report.count, 3);
    assert.equal(report.results.length, 3);
    assert.equal(report.results[0].key, loudnessKey);
    assert.deepEqual(report.results[0].rankedBy, ["semantic", "keyword"]);
    assert.equal(report.results[0].chunk, null, "music_knowledge is a whole-row target");
    assert.equal(report.results[0].row.topic, "loudness_targets");
    assert.equal(report.results[0].row.embedding, undefined, "no vector in the row");
  }));

Deno.test("cli search: --as-user searches as that user, whose RLS shows only their stories", () =>
  withDatabase((sql) =>
    withTwoUsersStories(sql, async (ana, ben) => {
      for (const mode of ["hybrid", "semantic", "keyword"]) {
        const asAna = await searchJson(
          "sailing at sea",
          "--target",
          "stories",
          "--as-user",
          ana,
          "--mode",
          mode,
          "--limit",
          "100",
        );
        assert.equal(asAna.role, "authenticated");
        assert.equal(asAna.asUser, ana);
        assert.ok(asAna.count > 0, `${mode}: Ana finds her own stories`);
        assert.ok(
          asAna.results.every((hit) => hit.row.user_id === ana),
          `${mode}: Ana never sees Ben's story`,
        );
        for (const hit of asAna.results.filter((hit) => hit.rankedBy.includes("semantic"))) {
          const text = `${hit.row.title}\n\n${hit.row.body}`;
          assert.equal(
            hit.chunk?.text,
            text.slice(hit.chunk?.start, hit.chunk?.end),
            `${mode}: a semantic hit carries its best chunk, cut from her own story`,
          );
        }
        const asBen = await searchJson(
          "sailing at sea",
          "--target",
          "stories",
          "--as-user",
          ben,
          "--mode",
          mode,
        );
        assert.deepEqual(asBen.results.map((hit) => hit.row.title), ["Ben at sea"], mode);
      }
      const table = await search("sailing at sea", "--target", "stories", "--as-user", ana);
      assert.equal(table.code, 0, describeCliRun(table));
      assert.match(
        table.stdout,
        new RegExp(`^searched as user ${ana} \\(role authenticated: the table's RLS decides`, "m"),
      );
      assert.match(
        table.stdout,
        /^ +1 +\S+ +[\d.]+ +semantic\+keyword +chunk \d+ \[\d+-\d+\) +\S/m,
        "Ana's first result is ranked by a chunk of it, shown with its place",
      );
      const [sea] = await sql<{ chunks: number; whole: boolean }[]>`
        select count(*)::int as chunks, max(c.end_offset) = ${anaSeaStory.length + 12} as whole
        from embedding_chunks.stories as c join public.stories as s on s.id::text = c.row_key
        where s.user_id = ${ana} and s.title = 'Ana at sea'`;
      assert.deepEqual(
        sea,
        { chunks: 2, whole: true },
        "her story of the sea is in 2 chunks, whole",
      );
      assert.doesNotMatch(table.stdout, /Ben at sea/);

      const everyone = await searchJson("sailing at sea", "--target", "stories", "--limit", "100");
      const titles = everyone.results.map((hit) => hit.row.title);
      for (const title of ["Ana at sea", "Ana on the mountain", "Ben at sea"]) {
        assert.ok(titles.includes(title), `service_role sees ${title}`);
      }
    })
  ));

Deno.test("cli search: a keyword search embeds nothing, so it needs no provider", () =>
  withDatabase(async (sql) => {
    await seedEmbedded(sql);
    // openai without a key cannot be set up: the keyword search never asks for it.
    const keyword = await search(
      loudnessQuestion,
      "--target",
      seedTarget,
      "--mode",
      "keyword",
      "--provider",
      "openai",
    );
    assert.equal(keyword.code, 0, describeCliRun(keyword));
    const hybrid = await search(loudnessQuestion, "--target", seedTarget, "--provider", "openai");
    assert.equal(hybrid.code, 2, describeCliRun(hybrid));
    assert.match(
      hybrid.stderr,
      /^search: target music_knowledge holds vectors of model universal-sentence-encoder-lite-384 \(384 dimensions\), but the openai provider makes /m,
    );
    const otherModel = await search(
      loudnessQuestion,
      "--target",
      seedTarget,
      "--mode",
      "semantic",
      "--provider",
      "stand-in",
    );
    assert.equal(otherModel.code, 2, describeCliRun(otherModel));
    assert.match(
      otherModel.stderr,
      /target music_knowledge holds vectors of model universal-sentence-encoder-lite-384 \(384 dimensions\), but the local provider makes stand-in-hash-384/,
    );
  }));

Deno.test("cli search: bad input is a one-line usage error, exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["sea", "--target", "nope"],
      /^search: no target is named "nope"; registered: music_knowledge, stories, profiles$/,
    ],
    [
      ["sea"],
      /^search: --target is required: the registered targets are music_knowledge, stories, profiles$/,
    ],
    [
      ["sea", "--target", "stories", "--mode", "fuzzy"],
      /argument 'fuzzy' is invalid\. Allowed choices are hybrid, semantic, keyword\./,
    ],
    [
      ["sea", "--target", "stories", "--as-user", "ana"],
      /--as-user <uuid>' argument 'ana' is invalid\. must be a user's id/,
    ],
    [
      ["sea", "--target", "stories", "--as-user", "aaaaaaaa-0000-4000-8000-00000000dead"],
      /^search: no user has the id aaaaaaaa-0000-4000-8000-00000000dead \(auth\.users\)$/,
    ],
    [["   ", "--target", "stories"], /^search: query is empty: there is nothing to search for$/],
    [["?!", "--target", "stories"], /^search: query has no letter or digit/],
    [
      ["sea", "--target", "stories", "--limit", "101"],
      /--limit <n>' argument '101' is invalid\. must be a whole number from 1 to 100/,
    ],
  ];
  for (const [args, message] of cases) {
    const run = await search(...args);
    assert.equal(run.code, 2, describeCliRun(run));
    assert.match(run.stderr.trim().split("\n")[0], message, args.join(" "));
    assert.equal(run.stdout, "", "nothing on stdout");
  }
});

Deno.test("cli search: a chunked target answers each row once with its best chunk, as its writer only", () =>
  withDatabase((sql) =>
    withChunkedStories(sql, async ({ ana, ben }) => {
      for (const mode of ["semantic", "hybrid"]) {
        const asAna = await searchJson(
          "a storm at sea broke the mast",
          "--target",
          chunkedTarget,
          "--as-user",
          ana,
          "--mode",
          mode,
        );
        assert.equal(asAna.count, 1, `${mode}: Ana's one story, once however many chunks match`);
        const [hit] = asAna.results;
        assert.equal(hit.row.user_id, ana);
        assert.ok(hit.chunk !== null, `${mode}: the chunk that ranked it`);
        const text = `${anaStory.title}\n\n${anaStory.body}`;
        assert.equal(hit.chunk.text, text.slice(hit.chunk.start, hit.chunk.end));
        assert.match(
          hit.chunk.text,
          /storm broke over us/,
          `${mode}: the storm's chunk is the best`,
        );
        assert.ok(hit.chunk.index > 0, "a chunk from inside the story, not its start");
      }
      const asBen = await searchJson(
        "the mast cracked",
        "--target",
        chunkedTarget,
        "--as-user",
        ben,
      );
      assert.deepEqual(asBen.results.map((hit) => hit.row.user_id), [ben], "Ben sees only his");
      assert.ok(asBen.results.every((hit) => !hit.chunk?.text.includes("mast")));

      const table = await search("a storm at sea", "--target", chunkedTarget, "--as-user", ana);
      assert.equal(table.code, 0, describeCliRun(table));
      assert.match(table.stdout, /^ +# +key +score +ranked by +chunk +excerpt$/m);
      assert.match(table.stdout, /chunk \d+ \[\d+-\d+\) +.*storm/, "the best chunk is printed");
      assert.doesNotMatch(table.stdout, /island|compass/, "nothing of Ben's");
    })
  ));
