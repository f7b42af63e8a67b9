// The search function's parts without HTTP: reading the body, the query check, who may search as what, the status of each failure, and the eval's metrics and labelled set.
import assert from "node:assert/strict";
import { parseSearchRequest } from "../supabase/functions/_shared/search/search_request.ts";
import { queryProblem } from "../supabase/functions/_shared/search/query_text.ts";
import { identifySearchCaller } from "../supabase/functions/_shared/search/search_caller.ts";
import {
  answerForDatabaseError,
  answerForProviderError,
} from "../supabase/functions/_shared/search/search_error_http.ts";
import { ProviderError } from "../supabase/functions/_shared/providers/provider_error.ts";
import { localInputLimit } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { recallAt, reciprocalRankAt, scoreAnswers } from "../tools/eval/metrics.ts";
import { parseQuestionSet, readQuestionSet } from "../tools/eval/question_set.ts";
import { readCredentialKeys } from "../supabase/functions/_shared/caller_credentials.ts";
import { apiKey, signLocalJwt } from "./test_support.ts";
import { jwtSecret } from "../tools/stack/local_stack_settings.ts";
import {
  localJwks,
  publishableKey,
  secretKey,
  signLegacyUserJwt,
  signUserJwt,
} from "../tools/stack/api_keys.ts";

function refusal(body: string): string {
  const parsed = parseSearchRequest(body);
  assert.equal(parsed.ok, false, `expected ${body} to be refused`);
  return parsed.ok ? "" : parsed.error;
}

Deno.test("search request: a query and a target get the defaults (10, hybrid, no filters)", () => {
  assert.deepEqual(parseSearchRequest('{"query": "punchy kick", "target": "music_knowledge"}'), {
    ok: true,
    request: {
      query: "punchy kick",
      target: "music_knowledge",
      matchCount: 10,
      mode: "hybrid",
      filters: {},
    },
  });
});

Deno.test("search request: every field is read", () => {
  const parsed = parseSearchRequest(JSON.stringify({
    query: "reverb",
    target: "stories",
    matchCount: 100,
    mode: "keyword",
    filters: { category: ["mixing", "mastering"], confidence: 0.9, done: null },
  }));
  assert.deepEqual(parsed, {
    ok: true,
    request: {
      query: "reverb",
      target: "stories",
      matchCount: 100,
      mode: "keyword",
      filters: { category: ["mixing", "mastering"], confidence: 0.9, done: null },
    },
  });
});

Deno.test("search request: empty, whitespace-only and missing queries are refused", () => {
  assert.match(refusal(""), /body is empty/);
  assert.match(refusal('{"query": ""}'), /query is empty/);
  assert.match(refusal('{"query": "  \\n\\t "}'), /query is empty/);
  assert.match(refusal('{"mode": "hybrid"}'), /query must be a string.*got null/);
  assert.match(refusal('{"query": 42}'), /query must be a string.*got 42/);
});

Deno.test("search request: an unknown mode, a matchCount outside 1..100 and a bad target are refused", () => {
  assert.match(
    refusal('{"query": "x", "target": "t", "mode": "fuzzy"}'),
    /mode must be one of hybrid, semantic, keyword; got "fuzzy"/,
  );
  assert.match(
    refusal('{"query": "x", "target": "t", "matchCount": 0}'),
    /matchCount must be an integer from 1 to 100; got 0/,
  );
  assert.match(refusal('{"query": "x", "target": "t", "matchCount": 101}'), /got 101/);
  assert.match(refusal('{"query": "x", "target": "t", "matchCount": 2.5}'), /got 2.5/);
  assert.match(refusal('{"query": "x", "target": "t", "matchCount": "5"}'), /got "5"/);
  assert.match(refusal('{"query": "x", "target": ""}'), /target must be the name/);
  assert.match(refusal('{"query": "x", "target": 7}'), /target must be the name.*got 7/);
});

Deno.test("search request: a missing target is refused, naming the field: the engine has no default target", () => {
  assert.match(refusal('{"query": "x"}'), /^target is required/);
  assert.match(refusal('{"query": "x", "target": null}'), /target must be the name.*got null/);
});

