// Issue 20's probes against the served functions, as an attacker would try them: secrets in errors, a provider call before a refusal, tokens without the claims that bound them, a burst of anon searches, legacy keys a project has turned off.
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import postgres from "postgres";
import { asCaller } from "../supabase/functions/_shared/search/search_as_caller.ts";
import { publishableKey, secretKey, signLegacyUserJwt } from "../tools/stack/api_keys.ts";
import { apiUrl, jwtSecret } from "../tools/stack/local_stack_settings.ts";
import { startFaultInjectingServer } from "./fixtures/fault_injecting_openai_server.ts";
import { type FunctionProcess, startFunction } from "./fixtures/function_process.ts";
import { apiKey, databaseUrl, functionsUrl, localStackModel } from "./test_support.ts";

/** A client address of its own per test and run: the rate limit's budgets are shared across runs. */
function freshAddress(): string {
  const byte = () => Math.floor(Math.random() * 256);
  return `198.51.${byte()}.${byte()}`;
}

function post(url: string, headers: Record<string, string>, body: unknown): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

const semantic = (target: string, query = "punchy kick drum") => ({
  target,
  query,
  mode: "semantic",
});

/** The search with an OpenAI-compatible provider at `baseUrl`, embedding as the local targets' model. */
function searchWithProvider(
  baseUrl: string,
  settings: Record<string, string> = {},
): Promise<FunctionProcess> {
  return startFunction("search", {
    EMBEDDING_PROVIDER: "openai",
    OPENAI_BASE_URL: baseUrl,
    OPENAI_EMBEDDING_MODEL: localStackModel.model,
    OPENAI_EMBEDDING_DIMENSIONS: String(localStackModel.dimensions),
    OPENAI_TIMEOUT_MS: "2000",
    ...settings,
  });
}

Deno.test("security: anon's 502 from an unreachable provider whose URL holds credentials shows no URL or credential; the log has them under the requestId", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const search = await searchWithProvider(`http://leaky:hunter2@127.0.0.1:${port}/v1`);
  try {
    const response = await post(search.url, {
      apikey: publishableKey,
      "x-forwarded-for": freshAddress(),
    }, semantic("music_knowledge"));
    const text = await response.text();
    assert.equal(response.status, 502, text);
    for (
      const secret of ["hunter2", "leaky", "127.0.0.1", "http", "OPENAI", "EMBEDDING_PROVIDER"]
    ) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    const { error, requestId } = JSON.parse(text);
    assert.match(error, /embedding provider failed/);
    assert.equal(response.headers.get("x-request-id"), requestId);
    assert.match(search.log(), new RegExp(`\\[request ${requestId}\\] provider:.*127\\.0\\.0\\.1`));

    const operator = await post(search.url, { apikey: secretKey }, semantic("music_knowledge"));
    assert.equal(operator.status, 502);
    assert.match((await operator.json()).error, /127\.0\.0\.1/, "service_role reads the detail");
  } finally {
    await search.stop();
  }
});

Deno.test("security: anon's semantic search of stories is 403 before any provider call; a target it may read costs one", async () => {
  const provider = startFaultInjectingServer();
  const search = await searchWithProvider(provider.baseUrl);
  try {
    const headers = { apikey: publishableKey, "x-forwarded-for": freshAddress() };
    const refused = await post(search.url, headers, semantic("stories"));
    const body = await refused.json();
    assert.equal(refused.status, 403, JSON.stringify(body));
    assert.match(body.error, /role anon may not read the rows of target stories/);
    assert.ok(body.requestId);
    const unknown = await post(search.url, headers, semantic("no_such_target"));
    assert.equal(unknown.status, 404);
    assert.equal(provider.requests.length, 0, "no provider call for a refused search");

    const allowed = await post(search.url, headers, semantic("music_knowledge"));
    assert.equal(allowed.status, 200, await allowed.text());
    assert.equal(provider.requests.length, 1, "the counter counts");
  } finally {
    await search.stop();
    await provider.close();
  }
});

