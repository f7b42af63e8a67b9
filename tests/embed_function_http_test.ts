// Drives the served `embed` function over HTTP (supabase-js and fetch) against the real database, with every kind of credential.
import assert from "node:assert/strict";
import { createClient, FunctionsHttpError } from "@supabase/supabase-js";
import {
  apiKey,
  createNotesTarget,
  functionsUrl,
  postEmbed,
  registeredTargetNames,
  resetToSeedRows,
  seedStories,
  signLocalJwt,
  storedEmbeddingStats,
  withDatabase,
} from "./test_support.ts";
import { apiUrl } from "../tools/stack/local_stack_settings.ts";
import {
  publishableKey,
  secretKey,
  signLegacyUserJwt,
  signUserJwt,
} from "../tools/stack/api_keys.ts";
import { startFunction } from "./fixtures/function_process.ts";

// The local stack, like a new project, has secret keys: the legacy keys are off unless said so.
const serviceKey = secretKey;

function functionsClient(key: string) {
  // No session and no token refresh: a server-side caller, and no timer left running.
  return createClient(apiUrl, key, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
}

Deno.test("embed: supabase-js invoke with the service key persists all 20 seeded rows and the seed's stories in chunks", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const supabase = functionsClient(serviceKey);
    const { data, error } = await supabase.functions.invoke("embed", { body: { batchSize: 8 } });
    assert.equal(error, null);
    assert.equal(data.ok, true);
    assert.equal(data.claimed, 20 + seedStories.rows);
    assert.equal(data.written, 20 + seedStories.rows);
    assert.equal(data.chunksWritten, seedStories.chunks);
    assert.equal(data.failed, 0);
    assert.equal(data.queued, 0);
    assert.equal(data.batches, 3 + 1, "3 batches of music_knowledge, 1 of stories");
    assert.equal(data.stoppedBecause, "nothing_to_claim");
    assert.equal(data.providerError, null);
    assert.equal(data.providerRetries, 0);
    assert.deepEqual(data.inputLimit, { maxCharacters: 8_000, description: "8,000 characters" });
    assert.equal(data.model, "universal-sentence-encoder-lite-384");
    const names = data.targets.map((target: { target: string }) => target.target);
    assert.deepEqual(
      names,
      await registeredTargetNames(sql),
      "every registered target is reported, in id order",
    );
    assert.deepEqual(
      [...names].sort(),
      ["music_knowledge", "profiles", "stories"],
      "the app's three targets are registered",
    );
    const music = data.targets[names.indexOf("music_knowledge")];
    assert.equal(music.written, 20);
    assert.equal(music.failed, 0);
    assert.deepEqual(music.failedRows, []);
    assert.deepEqual(music.staleKeys, []);
    assert.deepEqual(music.lostKeys, []);
    assert.deepEqual(music.truncatedKeys, []);
    assert.equal(music.status.broken, null);
    assert.equal(music.status.embedded, 20, "the database counts 20 embedded with this model");
    assert.equal(music.status.pending, 0);
    const stories = data.targets[names.indexOf("stories")];
    assert.deepEqual(
      [stories.written, stories.chunksWritten, stories.truncatedKeys],
      [seedStories.rows, seedStories.chunks, []],
      "every story is written whole, in chunks: no text is cut",
    );
    const [chunks] = await sql<{ rows: number; chunks: number; whole: boolean }[]>`
      select count(distinct c.row_key)::int as rows, count(*)::int as chunks,
             bool_and(m.last_end = length(public.story_content(s))) as whole
      from embedding_chunks.stories as c
      join public.stories as s on s.id::text = c.row_key
      join lateral (select max(l.end_offset) as last_end from embedding_chunks.stories as l
                    where l.row_key = c.row_key) as m on true`;
    assert.deepEqual(
      chunks,
      { rows: seedStories.rows, chunks: seedStories.chunks, whole: true },
      "the chunk table holds them, read back, each story's last chunk ending at its text's end",
    );

    const stored = await storedEmbeddingStats(sql);
    assert.equal(stored.embedded, 20, "20 of 20 rows read back with an embedding");
    assert.ok(
      stored.dimensions.every((dimensions) => dimensions === 384),
      "every vector is 384-dim",
    );
    assert.ok(
      stored.norms.every((norm) => Math.abs(norm - 1) < 1e-4),
      `every vector is unit length: ${stored.norms.join(", ")}`,
    );
  }));