Deno.test("search request: malformed JSON, non-objects, unknown and inherited fields are refused", () => {
  assert.match(refusal('{"query": "x"'), /body is not valid JSON/);
  assert.match(refusal('["query"]'), /body must be a JSON object/);
  assert.match(refusal('"query"'), /body must be a JSON object/);
  assert.match(refusal('{"query": "x", "limit": 5}'), /unknown field "limit"/);
  assert.match(
    refusal('{"query": "x", "__proto__": {"mode": "keyword"}}'),
    /unknown field "__proto__"/,
  );
  assert.match(refusal('{"query": "x", "constructor": 1}'), /unknown field "constructor"/);
});

Deno.test("search request: filters must be an object of scalars, null or lists of scalars", () => {
  const refused: [unknown, RegExp][] = [
    [["category"], /filters must be an object/],
    [{ category: { in: "a" } }, /filter on category must be/],
    [{ category: [["a"]] }, /deeper than 3 levels/],
    [{ category: [null] }, /filter on category must be/],
    [{ "": "a" }, /a column with no name/],
    [{ id: Array(1001).fill(1) }, /at most 1000/],
  ];
  for (const [filters, reason] of refused) {
    assert.match(refusal(JSON.stringify({ query: "x", target: "t", filters })), reason);
  }
});

Deno.test("query check: over the model's input limit, or without a letter or digit, is refused", () => {
  const model = "universal-sentence-encoder-lite-384";
  assert.equal(queryProblem("punchy kick", model, localInputLimit), null);
  assert.equal(queryProblem("a".repeat(8_000), model, localInputLimit), null);
  assert.match(
    queryProblem("a".repeat(8_001), model, localInputLimit) ?? "",
    /query is 8001 characters; model universal-sentence-encoder-lite-384 reads at most 8,000 characters/,
  );
  assert.match(queryProblem("?! 🎵 …", model, localInputLimit) ?? "", /no letter or digit/);
  assert.equal(queryProblem("ドラム", model, localInputLimit), null, "any script's letters count");
});

