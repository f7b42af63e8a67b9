// The worker against a hostile OpenAI-compatible provider (a fault-injecting server of our own) and hostile targets: every fault ends in a retry, a named failure or a clear error, never a wrong vector.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { OpenAiCompatibleProvider } from "../supabase/functions/_shared/providers/openai_compatible_provider.ts";
import { defaultRunOptions, type RunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import type { WorkerReport } from "../supabase/functions/_shared/worker_report.ts";
import { textHashVector } from "../tools/cli/stand_in_provider.ts";
import {
  type FaultInjectingServer,
  startFaultInjectingServer,
} from "./fixtures/fault_injecting_openai_server.ts";
import {
  assertEveryRowStillQueued,
  cosine,
  createNotesTarget,
  type NotesTarget,
  type NotesTargetOptions,
  queueCounts,
  storedEmbeddingStats,
  storedVector,
  targetReport,
  withDatabase,
} from "./test_support.ts";

/** The model the throwaway targets are registered with: the fault-injecting server's. */
const serverModel = "fault-injecting-hash-384";

interface Scenario {
  sql: postgres.Sql;
  target: NotesTarget;
  server: FaultInjectingServer;
  /** One worker run on this target alone, through the server. */
  run(options?: Partial<RunOptions>, timeoutMs?: number): Promise<WorkerReport>;
  /** The row's text, as the content function gives it. */
  body(key: string): Promise<string>;
}

/** A throwaway target of `rows` notes and a fault-injecting server, both gone when `work` ends. */
function withScenario(
  table: string,
  rows: number,
  work: (scenario: Scenario) => Promise<void>,
  targetOptions: NotesTargetOptions = {},
): Promise<void> {
  return withDatabase(async (sql) => {
    const server = startFaultInjectingServer();
    let target: NotesTarget | undefined;
    try {
      target = await createNotesTarget(sql, table, rows, { model: serverModel, ...targetOptions });
      const queue = new PostgresTargetQueue(sql);
      await work({
        sql,
        target,
        server,
        run: (options = {}, timeoutMs = 5_000) =>
          runWorker(
            queue,
            new OpenAiCompatibleProvider({
              baseUrl: server.baseUrl,
              apiKey: undefined,
              model: serverModel,
              dimensions: 384,
              requestBatchSize: 256,
              timeoutMs,
            }),
            { ...defaultRunOptions, batchSize: 5, target: table, ...options },
          ),
        body: async (key) => {
          const [row] = await sql<{ body: string }[]>`
            select body from ${sql("public")}.${sql(table)} where id = ${key}`;
          return row.body;
        },
      });
    } finally {
      await target?.drop();
      await server.close();
    }
  });
}

/** Every queued row's attempts and whether it is dead, by key. */
async function queueRows(
  sql: postgres.Sql,
  targetId: number,
): Promise<Record<string, { attempts: number; dead: boolean }>> {
  const rows = await sql<{ row_key: string; attempts: number; dead: boolean }[]>`
    select row_key, attempts, dead_at is not null as dead
    from embeddings.queue where target_id = ${targetId} order by row_key`;
  return Object.fromEntries(
    rows.map((row) => [row.row_key, { attempts: row.attempts, dead: row.dead }]),
  );
}

async function attemptsCharged(sql: postgres.Sql, targetId: number): Promise<number> {
  const [{ total }] = await sql<{ total: number }[]>`
    select coalesce(sum(attempts), 0)::int as total from embeddings.queue where target_id = ${targetId}`;
  return total;
}

Deno.test("hostile provider: an answer repeating an index is not used: nothing written, no attempt charged, the report says the answer is malformed", () =>
  withScenario("hostile_duplicate_notes", 10, async ({ sql, target, server, run }) => {
    server.answer = () => ({ kind: "duplicate_index" });
    const report = await run({ timeBudgetMs: 1_500 });
    assert.equal(report.ok, false);
    assert.equal(report.stoppedBecause, "provider_malformed_answer");
    assert.equal(report.providerError?.kind, "malformed_answer");
    assert.match(report.message, /^embedding provider answers with what cannot be used \(/);
    assert.match(report.message, /index 0 appears 5 times in the answer/);
    assert.equal(report.written, 0);
    assert.equal(report.failed, 0);
    assert.ok(server.requests.length >= 1, "the server was asked");
    assert.equal((await storedEmbeddingStats(sql, target.table)).embedded, 0);
    assert.equal(await attemptsCharged(sql, target.id), 0, "no row paid for the provider");
    await assertEveryRowStillQueued(sql, target.table, 10);
  }));

Deno.test("hostile provider: items answered out of order are put back by index: each row stores its own text's vector", () =>
  withScenario("hostile_reordered_notes", 10, async ({ sql, target, server, run, body }) => {
    server.answer = () => ({ kind: "reordered" });
    const report = await run();
    assert.equal(report.ok, true);
    assert.equal(report.written, 10);
    for (const key of ["n0001", "n0003", "n0005", "n0010"]) {
      const stored = await storedVector(sql, target.table, key);
      const own = textHashVector(await body(key), 384);
      assert.ok(cosine(stored, own) > 0.9999, `${key} holds its own text's vector`);
    }
  }));

Deno.test("hostile provider: an answer with too few items or that is not JSON is not used and costs no row an attempt", () =>
  withScenario("hostile_short_notes", 10, async ({ sql, target, server, run }) => {
    for (
      const [kind, expected] of [
        ["too_few", /the answer has 4 embeddings for 5 texts; none of it is used/],
        ["not_json", /answered 200 with something other than JSON: <html>/],
      ] as const
    ) {
      server.answer = () => ({ kind });
      const report = await run({ timeBudgetMs: 500 });
      assert.equal(report.stoppedBecause, "provider_malformed_answer", kind);
      assert.match(report.providerError?.message ?? "", expected, kind);
      assert.equal(report.written, 0, kind);
      assert.equal(report.failed, 0, kind);
      assert.match(targetReport(report, target.table).error ?? "", expected, kind);
    }
    assert.equal(await attemptsCharged(sql, target.id), 0);
    assert.equal((await queueCounts(sql, target.table)).pending, 10);
  }));

Deno.test("hostile provider: a NaN vector and a wrong-length vector fail only their rows, named, and the rest are written", () =>
  withScenario("hostile_nan_notes", 10, async ({ sql, target, server, run, body }) => {
    const nanText = await body("n0002");
    const shortText = await body("n0004");
    server.answer = () => ({ kind: "bad_vectors", nan: [nanText], short: [shortText] });
    const report = await run();
    const notes = targetReport(report, target.table);
    assert.equal(notes.written, 8);
    assert.deepEqual(
      notes.failedRows.map((row) => [row.key, row.error]).sort(),
      [
        ["n0002", `${serverModel}: embedding element 11 is null, not a finite number`],
        ["n0004", `${serverModel}: embedding has 383 dimensions, expected 384`],
      ],
    );
    const queued = await queueRows(sql, target.id);
    assert.deepEqual(queued, {
      n0002: { attempts: 1, dead: false },
      n0004: { attempts: 1, dead: false },
    }, "only the two rows are charged; the rest left the queue written");
    assert.equal((await storedEmbeddingStats(sql, target.table)).embedded, 8);
  }));

Deno.test("hostile provider: vectors of another size for every text mean a misconfigured provider, not bad rows: no attempt charged", () =>
  withScenario("hostile_all_short_notes", 10, async ({ sql, target, server, run }) => {
    server.answer = () => ({ kind: "bad_vectors", nan: [], short: "every" });
    const report = await run({ timeBudgetMs: 500 });
    assert.equal(report.stoppedBecause, "provider_malformed_answer");
    assert.match(
      report.providerError?.message ?? "",
      /none of the 5 vectors fault-injecting-hash-384 returned can be stored \(the first: embedding has 383 dimensions, expected 384\)/,
    );
    assert.equal(report.failed, 0);
    assert.equal(await attemptsCharged(sql, target.id), 0);
  }));

Deno.test("hostile provider: a dozen runs against an outage (429 and 500) charge no attempt and dead-letter nothing; once it recovers, every row is written", () =>
  withScenario("hostile_outage_notes", 10, async ({ sql, target, server, run }) => {
    for (let round = 1; round <= 12; round++) {
      const limiting = round % 2 === 0;
      server.answer = () =>
        limiting
          ? { kind: "status", status: 429, retryAfter: "30" }
          : { kind: "status", status: 500 };
      const report = await run({ timeBudgetMs: 300 });
      assert.equal(report.ok, false, `round ${round}`);
      assert.equal(report.written + report.failed, 0, `round ${round}`);
      if (limiting) {
        assert.equal(report.stoppedBecause, "provider_rate_limited", `round ${round}`);
        assert.match(
          report.message,
          /^embedding provider is rate limiting until \d{4}-\d\d-\d\dT[\d:.]+Z \(.*answered 429/,
        );
        assert.equal(report.providerError?.kind, "rate_limited");
      } else {
        assert.equal(report.stoppedBecause, "provider_unavailable", `round ${round}`);
        assert.match(report.message, /^embedding provider is down \(.*answered 500: /);
        assert.equal(report.providerError?.kind, "unavailable");
      }
    }
    assert.equal(await attemptsCharged(sql, target.id), 0, "no attempt charged in 12 runs");
    await assertEveryRowStillQueued(sql, target.table, 10);

    server.answer = () => ({ kind: "none" });
    const recovered = await run();
    assert.equal(recovered.ok, true);
    assert.equal(recovered.written, 10);
    assert.equal(recovered.stoppedBecause, "nothing_to_claim");
    assert.equal((await storedEmbeddingStats(sql, target.table)).embedded, 10);
  }, { maxAttempts: 2 }));

Deno.test("hostile provider: Retry-After in seconds is honoured: the next request comes no earlier than the provider asked", () =>
  withScenario("hostile_retry_after_notes", 10, async ({ sql, target, server, run }) => {
    server.answer = (request) =>
      request.number === 1 ? { kind: "status", status: 429, retryAfter: "1" } : { kind: "none" };
    const report = await run({ timeBudgetMs: 20_000 });
    assert.equal(report.ok, true, report.message);
    assert.equal(report.written, 10);
    // A call already queued behind the paused one waits too, so there may be more waits than 429s.
    assert.ok(report.rateLimitWaits >= 1, `the 429 was waited out: ${report.rateLimitWaits} waits`);
    assert.equal(server.requests.filter((request) => request.status === 429).length, 1);
    assert.equal(report.providerRetries, 0, "a pause, not a failure");
    assert.equal(report.targets[0].released, 0, "the rows were held, not handed back");
    assert.equal(report.claimed, 10, "the same rows were sent again, not claimed again");
    assert.equal(report.providerError, null, "the failure was waited out");
    const [limited, next] = server.requests;
    assert.equal(limited.status, 429);
    assert.ok(
      next.receivedAt - (limited.answeredAt ?? Infinity) >= 1_000,
      `the next request came ${next.receivedAt - (limited.answeredAt ?? 0)} ms after the 429`,
    );
    assert.equal(await attemptsCharged(sql, target.id), 0);
  }));

Deno.test("hostile provider: a 503 with Retry-After as an HTTP-date is honoured, and no attempt is charged", () =>
  withScenario("hostile_retry_date_notes", 5, async ({ sql, target, server, run }) => {
    // An HTTP-date has whole seconds: two seconds on, rounded up, is one to two seconds away.
    const retryAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2_000);
    server.answer = (request) =>
      request.number === 1
        ? { kind: "status", status: 503, retryAfter: retryAt.toUTCString() }
        : { kind: "none" };
    const report = await run({ timeBudgetMs: 20_000 });
    assert.equal(report.ok, true, report.message);
    assert.equal(report.written, 5);
    assert.ok(report.rateLimitWaits >= 1, `the 503 was waited out: ${report.rateLimitWaits} waits`);
    assert.equal(report.targets[0].released, 0, "the rows were held, not handed back");
    const [unavailable, next] = server.requests;
    assert.equal(unavailable.status, 503);
    assert.ok(
      next.receivedAtEpochMs >= retryAt.getTime(),
      `the next request came at ${
        new Date(next.receivedAtEpochMs).toISOString()
      }, asked ${retryAt.toISOString()}`,
    );
    assert.equal(await attemptsCharged(sql, target.id), 0);
  }));

Deno.test("hostile provider: one input the provider rejects costs only that row an attempt; the others are written", () =>
  withScenario("hostile_rejected_notes", 10, async ({ sql, target, server, run, body }) => {
    const refused = await body("n0007");
    server.answer = () => ({ kind: "reject_input", text: refused });
    const report = await run();
    const notes = targetReport(report, target.table);
    assert.equal(notes.written, 9);
    assert.deepEqual(notes.failedRows.map((row) => row.key), ["n0007"]);
    assert.match(notes.failedRows[0].error, /answered 400: .*is refused/);
    assert.equal(
      report.stoppedBecause,
      "nothing_to_claim",
      "a rejected row is no provider failure",
    );
    assert.deepEqual(await queueRows(sql, target.id), { n0007: { attempts: 1, dead: false } });
  }));

Deno.test("hostile provider: an outage while rows are tried alone stops the probing, hands the rest back untried, and the retry finishes them", () =>
  withScenario("hostile_probe_outage_notes", 10, async ({ sql, target, server, run, body }) => {
    const refused = await body("n0007");
    server.answer = (request) => {
      if (request.inputs.includes(refused)) return { kind: "reject_input", text: refused };
      return request.number === 3 ? { kind: "status", status: 500 } : { kind: "none" };
    };
    const report = await run({ batchSize: 10, timeBudgetMs: 20_000 });
    const notes = targetReport(report, target.table);
    assert.equal(server.requests[0].inputs.length, 10, "the batch went first");
    assert.equal(server.requests[2].status, 500, "the third request, a row alone, met the outage");
    assert.ok(notes.released >= 1, "the rows not yet tried went back untried");
    assert.equal(report.providerRetries, 1);
    assert.equal(notes.written, 9);
    assert.deepEqual(notes.failedRows.map((row) => row.key), ["n0007"]);
    assert.deepEqual(await queueRows(sql, target.id), { n0007: { attempts: 1, dead: false } });
  }));

Deno.test("hostile provider: a hanging provider, called with a timeout longer than the budget, is given up on when the run's budget is spent, with one call", () =>
  withScenario("hostile_hanging_notes", 10, async ({ sql, target, server, run }) => {
    server.answer = () => ({ kind: "hang" });
    const report = await run({ timeBudgetMs: 2_000 }, 5_000);
    assert.equal(report.stoppedBecause, "provider_unavailable");
    assert.match(
      report.message,
      /^embedding provider is down \(.*did not answer within the \d+ ms left of the run's time budget\)/,
      "the call was cut off by the run's budget, not left to its own 5000 ms timeout",
    );
    assert.equal(server.requests.length, 1, "one call: it spent the budget");
    assert.equal(report.providerRetries, 0, "no retry was started after the budget was spent");
    assert.equal(report.written + report.failed, 0);
    assert.equal(await attemptsCharged(sql, target.id), 0);
    await assertEveryRowStillQueued(
      sql,
      target.table,
      10,
      "the rows went back at once, not when their lease ran out",
    );
  }));

Deno.test("hostile provider: with a timeout shorter than the budget, each call the budget allows is a counted retry, and the run ends on the provider's failure", () =>
  withScenario("hostile_timeout_notes", 10, async ({ sql, target, server, run }) => {
    server.answer = () => ({ kind: "hang" });
    const report = await run({ timeBudgetMs: 2_500 }, 300);
    assert.equal(report.stoppedBecause, "provider_unavailable");
    assert.match(report.providerError?.message ?? "", /did not answer within 300 ms/);
    assert.ok(report.providerRetries >= 1, "the timed-out call was tried again after a backoff");
    assert.equal(
      server.requests.length,
      report.providerRetries + 1,
      "every call is the first or a retry the worker waited and budgeted for: none after it gave up",
    );
    assert.equal(report.written + report.failed, 0);
    assert.equal(await attemptsCharged(sql, target.id), 0);
    await assertEveryRowStillQueued(sql, target.table, 10);
  }));

Deno.test("hostile target: a row whose content function raises fails alone, named, is dead-lettered in time, and its neighbours are written", () =>
  withScenario("hostile_raising_notes", 6, async ({ sql, target, server, run, body }) => {
    await sql.unsafe(`
      create or replace function public.${target.table}_content(note public.${target.table})
      returns text language plpgsql immutable set search_path = '' as $$
      begin
        if note.id = 'n0004' then raise exception 'cannot render note %', note.id; end if;
        return note.body;
      end $$;`);
    const first = targetReport(await run(), target.table);
    assert.equal(first.written, 5);
    assert.deepEqual(first.failedRows.map((row) => [row.key, row.deadLettered]), [[
      "n0004",
      false,
    ]]);
    assert.match(first.failedRows[0].error, /content function .* raised: cannot render note n0004/);
    const raisingRowText = await body("n0004");
    assert.ok(
      server.requests.every((request) => !request.inputs.includes(raisingRowText)),
      "the raising row was never sent to the provider",
    );

    // Skip the backoff instead of waiting it out.
    await sql`update embeddings.queue set next_attempt_at = now() where target_id = ${target.id}`;
    const second = targetReport(await run(), target.table);
    assert.deepEqual(second.failedRows.map((row) => [row.key, row.deadLettered]), [[
      "n0004",
      true,
    ]]);
    assert.deepEqual(await queueCounts(sql, target.table), {
      embedded: 5,
      pending: 0,
      inFlight: 0,
      deadLettered: 1,
    });
  }, { maxAttempts: 2 }));

Deno.test("hostile target: a broken target is reported with its fix and the other targets are worked", () =>
  withScenario("hostile_whole_notes", 5, async ({ sql, target: whole, server, run }) => {
    const broken = await createNotesTarget(sql, "hostile_broken_notes", 5, { model: serverModel });
    const content = `public.${broken.table}_content(public.${broken.table})`;
    try {
      await sql.unsafe(`alter function ${content} rename to ${broken.table}_content_moved`);
      const report = await run({ target: null });
      const brokenReport = targetReport(report, broken.table);
      assert.equal(brokenReport.ok, false);
      assert.equal(brokenReport.claimed, 0);
      assert.match(
        brokenReport.error ?? "",
        /^target hostile_broken_notes is broken: content function .* does not exist; fix: /,
      );
      assert.ok(brokenReport.status?.broken, "its status says why it is broken");
      assert.equal(brokenReport.status?.totalRows, null);
      assert.match(report.message, /hostile_broken_notes: target hostile_broken_notes is broken/);

      const wholeReport = targetReport(report, whole.table);
      assert.equal(wholeReport.ok, true);
      assert.equal(wholeReport.written, 5);
      assert.equal(wholeReport.status?.broken, null);
      assert.equal(report.stoppedBecause, "nothing_to_claim", "the run went on past it");
      assert.equal(report.ok, false, "a broken target is not ok");
      assert.ok(server.requests.length > 0);
    } finally {
      await sql.unsafe(
        `alter function public.${broken.table}_content_moved(public.${broken.table}) rename to ${broken.table}_content`,
      ).catch(() => {});
      await broken.drop();
    }
  }));

Deno.test("hostile target: texts empty in meaning fail named and cost their attempt; they never reach the provider", () =>
  withScenario("hostile_empty_notes", 8, async ({ sql, target, server, run }) => {
    const empty: Record<string, string> = {
      n0001: "\u200b\u200b\u200b",
      n0002: "🎵🎶",
      n0003: " (): ",
      n0004: "",
      n0005: " \n\t ",
      n0006: "...!!! --- ???",
    };
    for (const [key, text] of Object.entries(empty)) {
      await sql`update ${sql("public")}.${sql(target.table)} set body = ${text} where id = ${key}`;
    }
    const report = await run({ batchSize: 10 });
    const notes = targetReport(report, target.table);
    assert.equal(notes.written, 2, "the two rows with words are written");
    const failures = Object.fromEntries(notes.failedRows.map((row) => [row.key, row.error]));
    assert.deepEqual(Object.keys(failures).sort(), Object.keys(empty));
    assert.match(
      failures.n0001,
      /^content "\\u200b\\u200b\\u200b" has nothing to embed: no letter or digit/,
    );
    assert.match(failures.n0002, /^content "🎵🎶" has nothing to embed/);
    assert.match(failures.n0003, /^content " \(\): " has nothing to embed/);
    assert.equal(failures.n0004, "content is empty: there is no text to embed");
    assert.equal(failures.n0005, "content is empty: there is no text to embed");
    assert.match(failures.n0006, /has nothing to embed/);
    const sent = server.requests.flatMap((request) => request.inputs);
    assert.equal(sent.length, 2);
    for (const text of Object.values(empty)) assert.ok(!sent.includes(text));
    const queued = await queueRows(sql, target.id);
    assert.ok(Object.values(queued).every((row) => row.attempts === 1));
  }));

Deno.test("hostile target: text longer than the model reads is cut, written, and reported as truncated with the limit", () =>
  withScenario("hostile_long_notes", 4, async ({ sql, target, server, run }) => {
    const long = "a long practice diary entry about scales. ".repeat(800);
    await sql`update ${sql("public")}.${sql(target.table)} set body = ${long} where id = 'n0002'`;
    const report = await run();
    const notes = targetReport(report, target.table);
    assert.equal(report.ok, true);
    assert.equal(notes.written, 4);
    assert.deepEqual(notes.truncatedKeys, ["n0002"]);
    assert.equal(report.inputLimit?.maxCharacters, 24_573);
    assert.match(report.inputLimit?.description ?? "", /^8,191 tokens/);
    assert.match(report.message, /1 cut to the model's input limit/);
    const sentLengths = server.requests.flatMap((request) => request.inputs.map((t) => t.length));
    assert.ok(long.length > 24_573);
    assert.ok(sentLengths.includes(24_573), "the long text was sent cut to the limit");
    assert.ok(sentLengths.every((length) => length <= 24_573));
  }));
