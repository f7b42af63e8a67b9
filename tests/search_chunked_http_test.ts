// The served `search` function over a chunked target: each user's JSON answer holds their own row once, with the chunk that ranked it ({text, index, start, end}), and nothing of the other user's.
import assert from "node:assert/strict";
import type { SearchHit } from "../supabase/functions/_shared/search/search_as_caller.ts";
import { publishableKey, signUserJwt } from "../tools/stack/api_keys.ts";
import { functionsUrl, withDatabase } from "./test_support.ts";
import { anaStory, benStory, chunkedTarget, withChunkedStories } from "./search_chunked_rows.ts";

interface SearchAnswer {
  role: string;
  count: number;
  results: SearchHit[];
  error?: string;
}

async function search(token: string, body: Record<string, unknown>) {
  const response = await fetch(`${functionsUrl}/search`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      apikey: publishableKey,
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ target: chunkedTarget, ...body }),
  });
  return { status: response.status, answer: await response.json() as SearchAnswer };
}

Deno.test("search function: a chunked target's rows come back once each, with their best chunk, to their writer only", () =>
  withDatabase((sql) =>
    withChunkedStories(sql, async ({ ana, ben }) => {
      const anaToken = await signUserJwt({ sub: ana, role: "authenticated" });
      for (const mode of ["hybrid", "semantic"]) {
        const { status, answer } = await search(anaToken, {
          query: "the mast cracked in a gale",
          mode,
        });
        assert.equal(status, 200, JSON.stringify(answer));
        assert.equal(answer.role, "authenticated");
        assert.equal(answer.count, 1, `${mode}: Ana's one story, once`);
        const [hit] = answer.results;
        assert.equal(hit.row.user_id, ana);
        assert.ok(hit.chunk, `${mode}: the chunk that ranked it`);
        const text = `${anaStory.title}\n\n${anaStory.body}`;
        assert.deepEqual(
          hit.chunk,
          {
            text: text.slice(hit.chunk.start, hit.chunk.end),
            index: hit.chunk.index,
            start: hit.chunk.start,
            end: hit.chunk.end,
          },
          "its text is the row's text between its offsets",
        );
        assert.match(hit.chunk.text, /mast cracked in the gale/);
      }

      const keyword = await search(anaToken, { query: "storm", mode: "keyword" });
      assert.equal(keyword.status, 200);
      assert.deepEqual(keyword.answer.results.map((hit) => hit.chunk), [null], "keyword: no chunk");

      const benToken = await signUserJwt({ sub: ben, role: "authenticated" });
      const asBen = await search(benToken, {
        query: "the mast cracked in a gale",
        matchCount: 100,
      });
      assert.equal(asBen.status, 200);
      assert.deepEqual(asBen.answer.results.map((hit) => hit.row.title), [benStory.title]);
      assert.doesNotMatch(JSON.stringify(asBen.answer), /cracked|harbour/, "nothing of Ana's");

      const anon = await search(publishableKey, { query: "storm" });
      assert.equal(anon.status, 403, "anon may not read the stories, so may not search them");
    })
  ));
