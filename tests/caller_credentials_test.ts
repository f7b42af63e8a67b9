// Who is calling, decided without a server: API keys compared in constant time, JWTs verified against the JWKS or the legacy secret, and the gateway's own check.
import assert from "node:assert/strict";
import {
  type CredentialKeys,
  identifyCaller,
  readCredentialKeys,
} from "../supabase/functions/_shared/caller_credentials.ts";
import {
  apiKey,
  localJwks,
  publishableKey,
  secretKey,
  signLocalJwt,
  signUserJwt,
} from "../tools/stack/api_keys.ts";
import { rejectInvalidJwt } from "../tools/stack/functions_gateway.ts";
import { jwtSecret } from "../tools/stack/local_stack_settings.ts";

async function localKeys(): Promise<CredentialKeys> {
  return readCredentialKeys({
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: secretKey }),
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: publishableKey }),
    SUPABASE_JWKS: JSON.stringify(await localJwks()),
    SUPABASE_JWT_SECRET: jwtSecret,
    SUPABASE_SERVICE_ROLE_KEY: await apiKey("service_role"),
    SUPABASE_ANON_KEY: await apiKey("anon"),
  });
}

Deno.test("credentials: each kind of key and token is told apart, with its role", async () => {
  const keys = await localKeys();
  const cases: [string, Record<string, string>, string, string][] = [
    ["secret key", { apikey: secretKey }, "secret key", "service_role"],
    ["publishable key", { apikey: publishableKey }, "publishable key", "anon"],
    [
      "legacy service key",
      { apikey: await apiKey("service_role") },
      "legacy service_role key",
      "service_role",
    ],
    [
      "user token beside the publishable key",
      {
        apikey: publishableKey,
        authorization: `Bearer ${await signUserJwt({ role: "authenticated", sub: "u1" })}`,
      },
      "JWT",
      "authenticated",
    ],
  ];
  for (const [label, headers, credential, role] of cases) {
    const check = await identifyCaller(new Headers(headers), keys);
    assert.ok(check.ok, label);
    if (check.ok) {
      assert.deepEqual([check.caller.credential, check.caller.role], [credential, role], label);
    }
  }
});

Deno.test("credentials: without a legacy secret, HS256 tokens are refused; without a JWKS, ES256 ones", async () => {
  const keys = { ...await localKeys(), legacyJwtSecret: undefined, jwks: undefined };
  const hs = await identifyCaller(
    new Headers({ authorization: `Bearer ${await signLocalJwt({ role: "service_role", x: 1 })}` }),
    keys,
  );
  assert.deepEqual(hs, {
    ok: false,
    status: 401,
    error: "the JWT is signed with a shared secret (HS256), which this project does not accept",
  });
  const es = await identifyCaller(
    new Headers({ authorization: `Bearer ${await signUserJwt({ role: "service_role" })}` }),
    keys,
  );
  assert.equal(es.ok, false);
});

Deno.test("credentials: malformed key maps in the environment are named", () => {
  assert.throws(
    () => readCredentialKeys({ SUPABASE_SECRET_KEYS: "sb_secret_x" }),
    /SUPABASE_SECRET_KEYS must be a JSON object/,
  );
  assert.throws(
    () => readCredentialKeys({ SUPABASE_JWKS: "{}" }),
    /SUPABASE_JWKS must be a JSON Web Key Set/,
  );
});

Deno.test("gateway: verify_jwt accepts legacy HS256 and JWKS-signed JWTs, and refuses unsigned or expired ones", async () => {
  assert.equal(await rejectInvalidJwt(`Bearer ${await apiKey("anon")}`), null);
  assert.equal(
    await rejectInvalidJwt(`Bearer ${await signUserJwt({ role: "authenticated" })}`),
    null,
  );
  const unsigned = `${btoa('{"alg":"none"}')}.${btoa('{"role":"service_role"}')}.`.replaceAll(
    "=",
    "",
  );
  for (
    const token of [
      unsigned,
      await signUserJwt({ role: "authenticated" }, { expiresAt: 1_000_000 }),
      await signLocalJwt({ role: "anon" }, {
        secret: "another-secret-that-is-at-least-32-characters",
      }),
    ]
  ) {
    const rejection = await rejectInvalidJwt(`Bearer ${token}`);
    assert.equal(rejection?.status, 401);
    await rejection?.body?.cancel();
  }
  const missing = await rejectInvalidJwt(null);
  assert.equal(missing?.status, 401);
  await missing?.body?.cancel();
});