Deno.test("embed: a second run writes nothing and says so", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const first = await postEmbed(serviceKey, "{}");
    assert.equal(first.status, 200);
    assert.equal(
      (await first.json()).written,
      20 + seedStories.rows,
      "the first run embedded the seed rows and stories",
    );

    const before = await sql`select id, embedding::text from public.music_knowledge order by id`;
    const response = await postEmbed(serviceKey, "{}");
    assert.equal(response.status, 200);
    const report = await response.json();
    assert.equal(report.claimed, 0);
    assert.equal(report.written, 0);
    assert.equal(report.queued, 0);
    assert.match(
      report.message,
      /^nothing left to claim; .*music_knowledge: wrote 0 of 0 claimed; now 20\/20 embedded, 0 queued/,
    );
    const after = await sql`select id, embedding::text from public.music_knowledge order by id`;
    assert.deepEqual(after, before, "no stored vector changed");
  }));

Deno.test("embed: maxRows limits a run and queued counts what is left", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const response = await postEmbed(serviceKey, JSON.stringify({ maxRows: 7, batchSize: 5 }));
    assert.equal(response.status, 200);
    const report = await response.json();
    assert.equal(report.claimed, 7);
    assert.equal(report.written, 7);
    assert.equal(report.queued, 13 + seedStories.rows, "13 music_knowledge rows and the stories");
    assert.equal(report.stoppedBecause, "max_rows_reached");
    assert.match(report.message, /^maxRows reached; /);
    const written = (name: string): number =>
      report.targets.find((target: { target: string }) => target.target === name).written;
    assert.equal(written("music_knowledge") + written("stories"), 7, "7 rows of the two targets");
    assert.equal(
      (await storedEmbeddingStats(sql)).embedded,
      written("music_knowledge"),
      "the database agrees",
    );
  }));

/** POSTs an empty run request to embed with exactly these headers. */
function postEmbedWith(
  headers: Record<string, string>,
  url = `${functionsUrl}/embed`,
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ maxRows: 1 }),
  });
}

async function assertAccepted(
  cases: [string, Record<string, string>][],
  url?: string,
): Promise<void> {
  for (const [label, headers] of cases) {
    const response = await postEmbedWith(headers, url);
    const body = await response.json();
    assert.equal(response.status, 200, `${label}: ${JSON.stringify(body).slice(0, 200)}`);
    assert.equal(body.ok, true, label);
  }
}

Deno.test("embed: every service credential of today's Supabase is accepted", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    await assertAccepted([
      ["a secret key in the apikey header", { apikey: secretKey }],
      ["a secret key as a Bearer value", { authorization: `Bearer ${secretKey}` }],
      ["an ES256 JWT of role service_role (JWKS)", {
        authorization: `Bearer ${await signUserJwt({ role: "service_role" })}`,
      }],
    ]);
  }));

Deno.test("embed: yesterday's service credentials are accepted where EMBEDDINGS_ACCEPT_LEGACY_KEYS=true; the legacy anon key is still not a service key", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const legacyServiceKey = await apiKey("service_role");
    const embed = await startFunction("embed", { EMBEDDINGS_ACCEPT_LEGACY_KEYS: "true" });
    try {
      await assertAccepted([
        ["the legacy service_role key as a Bearer JWT", {
          authorization: `Bearer ${legacyServiceKey}`,
        }],
        ["the legacy service_role key in the apikey header", { apikey: legacyServiceKey }],
        ["an HS256 JWT of role service_role (the legacy secret)", {
          authorization: `Bearer ${await signLocalJwt({ role: "service_role", iss: "elsewhere" })}`,
        }],
      ], embed.url);
      const anon = await postEmbedWith(
        { authorization: `Bearer ${await apiKey("anon")}` },
        embed.url,
      );
      assert.equal(anon.status, 403);
      assert.match((await anon.json()).error, /is for the role "anon"/);
    } finally {
      await embed.stop();
    }
  }));