Deno.test("security: 60 anon searches in a burst from one address: 30 answered, 30 refused with 429 and Retry-After, the provider called 30 times", async () => {
  const provider = startFaultInjectingServer();
  const search = await searchWithProvider(provider.baseUrl);
  try {
    const address = freshAddress();
    const answers = await Promise.all(
      Array.from(
        { length: 60 },
        () =>
          post(
            search.url,
            { apikey: publishableKey, "x-forwarded-for": `${address}, 10.0.0.1` },
            semantic("music_knowledge"),
          )
            .then(async (response) => ({ response, body: await response.json() })),
      ),
    );
    const limited = answers.filter(({ response }) => response.status === 429);
    assert.equal(answers.filter(({ response }) => response.status === 200).length, 30);
    assert.equal(limited.length, 30);
    for (const { response, body } of limited) {
      const wait = Number(response.headers.get("retry-after"));
      assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
      assert.match(body.error, /at most 30 every 60 s/);
      assert.ok(body.requestId);
    }
    assert.equal(provider.requests.length, 30, "no provider call for a refused search");

    const elsewhere = await post(search.url, {
      apikey: publishableKey,
      "x-forwarded-for": freshAddress(),
    }, semantic("music_knowledge"));
    assert.equal(elsewhere.status, 200, "another address has its own budget");
    for (let i = 0; i < 3; i++) {
      const operator = await post(
        search.url,
        { apikey: secretKey, "x-forwarded-for": address },
        semantic("music_knowledge"),
      );
      assert.equal(operator.status, 200, "service_role is not limited");
    }
  } finally {
    await search.stop();
    await provider.close();
  }
});

Deno.test("security: a user's budget is their own (user:<sub>), whatever address they search from", async () => {
  const search = await startFunction("search", { SEARCH_RATE_LIMIT_USER: "2/60" });
  try {
    const token = await signLegacyUserJwt({ sub: crypto.randomUUID() });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const response = await post(search.url, {
        authorization: `Bearer ${token}`,
        "x-forwarded-for": freshAddress(),
      }, { target: "music_knowledge", query: "kick", mode: "keyword" });
      await response.body?.cancel();
      statuses.push(response.status);
    }
    assert.deepEqual(statuses, [200, 200, 429]);
  } finally {
    await search.stop();
  }
});

Deno.test("security: anon's query is capped (1,000 characters), with the limit in the sentence; a user's is not", async () => {
  const long = "kick drum ".repeat(101);
  const anon = await post(`${functionsUrl}/search`, { apikey: publishableKey }, {
    target: "music_knowledge",
    query: long,
    mode: "keyword",
  });
  const body = await anon.json();
  assert.equal(anon.status, 400);
  assert.match(body.error, /query is 1010 characters.*at most 1000/);
  const user = await post(`${functionsUrl}/search`, {
    apikey: publishableKey,
    authorization: `Bearer ${await signLegacyUserJwt({ sub: crypto.randomUUID() })}`,
  }, { target: "music_knowledge", query: long, mode: "keyword" });
  assert.equal(user.status, 200, await user.text());
});

Deno.test("security: a user JWT without exp, for another audience or issuer, or not valid yet, is refused with 401 and its own sentence", async () => {
  const now = Math.floor(Date.now() / 1000);
  const user = { role: "authenticated", sub: crypto.randomUUID(), iss: `${apiUrl}/auth/v1` };
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(
      new TextEncoder().encode(jwtSecret),
    );
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["no exp", { ...user, aud: "authenticated" }, /no expiry \(exp\)/],
    ["aud other-service", { ...user, aud: "other-service", exp: now + 600 }, /audience \(aud\)/],
    [
      "nbf in the future",
      { ...user, aud: "authenticated", exp: now + 600, nbf: now + 300 },
      /not valid yet \(nbf/,
    ],
    [
      "iat in the future",
      { ...user, aud: "authenticated", exp: now + 600, iat: now + 300 },
      /issued in the future \(iat\)/,
    ],
    ["another issuer", {
      ...user,
      aud: "authenticated",
      exp: now + 600,
      iss: "https://evil.example/auth/v1",
    }, /another project or service \(iss\)/],
  ];
  for (const [label, claims, sentence] of cases) {
    const response = await post(`${functionsUrl}/search`, {
      apikey: publishableKey,
      authorization: `Bearer ${await sign(claims)}`,
    }, { target: "music_knowledge", query: "kick", mode: "keyword" });
    const body = await response.json();
    assert.equal(response.status, 401, label);
    assert.match(body.error, sentence, label);
    assert.ok(body.requestId, label);
  }
  const skewed = await post(`${functionsUrl}/search`, {
    apikey: publishableKey,
    authorization: `Bearer ${await sign({
      ...user,
      aud: "authenticated",
      exp: now + 600,
      iat: now + 10,
      nbf: now + 10,
    })}`,
  }, { target: "music_knowledge", query: "kick", mode: "keyword" });
  assert.equal(skewed.status, 200, "a few seconds of clock skew are allowed");
  await skewed.body?.cancel();
});

