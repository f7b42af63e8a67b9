// Who is calling, decided without a server: API keys compared in constant time, JWTs verified against the JWKS or the legacy secret, and the gateway's own check.
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import {
  acceptedServiceCredentials,
  type CredentialKeys,
  identifyCaller,
  readCredentialKeys,
} from "../supabase/functions/_shared/caller_credentials.ts";
import {
  apiKey,
  localJwks,
  publishableKey,
  secretKey,
  signLegacyUserJwt,
  signLocalJwt,
  signUserJwt,
} from "../tools/stack/api_keys.ts";
import { rejectInvalidJwt } from "../tools/stack/functions_gateway.ts";
import { apiUrl, jwtSecret } from "../tools/stack/local_stack_settings.ts";

/** The local stack's function environment; the legacy keys accepted unless `legacy` says otherwise. */
async function localEnvironment(legacy = "true"): Promise<Record<string, string>> {
  return {
    SUPABASE_URL: apiUrl,
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: secretKey }),
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: publishableKey }),
    SUPABASE_JWKS: JSON.stringify(await localJwks()),
    SUPABASE_JWT_SECRET: jwtSecret,
    SUPABASE_SERVICE_ROLE_KEY: await apiKey("service_role"),
    SUPABASE_ANON_KEY: await apiKey("anon"),
    EMBEDDINGS_ACCEPT_LEGACY_KEYS: legacy,
  };
}

async function localKeys(): Promise<CredentialKeys> {
  return readCredentialKeys(await localEnvironment());
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

Deno.test("credentials: EMBEDDINGS_ACCEPT_LEGACY_KEYS is off by default where the project has secret keys, on where it has none, and must be true or false", async () => {
  const { SUPABASE_SECRET_KEYS: _secret, ...withoutSecretKeys } = await localEnvironment("");
  assert.equal(readCredentialKeys(await localEnvironment("")).acceptLegacyKeys, false);
  assert.equal(readCredentialKeys(withoutSecretKeys).acceptLegacyKeys, true);
  assert.equal(readCredentialKeys(await localEnvironment("false")).acceptLegacyKeys, false);
  assert.equal(readCredentialKeys(await localEnvironment("TRUE")).acceptLegacyKeys, true);
  const invalid = await localEnvironment("yes");
  assert.throws(
    () => readCredentialKeys(invalid),
    /EMBEDDINGS_ACCEPT_LEGACY_KEYS must be true or false; got "yes"/,
  );
});

Deno.test("credentials: with the legacy keys off, the legacy keys and HS256 tokens of their roles are refused; users' HS256 session tokens still hold", async () => {
  const keys = readCredentialKeys(await localEnvironment("false"));
  const refusedHeaders: Record<string, string>[] = [
    { apikey: await apiKey("service_role") },
    { authorization: `Bearer ${await apiKey("anon")}` },
    { authorization: `Bearer ${await signLocalJwt({ role: "service_role", iss: "other" })}` },
  ];
  for (const headers of refusedHeaders) {
    const check = await identifyCaller(new Headers(headers), keys);
    assert.equal(check.ok, false, JSON.stringify(headers));
    if (!check.ok) assert.match(check.error, /legacy API keys .* are turned off/);
  }
  const user = await identifyCaller(
    new Headers({ authorization: `Bearer ${await signLegacyUserJwt({ sub: "u1" })}` }),
    keys,
  );
  assert.ok(user.ok && user.caller.role === "authenticated", JSON.stringify(user));
  assert.deepEqual(acceptedServiceCredentials(keys), [
    "secret key",
    "service_role JWT (signing keys)",
  ]);
  assert.deepEqual(acceptedServiceCredentials(await localKeys()), [
    "secret key",
    "service_role JWT (signing keys)",
    "legacy service_role key",
    "service_role JWT (legacy HS256 secret)",
  ]);
});

Deno.test("credentials: a token without exp, not valid yet, issued in the future, or a user's for another audience or issuer, is refused with its own sentence", async () => {
  const keys = await localKeys();
  const now = Math.floor(Date.now() / 1000);
  const user = { role: "authenticated", sub: "u1", aud: "authenticated", iss: `${apiUrl}/auth/v1` };
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(
      new TextEncoder().encode(jwtSecret),
    );
  const cases: [Record<string, unknown>, string][] = [
    [{ ...user }, "the JWT has no expiry (exp): only tokens that expire are accepted"],
    [{ role: "service_role" }, "the JWT has no expiry (exp): only tokens that expire are accepted"],
    [{ ...user, exp: now + 60, nbf: now + 120 }, "the JWT is not valid yet (nbf is in the future)"],
    [
      { ...user, exp: now + 600, iat: now + 120 },
      "the JWT says it was issued in the future (iat): check the issuer's clock",
    ],
    [
      { ...user, exp: now + 60, aud: "other-service" },
      'the JWT\'s audience (aud) is not "authenticated": it was issued for another service',
    ],
    [
      { ...user, exp: now + 60, iss: "https://elsewhere.supabase.co/auth/v1" },
      "the JWT was issued by another project or service (iss)",
    ],
  ];
  for (const [claims, error] of cases) {
    const check = await identifyCaller(
      new Headers({ authorization: `Bearer ${await sign(claims)}` }),
      keys,
    );
    assert.deepEqual(check, { ok: false, status: 401, error }, JSON.stringify(claims));
  }
  const skewed = await identifyCaller(
    new Headers({
      authorization: `Bearer ${await sign({
        ...user,
        exp: now + 60,
        nbf: now + 20,
        iat: now + 20,
      })}`,
    }),
    keys,
  );
  assert.ok(skewed.ok, "30 s of clock skew are allowed");
  const listed = await identifyCaller(
    new Headers({
      authorization: `Bearer ${await sign({
        ...user,
        exp: now + 60,
        aud: ["authenticated", "x"],
      })}`,
    }),
    keys,
  );
  assert.ok(listed.ok, "aud may be a list that holds authenticated");
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
