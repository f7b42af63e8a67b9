// Drives the served `search` function over HTTP (supabase-js and fetch) against the real database and model: the anon key, a user's JWT (RLS), stale rows, every bad request a 4xx, and the query embedded by the configured provider of the target's model.
import assert from "node:assert/strict";
import { createClient, FunctionsHttpError } from "@supabase/supabase-js";
import type postgres from "postgres";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import type { SearchHit as Hit } from "../supabase/functions/_shared/search/search_as_caller.ts";
import { publishableKey, signLegacyUserJwt, signUserJwt } from "../tools/stack/api_keys.ts";
import { embedQueuedRows } from "../tools/eval/corpus.ts";
import { apiUrl } from "../tools/stack/local_stack_settings.ts";
import { startFunction } from "./fixtures/function_process.ts";
import { functionsUrl, signLocalJwt, withDatabase } from "./test_support.ts";
import {
  embedQueued,
  seedEmbedded,
  seedTarget as target,
  withTwoUsersStories,
} from "./search_seed_rows.ts";

// The publishable key: the local stack, like a new project, turns the legacy anon key off.
const anonKey = publishableKey;

function client(authorization?: string) {
  return createClient(apiUrl, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: authorization ? { headers: { Authorization: `Bearer ${authorization}` } } : {},
  });
}

function postSearch(token: string | null, body: string, method = "POST"): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return fetch(`${functionsUrl}/search`, { method, headers, body: method === "GET" ? null : body });
}

Deno.test("search: supabase-js with the anon key answers ranked rows; a question on one topic ranks its row first in every mode", () =>
  withDatabase(async (sql) => {
    await seedEmbedded(sql);
    const supabase = client();
    for (const mode of ["hybrid", "semantic", "keyword"]) {
      const { data, error } = await supabase.functions.invoke("search", {
        body: {
          target,
          query: "How do I set attack and release when compressing the kick drum?",
          mode,
          matchCount: 5,
        },
      });
      assert.equal(error, null, `${mode}: ${error}`);
      assert.equal(data.target, target);
      assert.equal(data.mode, mode);
      assert.equal(data.role, "anon");
      assert.equal(data.model, "universal-sentence-encoder-lite-384");
      assert.equal(data.count, data.results.length);
      assert.ok(data.count > 0 && data.count <= 5, `${mode}: ${data.count} rows`);
      const [first] = data.results as Hit[];
      assert.equal(first.row.topic, "kick_compression", `${mode} ranks kick_compression first`);
      assert.ok(first.rankedBy.includes(mode === "hybrid" ? "keyword" : mode));
      assert.ok(!("embedding" in first.row) && !("fts" in first.row), "no vector or tsvector");
      const scores = (data.results as Hit[]).map((hit) => hit.score);
      assert.deepEqual(scores, [...scores].sort((a, b) => b - a), `${mode}: best first`);
    }
  }));

Deno.test("search: filters keep only the rows whose columns match", () =>
  withDatabase(async (sql) => {
    await seedEmbedded(sql);
    const response = await postSearch(
      anonKey,
      JSON.stringify({
        target,
        query: "make it louder",
        filters: { category: "mastering" },
        matchCount: 20,
      }),
    );
    assert.equal(response.status, 200);
    const { results } = await response.json() as { results: Hit[] };
    assert.deepEqual(
      results.map((hit) => hit.row.topic).sort(),
      ["limiter_settings", "loudness_targets", "stereo_width"],
    );
  }));

Deno.test("search: a row whose text changed is never returned until it is embedded again", () =>
  withDatabase(async (sql) => {
    await seedEmbedded(sql);
    const body = JSON.stringify({
      target,
      query: "kick drum compression attack release",
      matchCount: 20,
    });
    const topics = async () =>
      ((await (await postSearch(anonKey, body)).json()).results as Hit[]).map((hit) =>
        hit.row.topic
      );
    assert.ok((await topics()).includes("kick_compression"));
    await sql`update public.music_knowledge set suggestion = suggestion || ' Then check it in mono.'
              where topic = 'kick_compression'`;
    assert.ok(!(await topics()).includes("kick_compression"), "its vector embeds the old text");
    await embedQueued(sql);
    assert.equal((await topics())[0], "kick_compression", "embedded again, it is back on top");
  }));