Deno.test("embed: missing, malformed, unsigned, badly signed and expired credentials get 401 naming what it expects", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const unsigned = `${btoa(JSON.stringify({ alg: "none", typ: "JWT" }))}.${
      btoa(JSON.stringify({ role: "service_role" }))
    }.`.replaceAll("=", "");
    const cases: [string, Record<string, string>, RegExp][] = [
      ["no credential at all", {}, /^no credential/],
      [
        "not a JWT",
        { authorization: "Bearer not-a-jwt" },
        /neither an API key nor a well-formed JWT/,
      ],
      ["not a Bearer header", { authorization: "Basic abc" }, /must be `Bearer <token>`/],
      [
        "an unsigned JWT claiming service_role",
        { authorization: `Bearer ${unsigned}` },
        /unsigned/,
      ],
      ["service_role signed with another secret", {
        authorization: `Bearer ${await signLocalJwt({ role: "service_role" }, {
          secret: "another-secret-that-is-at-least-32-characters",
        })}`,
      }, /does not verify/],
      ["an expired service_role JWT", {
        authorization: `Bearer ${await signLocalJwt({ role: "service_role" }, {
          expiresAt: Math.floor(Date.now() / 1000) - 60,
        })}`,
      }, /has expired/],
      [
        "an unknown secret key",
        { apikey: "sb_secret_not-this-projects-key" },
        /not one of this project's/,
      ],
    ];
    for (const [label, headers, reason] of cases) {
      const response = await postEmbedWith(headers);
      assert.equal(response.status, 401, label);
      assert.equal(response.headers.get("content-type"), "application/json", label);
      const { error } = await response.json();
      assert.match(error, reason, label);
      assert.match(error, /needs a secret key \(sb_secret_\.\.\.\) in the apikey header/, label);
    }
    assert.equal((await storedEmbeddingStats(sql)).embedded, 0, "nothing was written");
  }));

Deno.test("embed: valid credentials of another role get 403, and nothing is written", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const userJwt = await signUserJwt({
      role: "authenticated",
      sub: "11111111-1111-4111-8111-111111111111",
    });
    const cases: [string, Record<string, string>, string][] = [
      ["the publishable key", { apikey: publishableKey }, '"anon"'],
      [
        "a user's ES256 JWT",
        { authorization: `Bearer ${userJwt}`, apikey: publishableKey },
        '"authenticated"',
      ],
      ["a user's legacy HS256 JWT", {
        authorization: `Bearer ${await signLegacyUserJwt({ sub: "u" })}`,
      }, '"authenticated"'],
    ];
    for (const [label, headers, role] of cases) {
      const response = await postEmbedWith(headers);
      assert.equal(response.status, 403, label);
      const { error } = await response.json();
      assert.ok(error.includes(`is for the role ${role}`), `${label}: ${error}`);
    }
    // supabase-js with the publishable key: the seed's mistake, refused loudly.
    const supabase = functionsClient(publishableKey);
    const { data, error } = await supabase.functions.invoke("embed", { body: {} });
    assert.equal(data, null);
    assert.ok(error instanceof FunctionsHttpError);
    assert.equal(error.context.status, 403);
    await error.context.body?.cancel();
    assert.equal((await storedEmbeddingStats(sql)).embedded, 0);
  }));

Deno.test("embed: malformed bodies get 400 with the reason, and nothing is written", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const cases: [string, RegExp][] = [
      ["{not json", /not valid JSON/],
      ["[1, 2]", /must be a JSON object/],
      ['"text"', /must be a JSON object/],
      ['{"batchSize": 0}', /batchSize must be an integer from 1 to 1000, got 0/],
      ['{"batchSize": 2.5}', /batchSize must be an integer/],
      ['{"batchSize": "10"}', /batchSize must be an integer/],
      ['{"maxRows": -1}', /maxRows must be an integer/],
      ['{"timeBudgetMs": 99999999}', /timeBudgetMs must be an integer from 100 to 140000/],
      ['{"batch_size": 10}', /unknown field "batch_size"/],
      ['{"target": 7}', /target must be a target's name/],
      ['{"leaseSeconds": 0}', /leaseSeconds must be an integer from 1 to 3600/],
    ];
    for (const [body, reason] of cases) {
      const response = await postEmbed(serviceKey, body);
      assert.equal(response.status, 400, body);
      assert.match((await response.json()).error, reason, body);
    }
    assert.equal((await storedEmbeddingStats(sql)).embedded, 0);
  }));

Deno.test("embed: a target named in the body is the only one worked; an unknown name is 404", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const response = await postEmbed(serviceKey, JSON.stringify({ target: "music_knowledge" }));
    assert.equal(response.status, 200);
    const report = await response.json();
    assert.deepEqual(
      report.targets.map((target: { target: string }) => target.target),
      ["music_knowledge"],
    );
    assert.equal(report.written, 20);

    const unknown = await postEmbed(serviceKey, JSON.stringify({ target: "songs" }));
    assert.equal(unknown.status, 404);
    assert.match(
      (await unknown.json()).error,
      /no embedding target is named "songs"; registered: /,
    );
  }));

