// `cli backfill` with no flags against a quota-limited OpenAI-compatible server (bench/quota_openai_server.ts): several batches in flight, a 429 waited out holding its rows, every row written once, exit 0. Counts only, no timing asserted.
import assert from "node:assert/strict";
import postgres from "postgres";
import { startQuotaServer } from "../bench/quota_openai_server.ts";
import { describeCliRun, runCli } from "../tools/cli/run_cli.ts";
import type { BackfillJson } from "./cli_test_support.ts";
import { createNotesTarget, databaseUrl, withDatabase } from "./test_support.ts";

const model = "text-embedding-3-small";

async function attemptsCharged(sql: postgres.Sql, targetId: number): Promise<number> {
  const [{ total }] = await sql<{ total: number }[]>`
    select coalesce(sum(attempts), 0)::int as total from embeddings.queue where target_id = ${targetId}`;
  return total;
}

Deno.test("cli pacing: backfill with no flags keeps batches in flight for a remote provider, waits out its 429s holding the rows, writes each row once and exits 0", () =>
  withDatabase(async (sql) => {
    const target = await createNotesTarget(sql, "cli_pacing_notes", 200, { model });
    // A bucket of 100 tokens (a tenth of a second of 60,000 a minute): a batch of 10 notes is
    // about 70 tokens, so the second batch in flight finds the bucket empty and is answered 429.
    const server = startQuotaServer({ latencyMs: 0, tokensPerMinute: 60_000, burstSeconds: 0.1 });
    try {
      const run = await runCli(
        [
          "backfill",
          "--target",
          target.table,
          "--batch-size",
          "10",
          "--json",
          "--db-url",
          databaseUrl,
        ],
        {
          EMBEDDING_PROVIDER: "openai",
          OPENAI_BASE_URL: server.baseUrl,
          OPENAI_EMBEDDING_MODEL: model,
          OPENAI_EMBEDDING_DIMENSIONS: "384",
        },
      );
      assert.equal(run.code, 0, describeCliRun(run));
      const outcome: BackfillJson = JSON.parse(run.stdout);
      assert.match(run.stderr, /1 worker with up to 8 batches in flight/);
      assert.equal(outcome.written, 200);
      assert.ok(server.counts.rateLimited >= 1, "the provider answered 429 at least once");
      assert.ok(outcome.rateLimitWaits >= 1, "and the backfill waited it out");
      assert.equal(outcome.released, 0, "no row was handed back to be claimed again");
      assert.equal(server.counts.texts, 200, "no row was embedded twice");
      assert.equal(await attemptsCharged(sql, target.id), 0, "no row paid for the limit");
    } finally {
      await server.close();
      await target.drop();
    }
  }));
