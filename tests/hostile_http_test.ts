// Hostile requests to the served `embed` function: fields named like built-in properties, huge, deeply nested and malformed bodies each get a clear JSON 4xx, never a 500, and nothing is written.
import assert from "node:assert/strict";
import { maxRequestBodyBytes } from "../supabase/functions/_shared/request_body.ts";
import { secretKey } from "../tools/stack/api_keys.ts";
import {
  functionsUrl,
  resetToSeedRows,
  seedStories,
  storedEmbeddingStats,
  withDatabase,
} from "./test_support.ts";

const serviceKey = secretKey;

/** POSTs a raw body with the service key; returns the status, the content type and the body read. */
async function post(
  body: BodyInit,
): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${functionsUrl}/embed`, {
    method: "POST",
    headers: { authorization: `Bearer ${serviceKey}`, "content-type": "application/json" },
    body,
  });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    text: await response.text(),
  };
}

/** The JSON error of an answer, asserting it is a 4xx with a JSON body. */
function jsonError(answer: { status: number; type: string | null; text: string }, label: string) {
  assert.ok(answer.status >= 400 && answer.status < 500, `${label}: ${answer.status}`);
  assert.equal(answer.type, "application/json", label);
  const body = JSON.parse(answer.text);
  assert.equal(typeof body.error, "string", label);
  return body.error as string;
}

Deno.test("hostile http: fields named like built-in object properties are refused by name with 400", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    for (
      const body of [
        '{"__proto__": 5}',
        '{"constructor": 1}',
        '{"valueOf": "x"}',
        '{"toString": {}}',
        '{"hasOwnProperty": 1, "batchSize": 5}',
        '{"batchSize": 5, "__proto__": {"batchSize": 7}}',
      ]
    ) {
      const answer = await post(body);
      assert.equal(answer.status, 400, body);
      const field = body.match(/"(__proto__|constructor|valueOf|toString|hasOwnProperty)"/)?.[1];
      assert.match(
        jsonError(answer, body),
        new RegExp(`^unknown field "${field}"; allowed: target, batchSize, `),
        body,
      );
    }
    assert.equal((await storedEmbeddingStats(sql)).embedded, 0);
  }));

Deno.test("hostile http: bodies over the limit get 413 with a JSON error, however large", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    for (const size of [maxRequestBodyBytes + 1, 1024 * 1024, 20 * 1024 * 1024]) {
      const answer = await post(new Uint8Array(size).fill(0x20));
      assert.equal(answer.status, 413, `${size} bytes`);
      assert.match(
        jsonError(answer, `${size} bytes`),
        new RegExp(`is over the limit of ${maxRequestBodyBytes} bytes`),
      );
    }
    const justUnder = `{"batchSize": 5}${" ".repeat(maxRequestBodyBytes - 16)}`;
    assert.equal(new TextEncoder().encode(justUnder).length, maxRequestBodyBytes);
    const accepted = await post(justUnder);
    assert.equal(accepted.status, 200, "a body of exactly the limit is read");
    assert.equal(JSON.parse(accepted.text).written, 20 + seedStories.rows);
  }));

Deno.test("hostile http: deeply nested, malformed and non-object bodies get 400 (or 413 when too large), never a 500", () =>
  withDatabase(async (sql) => {
    await resetToSeedRows(sql);
    const cases: [string, string, number, RegExp][] = [
      [
        "20,000 nested arrays",
        `${"[".repeat(20_000)}${"]".repeat(20_000)}`,
        400,
        /nests arrays or objects deeper than 16 levels/,
      ],
      [
        "a field holding 20,000 nested objects",
        `{"target": ${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}`,
        400,
        /nests arrays or objects deeper than 16 levels/,
      ],
      [
        "100,000 nested arrays",
        `${"[".repeat(100_000)}${"]".repeat(100_000)}`,
        413,
        /over the limit/,
      ],
      ["unclosed", '{"batchSize": 5', 400, /not valid JSON/],
      ["trailing garbage", '{"batchSize": 5} x', 400, /not valid JSON/],
      ["null", "null", 400, /must be a JSON object/],
      ["a number", "42", 400, /must be a JSON object/],
      ["an array", "[]", 400, /must be a JSON object/],
      ["a nested target", '{"target": {"name": "stories"}}', 400, /got an object$/],
      ["a nested number", '{"batchSize": [5]}', 400, /got an array$/],
      [
        "brackets inside a string do not nest",
        `{"target": "${"[".repeat(100)}"}`,
        404,
        /no embedding target/,
      ],
    ];
    for (const [label, body, status, reason] of cases) {
      const answer = await post(body);
      assert.equal(answer.status, status, label);
      assert.match(jsonError(answer, label), reason, label);
    }
    const invalidUtf8 = await post(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
    assert.equal(invalidUtf8.status, 400);
    assert.match(jsonError(invalidUtf8, "invalid UTF-8"), /not valid UTF-8/);
    assert.equal((await storedEmbeddingStats(sql)).embedded, 0);
  }));