const keys = readCredentialKeys({
  SUPABASE_JWT_SECRET: jwtSecret,
  SUPABASE_ANON_KEY: await apiKey("anon"),
  SUPABASE_SERVICE_ROLE_KEY: await apiKey("service_role"),
  SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: publishableKey }),
  SUPABASE_SECRET_KEYS: JSON.stringify({ default: secretKey }),
  SUPABASE_JWKS: JSON.stringify(await localJwks()),
  EMBEDDINGS_ACCEPT_LEGACY_KEYS: "true",
});
const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` });

Deno.test("search caller: anon and publishable keys search as anon, users' JWTs as authenticated with their claims, service keys as service_role", async () => {
  const roleOf = async (headers: Headers) => {
    const check = await identifySearchCaller(headers, keys);
    assert.ok(check.ok, JSON.stringify(check));
    return check.caller;
  };
  assert.deepEqual(await roleOf(bearer(await apiKey("anon"))), {
    role: "anon",
    claims: { role: "anon" },
  });
  assert.deepEqual(await roleOf(new Headers({ apikey: publishableKey })), {
    role: "anon",
    claims: { role: "anon" },
  });
  const sub = "11111111-1111-4111-8111-111111111111";
  const legacyUser = await roleOf(bearer(await signLegacyUserJwt({ sub })));
  assert.equal(legacyUser.role, "authenticated");
  assert.equal(legacyUser.claims.sub, sub, "the claims RLS reads are the token's");
  const user = await roleOf(
    new Headers({
      apikey: publishableKey,
      authorization: `Bearer ${await signUserJwt({ sub, role: "authenticated" })}`,
    }),
  );
  assert.equal(user.role, "authenticated", "an ES256 user token beside the publishable key");
  assert.equal(user.claims.sub, sub);
  assert.equal((await roleOf(bearer(await apiKey("service_role")))).role, "service_role");
  assert.equal((await roleOf(new Headers({ apikey: secretKey }))).role, "service_role");
});

Deno.test("search caller: no credential, a forged or expired one: 401; a JWT of another role: 403", async () => {
  const refusal = async (headers: Headers) => {
    const check = await identifySearchCaller(headers, keys);
    assert.equal(check.ok, false);
    return check.ok ? { status: 0, error: "" } : check;
  };
  const missing = await refusal(new Headers());
  assert.equal(missing.status, 401);
  assert.match(missing.error, /no credential.*search needs the anon or publishable key/);
  const forged = await signLocalJwt({ role: "anon" }, {
    secret: "another-secret-of-at-least-thirty-two-characters",
  });
  assert.equal((await refusal(bearer(forged))).status, 401);
  const expired = await refusal(bearer(await signLocalJwt({ role: "anon" }, { expiresAt: 1 })));
  assert.equal(expired.status, 401);
  assert.match(expired.error, /expired/);
  assert.equal((await refusal(new Headers({ apikey: "sb_publishable_not_ours" }))).status, 401);
  const admin = await refusal(bearer(await signLocalJwt({ role: "supabase_admin" })));
  assert.equal(admin.status, 403);
  assert.match(admin.error, /role "supabase_admin"/);
});

Deno.test("search errors: each SQLSTATE the search raises is a 4xx; outages are 503; providers 502/503/400", () => {
  const status = (code: string) => answerForDatabaseError({ code, message: "m" }).status;
  assert.deepEqual(
    ["22023", "22000", "22P02", "42703", "42501", "P0002", "55000"].map(status),
    [400, 400, 400, 400, 403, 404, 409],
  );
  assert.equal(status("57014"), 503, "a statement timeout");
  assert.equal(status("08006"), 503, "a dropped connection");
  assert.equal(status("XX000"), 500, "anything else is the function's fault");
  assert.equal(answerForProviderError(new ProviderError("unavailable", "down")).status, 502);
  assert.equal(answerForProviderError(new ProviderError("timeout", "slow")).status, 502);
  assert.equal(answerForProviderError(new ProviderError("rejected_input", "no")).status, 400);
  assert.deepEqual(
    answerForProviderError(new ProviderError("rate_limited", "later", 2_500)).headers,
    { "retry-after": "3" },
  );
});

Deno.test("eval metrics: reciprocal rank and recall of a ranked answer", () => {
  const relevant = new Set(["b", "d"]);
  assert.equal(reciprocalRankAt(["a", "b", "c", "d"], relevant, 10), 1 / 2);
  assert.equal(reciprocalRankAt(["a", "c"], relevant, 10), 0);
  assert.equal(reciprocalRankAt(["a", "c", "b"], relevant, 2), 0, "only the first k count");
  assert.equal(recallAt(["d", "a", "b"], relevant, 5), 1);
  assert.equal(recallAt(["d", "a", "b"], relevant, 2), 1 / 2);
  assert.deepEqual(scoreAnswers([["b"], ["x", "d"]], [relevant, relevant]), {
    mrrAt10: 0.75,
    recallAt5: 0.5,
    hitAt1: 0.5,
  });
});

Deno.test("eval set: at least 50 questions, each labelled with rows of the 20-row corpus", async () => {
  const set = await readQuestionSet();
  assert.equal(set.target, "music_knowledge");
  assert.equal(set.corpus.length, 20);
  assert.ok(set.questions.length >= 50, `${set.questions.length} questions`);
  const labelled = new Set(set.questions.flatMap((entry) => entry.relevant.map((row) => row.id)));
  assert.equal(labelled.size, 20, "every corpus row answers some question");
  const seed = await Deno.readTextFile(new URL("../supabase/seed.sql", import.meta.url));
  for (const row of set.corpus) {
    assert.ok(seed.includes(`('${row.id}', '${row.topic}'`), `${row.topic} is a seed row`);
  }
  assert.throws(
    () =>
      parseQuestionSet(JSON.stringify({
        target: "t",
        corpus: [{ id: "1", topic: "a" }],
        questions: [{ question: "q", relevant: [{ id: "2", topic: "b" }] }],
      })),
    /is not a corpus row/,
  );
});
