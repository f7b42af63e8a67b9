// Unit tests of the function's request validation (fields, nesting, body size) and its own service-role check.
import assert from "node:assert/strict";
import {
  jsonNestingProblem,
  maxJsonNesting,
  parseEmbedRequest,
} from "../supabase/functions/_shared/embed_request.ts";
import {
  maxRequestBodyBytes,
  readRequestBody,
} from "../supabase/functions/_shared/request_body.ts";

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

Deno.test("request: fields named like built-in object properties are unknown fields, named", () => {
  for (const field of ["__proto__", "constructor", "valueOf", "toString", "hasOwnProperty"]) {
    for (const value of ["5", '"x"', "{}", "null"]) {
      const body = `{"${field}": ${value}}`;
      const parsed = parseEmbedRequest(body);
      assert.deepEqual(parsed, {
        ok: false,
        error:
          `unknown field "${field}"; allowed: target, batchSize, maxRows, timeBudgetMs, leaseSeconds`,
      }, body);
    }
  }
});

Deno.test("request: a value is shown short in an error, never whole", () => {
  const parsed = parseEmbedRequest(JSON.stringify({ target: 7, batchSize: "x".repeat(10_000) }));
  assert.deepEqual(parsed, { ok: false, error: "target must be a target's name, got 7" });
  const long = parseEmbedRequest(JSON.stringify({ batchSize: "x".repeat(10_000) }));
  assert.equal(long.ok, false);
  if (!long.ok) assert.ok(long.error.length < 150, long.error);
  const nested = parseEmbedRequest('{"maxRows": {"min": 1}}');
  assert.deepEqual(nested, {
    ok: false,
    error: "maxRows must be an integer from 1 to 1000000, got an object",
  });
});

Deno.test("request: JSON nested deeper than the limit is refused before it is parsed", () => {
  assert.equal(jsonNestingProblem(`{"a": [[1]]}`), null);
  assert.equal(jsonNestingProblem(`{"a": "${"[".repeat(1000)}"}`), null, "strings do not nest");
  assert.equal(jsonNestingProblem(`{"a": "\\"[[[["}`), null, "nor do escaped quotes end strings");
  assert.equal(jsonNestingProblem("[".repeat(maxJsonNesting)), null);
  assert.match(
    jsonNestingProblem("[".repeat(maxJsonNesting + 1)) ?? "",
    /deeper than 16 levels/,
  );
  const parsed = parseEmbedRequest(`${"[".repeat(30_000)}${"]".repeat(30_000)}`);
  assert.deepEqual(parsed, {
    ok: false,
    error: "body nests arrays or objects deeper than 16 levels; run options are one flat object",
  });
});

/** A request whose body arrives as a stream of `chunks` of `chunkBytes` each (no Content-Length unless given). */
function streamedRequest(chunks: number, chunkBytes: number, headers: HeadersInit = {}): {
  request: Request;
  pulled: () => number;
  cancelled: () => boolean;
} {
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) return controller.close();
      pulled += 1;
      controller.enqueue(new Uint8Array(chunkBytes).fill(0x20));
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 }); // Nothing is pulled before a reader asks.
  const request = new Request("http://localhost/embed", { method: "POST", body, headers });
  return { request, pulled: () => pulled, cancelled: () => cancelled };
}

Deno.test("request body: without Content-Length, bytes are counted and the stream cancelled past the limit", async () => {
  const huge = streamedRequest(10_000, 1024);
  assert.equal(huge.request.headers.get("content-length"), null);
  const refused = await readRequestBody(huge.request, 64 * 1024);
  assert.deepEqual(refused, {
    ok: false,
    status: 413,
    error:
      "body of more than 65536 bytes is over the limit of 65536 bytes; run options fit in a few hundred",
  });
  assert.ok(huge.cancelled(), "the stream was cancelled");
  assert.ok(huge.pulled() <= 66, `read ${huge.pulled()} KiB of 10,000, not the whole body`);

  const small = streamedRequest(2, 10);
  assert.deepEqual(await readRequestBody(small.request, 64 * 1024), {
    ok: true,
    text: " ".repeat(20),
  });
});

Deno.test("request body: a Content-Length over the limit is refused without reading; bad UTF-8 is a 400", async () => {
  const declared = streamedRequest(1, 10, { "content-length": String(maxRequestBodyBytes + 1) });
  const refused = await readRequestBody(declared.request);
  assert.equal(refused.ok, false);
  if (!refused.ok) {
    assert.equal(refused.status, 413);
    assert.match(refused.error, /body of 65537 bytes \(Content-Length\) is over the limit/);
  }
  assert.equal(declared.pulled(), 0, "not a byte was read");

  const invalid = new Request("http://localhost/embed", {
    method: "POST",
    body: new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]),
  });
  assert.deepEqual(await readRequestBody(invalid), {
    ok: false,
    status: 400,
    error: "body is not valid UTF-8 text",
  });
  assert.deepEqual(await readRequestBody(new Request("http://localhost/", { method: "POST" })), {
    ok: true,
    text: "",
  });
});