Deno.test("search: a user's JWT searches as that user: RLS shows only their stories, and anon may not search them", () =>
  withDatabase((sql) =>
    withTwoUsersStories(sql, async (ana, ben) => {
      const titlesFor = async (token: string) => {
        const { data, error } = await client(token).functions.invoke("search", {
          body: { query: "sailing at sea", target: "stories", matchCount: 100 },
        });
        assert.equal(error, null);
        assert.equal(data.role, "authenticated");
        return (data.results as Hit[]).map((hit) => hit.row.title).sort();
      };
      assert.deepEqual(
        await titlesFor(await signLegacyUserJwt({ sub: ana })),
        ["Ana at sea", "Ana on the mountain"],
      );
      // Ana's token is a legacy HS256 one; Ben's is signed with the project's ES256 key, as
      // Supabase Auth signs users' tokens today.
      assert.deepEqual(
        await titlesFor(await signUserJwt({ sub: ben, role: "authenticated" })),
        ["Ben at sea"],
      );

      const { data, error } = await client().functions.invoke("search", {
        body: { query: "sailing at sea", target: "stories" },
      });
      assert.equal(data, null);
      assert.ok(error instanceof FunctionsHttpError);
      assert.equal(error.context.status, 403);
      assert.match(
        (await error.context.json()).error,
        /role anon may not read the rows of target stories, so it cannot search it/,
      );
    })
  ));

Deno.test("search: every bad request is a 4xx that says what is wrong, never a 500", () =>
  withDatabase(async (sql) => {
    await seedEmbedded(sql);
    /** A well-formed request for the seed target, but for the fields given. */
    const asked = (fields: Record<string, unknown>) =>
      JSON.stringify({ query: "kick", target, ...fields });
    const cases: [string, number, RegExp][] = [
      [asked({ query: "" }), 400, /query is empty/],
      [asked({ query: "   \n  " }), 400, /query is empty/],
      [asked({ query: "?!…" }), 400, /no letter or digit/],
      [asked({ query: "kick ".repeat(1_601) }), 400, /8005 characters; without signing in .* 1000/],
      [asked({ mode: "fuzzy" }), 400, /mode must be one of hybrid, semantic, keyword/],
      [asked({ matchCount: 0 }), 400, /matchCount must be an integer from 1 to 100/],
      [asked({ matchCount: 101 }), 400, /matchCount must be an integer from 1 to 100/],
      [asked({ target: "no_such_table" }), 404, /no embedding target named "no_such_table"/],
      [
        asked({ filters: { genre: "house" } }),
        400,
        /cannot filter on genre: public.music_knowledge has no such column/,
      ],
      [
        asked({ filters: { confidence: "high" } }),
        400,
        /invalid input syntax for type double precision/,
      ],
      [asked({ filters: { embedding: "[1]" } }), 400, /cannot filter on embedding/],
      ['{"query": "kick"', 400, /body is not valid JSON/],
      ['["kick"]', 400, /body must be a JSON object/],
      [asked({ k: 60 }), 400, /unknown field "k"/],
      ["", 400, /body is empty/],
      ['{"query": "kick"}', 400, /^target is required/],
    ];
    for (const [body, status, error] of cases) {
      const response = await postSearch(anonKey, body);
      const answer = await response.json();
      assert.equal(response.status, status, `${body.slice(0, 60)}: ${JSON.stringify(answer)}`);
      assert.match(answer.error, error, body.slice(0, 60));
    }
    const user = await signUserJwt({ sub: crypto.randomUUID(), role: "authenticated" });
    const long = await postSearch(user, asked({ query: "kick ".repeat(1_601) }));
    assert.equal(long.status, 400);
    assert.match(
      (await long.json()).error,
      /reads at most 8,000 characters/,
      "the model's own limit",
    );
    const get = await postSearch(anonKey, "", "GET");
    assert.equal(get.status, 405);
    assert.match((await get.json()).error, /use POST, not GET/);
    const large = await postSearch(anonKey, JSON.stringify({ query: "x".repeat(70_000) }));
    assert.equal(large.status, 413);
    assert.match((await large.json()).error, /over 65536 bytes/);
  }));

Deno.test("search: a CORS preflight is answered for browsers", async () => {
  const response = await fetch(`${functionsUrl}/search`, {
    method: "OPTIONS",
    headers: { authorization: `Bearer ${anonKey}`, origin: "http://localhost:3000" },
  });
  await response.body?.cancel();
  assert.equal(response.status, 204);
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.match(response.headers.get("access-control-allow-headers") ?? "", /apikey/);
});

Deno.test("search: supabase-js with the publishable key searches as anon (needs verify_jwt = false: the key is not a JWT)", () =>
  withDatabase(async (sql) => {
    await seedEmbedded(sql);
    const supabase = createClient(apiUrl, publishableKey, {
      auth: { persistSession: false, autoRefreshToken: false },
    });
    const { data, error } = await supabase.functions.invoke("search", {
      body: { target, query: "How loud should my master be for Spotify?", matchCount: 3 },
    });
    assert.equal(error, null, String(error));
    assert.equal(data.role, "anon");
    assert.equal((data.results as Hit[])[0].row.topic, "loudness_targets");
  }));

Deno.test("search: no credential, or a forged one, gets 401", async () => {
  const missing = await postSearch(null, '{"query": "kick"}');
  assert.equal(missing.status, 401);
  await missing.body?.cancel();
  const forged = await signLocalJwt({ role: "anon" }, {
    secret: "another-secret-of-at-least-thirty-two-characters",
  });
  const refused = await postSearch(forged, '{"query": "kick"}');
  assert.equal(refused.status, 401);
  await refused.body?.cancel();
});