Deno.test("security: the legacy service_role key is refused where the project has secret keys and the setting is off, accepted when it is on; acceptedKeys says which", async () => {
  const legacy = await apiKey("service_role");
  const body = { target: "no_such_target" };
  const off = await post(`${functionsUrl}/embed`, { apikey: legacy }, body);
  const refused = await off.json();
  assert.equal(off.status, 401);
  assert.match(refused.error, /legacy API keys .* are turned off/);
  assert.ok(!JSON.stringify(refused).includes("EMBEDDINGS_ACCEPT_LEGACY_KEYS"), "no setting name");
  assert.deepEqual(refused.acceptedKeys, ["secret key", "service_role JWT (signing keys)"]);
  const anon = await post(
    `${functionsUrl}/search`,
    { apikey: await apiKey("anon") },
    semantic("music_knowledge"),
  );
  assert.equal(anon.status, 401, "the legacy anon key too");
  await anon.body?.cancel();

  const embed = await startFunction("embed", { EMBEDDINGS_ACCEPT_LEGACY_KEYS: "true" });
  try {
    const on = await post(embed.url, { apikey: legacy }, body);
    const accepted = await on.json();
    assert.equal(on.status, 404, "past the credential check: the target is unknown");
    assert.ok(accepted.acceptedKeys.includes("legacy service_role key"));
    assert.ok(accepted.acceptedKeys.includes("service_role JWT (legacy HS256 secret)"));
  } finally {
    await embed.stop();
  }
});

Deno.test("security: an invalid legacy-keys setting fails the function at start-up, and its 500 names no setting", async () => {
  const embed = await startFunction("embed", { EMBEDDINGS_ACCEPT_LEGACY_KEYS: "maybe" });
  try {
    const response = await post(embed.url, { apikey: secretKey }, {});
    const body = await response.json();
    assert.equal(response.status, 500);
    assert.ok(
      !JSON.stringify(body).includes("EMBEDDINGS_ACCEPT_LEGACY_KEYS"),
      JSON.stringify(body),
    );
    assert.equal(response.headers.get("x-request-id"), body.requestId);
    assert.match(embed.log(), /EMBEDDINGS_ACCEPT_LEGACY_KEYS must be true or false; got "maybe"/);
  } finally {
    await embed.stop();
  }
});

Deno.test("security: a search runs as its caller even when another client left a session-level request.jwt.claim.sub on the shared connection", async () => {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const intruder = crypto.randomUUID();
    const user = crypto.randomUUID();
    await sql`select pg_catalog.set_config('request.jwt.claim.sub', ${intruder}, false)`;
    const [row] = await asCaller(
      sql,
      { role: "authenticated", claims: { sub: user, role: "authenticated" } },
      (transaction) =>
        transaction<{ uid: string; role: string }[]>`
        select auth.uid()::text as uid, auth.role() as role`,
    );
    assert.deepEqual(row, { uid: user, role: "authenticated" });
    const [after] = await sql<{ sub: string }[]>`
      select pg_catalog.current_setting('request.jwt.claim.sub') as sub`;
    assert.equal(after.sub, intruder, "the caller's claims were local to its transaction");
  } finally {
    await sql.end({ timeout: 5 });
  }
});
