// Unit tests of the function's request validation and its own service-role check.
import assert from "node:assert/strict";
import { parseEmbedRequest } from "../supabase/functions/_shared/embed_request.ts";
import { authorizeServiceRole } from "../supabase/functions/_shared/service_role_authorization.ts";
import { jwtSecret } from "../tools/stack/local_stack_settings.ts";
import { signLocalJwt } from "./test_support.ts";

Deno.test("request: an empty body means the defaults", () => {
  assert.deepEqual(parseEmbedRequest(""), {
    ok: true,
    options: {
      batchSize: 50,
      maxRows: 10_000,
      timeBudgetMs: 60_000,
      leaseSeconds: 300,
      target: null,
    },
  });
});

Deno.test("request: given fields override the defaults", () => {
  assert.deepEqual(
    parseEmbedRequest('{"batchSize": 10, "timeBudgetMs": 5000, "target": "stories"}'),
    {
      ok: true,
      options: {
        batchSize: 10,
        maxRows: 10_000,
        timeBudgetMs: 5000,
        leaseSeconds: 300,
        target: "stories",
      },
    },
  );
});

Deno.test("request: a target must be a non-empty name", () => {
  for (const body of ['{"target": ""}', '{"target": 3}', '{"target": ["a"]}']) {
    const parsed = parseEmbedRequest(body);
    assert.equal(parsed.ok, false, body);
    if (!parsed.ok) assert.match(parsed.error, /target must be a target's name/);
  }
});

Deno.test("request: null and out-of-range values are refused", () => {
  for (
    const body of [
      '{"maxRows": null}',
      '{"maxRows": 1000001}',
      '{"batchSize": 1001}',
      '{"leaseSeconds": 0}',
    ]
  ) {
    const parsed = parseEmbedRequest(body);
    assert.equal(parsed.ok, false, body);
  }
});

Deno.test("authorization: the function verifies signatures itself when it has the secret", async () => {
  const forged = await signLocalJwt({ role: "service_role" }, {
    secret: "a-forged-secret-that-is-also-long-enough",
  });
  assert.deepEqual(await authorizeServiceRole(`Bearer ${forged}`, jwtSecret), {
    allowed: false,
    status: 401,
    error: "the JWT is invalid",
  });
  const genuine = await signLocalJwt({ role: "service_role" });
  assert.deepEqual(await authorizeServiceRole(`Bearer ${genuine}`, jwtSecret), { allowed: true });
});

Deno.test("authorization: expired, missing and non-service tokens are refused", async () => {
  const expired = await signLocalJwt({ role: "service_role" }, { expiresAt: 1_000_000 });
  assert.deepEqual(await authorizeServiceRole(`Bearer ${expired}`, jwtSecret), {
    allowed: false,
    status: 401,
    error: "the JWT has expired",
  });
  assert.equal((await authorizeServiceRole(null, jwtSecret)).allowed, false);
  assert.equal((await authorizeServiceRole("Basic abc", jwtSecret)).allowed, false);
  const anon = await signLocalJwt({ role: "anon" });
  const decision = await authorizeServiceRole(`Bearer ${anon}`, undefined);
  assert.deepEqual(decision, {
    allowed: false,
    status: 403,
    error: 'the embed function needs the service_role key; this JWT\'s role is "anon"',
  });
});