/** A target's table of its own: three notes, on vector(`dimensions`), registered with `model`. */
interface ModelTarget {
  table: string;
  model: string;
  dimensions: number;
}

const modelTargetNotes = [
  "Compress the kick drum with a slow attack so its punch comes through",
  "Master to about -14 LUFS for streaming services",
  "Voice jazz piano chords with the third and seventh in the left hand",
];

/** Runs `work` with `target` created, registered and embedded by `provider`; dropped afterwards. */
async function withModelTarget(
  sql: postgres.Sql,
  target: ModelTarget,
  provider: EmbeddingProvider,
  work: () => Promise<void>,
): Promise<void> {
  const { table, model, dimensions } = target;
  await sql.unsafe(`drop table if exists public.${table} cascade`);
  await sql.unsafe(`
    create table public.${table} (id int primary key, note text not null,
      embedding extensions.vector(${dimensions}));
    create function public.${table}_text(row_ public.${table}) returns text
      language sql immutable set search_path = '' as $$ select row_.note $$;`);
  await sql`insert into ${sql("public." + table)} (id, note)
    select ordinality::int, note from unnest(${modelTargetNotes}::text[]) with ordinality as note`;
  const [{ id }] = await sql<{ id: string }[]>`
    select embeddings.register_target(${`public.${table}`}::regclass, 'id',
      ${`public.${table}_text(public.${table})`}::regprocedure, 'embedding',
      ${model}, ${dimensions}, 5) as id`;
  try {
    await embedQueuedRows(sql, provider, table);
    await work();
  } finally {
    await sql`select embeddings.unregister_target(${id}::bigint)`;
    await sql.unsafe(`drop table public.${table} cascade`);
  }
}

Deno.test("search: with EMBEDDING_PROVIDERS=local,local-512 a 512-dimension target's query goes to local-512; a target of a model no provider makes is a bare 500 for anon, its keyword search still 200", () =>
  withDatabase(async (sql) => {
    const native: ModelTarget = {
      table: "search_notes_512",
      model: "universal-sentence-encoder-lite-512",
      dimensions: 512,
    };
    const unserved: ModelTarget = {
      table: "search_notes_unserved",
      model: "nobodys-model-384",
      dimensions: 384,
    };
    const search = await startFunction("search", { EMBEDDING_PROVIDERS: "local,local-512" });
    const headers = {
      "content-type": "application/json",
      apikey: anonKey,
      "x-forwarded-for": `203.0.113.${Math.floor(Math.random() * 256)}`,
    };
    const ask = (body: Record<string, unknown>) =>
      fetch(search.url, { method: "POST", headers, body: JSON.stringify(body) });
    try {
      await withModelTarget(sql, native, new LocalSentenceEncoderProvider(512), async () => {
        const response = await ask({
          target: native.table,
          query: "a punchy kick drum",
          mode: "semantic",
          matchCount: 3,
        });
        const answer = await response.json();
        assert.equal(response.status, 200, JSON.stringify(answer));
        assert.equal(answer.model, native.model);
        assert.equal(answer.count, 3, "every row, each with a 512-dimension vector");
        assert.match((answer.results as Hit[])[0].row.note as string, /kick drum/);
      });
      // Its rows were embedded while a provider of its model was configured; none is now.
      const local = new LocalSentenceEncoderProvider(384);
      const gone: EmbeddingProvider = {
        name: "local",
        model: unserved.model,
        dimensions: unserved.dimensions,
        embed: (texts, options) => local.embed(texts, options),
      };
      await withModelTarget(sql, unserved, gone, async () => {
        const response = await ask({ target: unserved.table, query: "kick", mode: "semantic" });
        const text = await response.text();
        assert.equal(response.status, 500, text);
        const answer = JSON.parse(text);
        assert.deepEqual(Object.keys(answer).sort(), ["error", "requestId"]);
        assert.equal(response.headers.get("x-request-id"), answer.requestId);
        for (const name of ["EMBEDDING_PROVIDER", "local", "openai", unserved.model]) {
          assert.ok(!text.includes(name), `${name} is in anon's answer: ${text}`);
        }
        assert.match(search.log(), new RegExp(`\\[request ${answer.requestId}\\] misconfigured`));
        assert.match(search.log(), new RegExp(unserved.model), "the log names the model");

        const keyword = await ask({ target: unserved.table, query: "kick drum", mode: "keyword" });
        const found = await keyword.json();
        assert.equal(keyword.status, 200, JSON.stringify(found));
        assert.deepEqual((found.results as Hit[]).map((hit) => hit.row.id), [1]);
      });
    } finally {
      await search.stop();
    }
  }));