Deno.test("embed: a row the database refuses fails alone, named, and the other 19 are written", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const refusedId = "0a6b1f0e-2c1d-4a7e-9d0a-00000000000c";
    // A stand-in for any database-side failure: a trigger that refuses one row's embedding.
    await sql.unsafe(`
      create function public.refuse_one_embedding() returns trigger language plpgsql as $$
      begin
        if new.id = '${refusedId}' then
          raise exception 'disk full while writing %', new.id;
        end if;
        return new;
      end $$;
      create trigger refuse_one_embedding before update of embedding on public.music_knowledge
        for each row execute function public.refuse_one_embedding();`);
    try {
      const response = await postEmbed(
        serviceKey,
        JSON.stringify({ batchSize: 5, target: "music_knowledge" }),
      );
      assert.equal(response.status, 500, "not every row was written, so not a 200");
      const report = await response.json();
      assert.equal(report.ok, false);
      assert.equal(report.written, 19, "the refused row's batch was written row by row");
      assert.equal(report.failed, 1);
      const [music] = report.targets;
      assert.equal(music.failed, 1);
      assert.equal(music.failedRows.length, 1);
      assert.equal(music.failedRows[0].key, refusedId);
      assert.match(
        music.failedRows[0].error,
        /database refused the write: disk full while writing/,
      );
      assert.equal(report.stoppedBecause, "nothing_to_claim", "the run went on past it");
      assert.equal(music.status.pending, 1, "the refused row stays queued for a retry");
      assert.equal((await storedEmbeddingStats(sql)).embedded, 19, "the database agrees: 19 rows");
    } finally {
      await sql.unsafe(`
        drop trigger refuse_one_embedding on public.music_knowledge;
        drop function public.refuse_one_embedding();`);
    }
  }));

Deno.test("embed: a target of another model is skipped with its reason, and a run that wrote the rest answers 200", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const other = await createNotesTarget(sql, "http_other_model_notes", 5, {
      model: "other-model-384",
    });
    try {
      const response = await postEmbed(serviceKey, JSON.stringify({ batchSize: 8 }));
      const report = await response.json();
      assert.equal(response.status, 200, `a skipped target is not a failure: ${report.message}`);
      assert.equal(report.ok, true);
      assert.equal(report.written, 20 + seedStories.rows, "the served targets' rows were written");
      assert.equal(report.skipped, 1);
      assert.equal(report.more, false, "the run ended with nothing left it could claim");
      const part = report.targets.find((target: { target: string }) =>
        target.target === "http_other_model_notes"
      );
      assert.equal(part.claimed, 0);
      assert.equal(part.error, null);
      assert.match(part.skipped, /embeds with model other-model-384/);
      const music = report.targets.find((target: { target: string }) =>
        target.target === "music_knowledge"
      );
      assert.equal(music.skipped, null);
      assert.equal((await storedEmbeddingStats(sql)).embedded, 20);
    } finally {
      await other.drop();
    }
  }));

Deno.test("embed: a run that can serve no target it was asked for answers 422, saying so", () =>
  withDatabase(async (sql) => {
    const other = await createNotesTarget(sql, "http_only_other_model", 5, {
      model: "other-model-384",
    });
    try {
      const response = await postEmbed(
        serviceKey,
        JSON.stringify({ target: "http_only_other_model" }),
      );
      const report = await response.json();
      assert.equal(response.status, 422);
      assert.equal(report.ok, false);
      assert.equal(report.stoppedBecause, "no_target_matches_provider");
      assert.match(report.message, /^no target matches the provider/);
      assert.equal(report.skipped, 1);
      assert.match(report.targets[0].skipped, /other-model-384/);
      assert.equal(typeof report.requestId, "string");
    } finally {
      await other.drop();
    }
  }));

Deno.test("embed: a run stopped by maxRows with rows left says more: true", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const response = await postEmbed(
      serviceKey,
      JSON.stringify({ batchSize: 5, maxRows: 10, target: "music_knowledge" }),
    );
    const report = await response.json();
    assert.equal(response.status, 200);
    assert.equal(report.stoppedBecause, "max_rows_reached");
    assert.equal(report.written, 10);
    assert.equal(report.more, true);
  }));

Deno.test("embed: GET is not allowed (405)", async () => {
  const response = await fetch(`${apiUrl}/functions/v1/embed`, {
    headers: { authorization: `Bearer ${serviceKey}` },
  });
  assert.equal(response.status, 405);
  assert.match((await response.json()).error, /use POST, not GET/);
});
