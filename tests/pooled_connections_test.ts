// Through PgBouncer in transaction mode (the local stack's --pooler, as Supabase's pooler on port 6543): the CLI backfill, the search function, and a search after another client left a session-level request.jwt.claim.sub on the one shared server connection.
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { publishableKey, signUserJwt } from "../tools/stack/api_keys.ts";
import { platformEnvironment } from "../tools/stack/function_platform_environment.ts";
import { freePort, spawnFunction } from "../tools/stack/functions_gateway.ts";
import { postgresBinDir, postgresDir } from "../tools/stack/local_stack_settings.ts";
import {
  isPoolerRunning,
  type PoolerInstance,
  poolerUrlOf,
  stackPooler,
  startPooler,
  stopPooler,
} from "../tools/stack/pgbouncer.ts";
import { runCommand } from "../tools/stack/run_command.ts";
import type { SearchHit } from "../supabase/functions/_shared/search/search_as_caller.ts";
import { describeCliRun, runCli } from "../tools/cli/run_cli.ts";
import { dropMeasurementTable } from "../tools/cli/measurement_target.ts";
import {
  type BackfillJson,
  createStandInTarget,
  indexExists,
  storedVectors,
} from "./cli_test_support.ts";
import { seedEmbedded, seedTarget, withTwoUsersStories } from "./search_seed_rows.ts";
import { withDatabase } from "./test_support.ts";

const stackPoolerUrl = poolerUrlOf(stackPooler);

function requireStackPooler(): void {
  assert.ok(
    isPoolerRunning(stackPooler),
    `the stack's PgBouncer does not run on 127.0.0.1:${stackPooler.port}: start the stack with ` +
      "npx deno task stack:start --pooler (or LOCAL_STACK_POOLER=1); npx deno task test does",
  );
}

/** PgBouncer's own count of the transactions it pooled for database postgres (SHOW STATS). */
async function pooledTransactions(instance: PoolerInstance): Promise<number> {
  // psql: the admin console speaks only the simple query protocol, which postgres.js does not.
  const { stdout } = await runCommand(join(postgresBinDir, "psql"), [
    `postgresql://postgres@127.0.0.1:${instance.port}/pgbouncer`,
    "-X",
    "--csv",
    "-c",
    "show stats",
  ]);
  const [header, ...rows] = stdout.trim().split("\n").map((line) => line.split(","));
  const column = header.indexOf("total_xact_count");
  if (column < 0) throw new Error(`SHOW STATS has no total_xact_count column:\n${stdout}`);
  // A database gets its row with its first client: none yet is none pooled.
  const row = rows.find((columns) => columns[0] === "postgres");
  return row === undefined ? 0 : Number(row[column]);
}

/** Far above a search's own 15 s statement timeout, so only a hang reaches it. */
const searchTimeoutMs = 60_000;

/** The search function in its own process, as the gateway runs it, its SUPABASE_DB_URL `databaseUrl`. */
async function withSearchFunction(
  databaseUrl: string,
  work: (search: (body: unknown, token?: string) => Promise<Response>) => Promise<void>,
): Promise<void> {
  const port = freePort();
  const { child, ready } = spawnFunction(
    "search",
    port,
    await platformEnvironment(port, databaseUrl),
  );
  try {
    await ready;
    await work((body, token) => {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        apikey: publishableKey,
      };
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      // A connection the pooler confused (a prepared statement on another server connection)
      // can leave a search waiting forever: fail the test instead of hanging the suite.
      return fetch(`http://127.0.0.1:${port}/`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(searchTimeoutMs),
      }).catch((error) => {
        throw new Error(`the search function did not answer within ${searchTimeoutMs} ms`, {
          cause: error,
        });
      });
    });
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
  }
}

async function searchedTitles(response: Response): Promise<string[]> {
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return (JSON.parse(text).results as SearchHit[]).map((hit) => String(hit.row.title)).sort();
}

/**
 * Removes the record of an index a failed --defer-index backfill of `target` left dropped: its
 * table is dropped with it, and a new one of the same name must not inherit it.
 */
async function forgetDeferredIndexes(sql: postgres.Sql, target: string): Promise<void> {
  const [{ present }] = await sql<{ present: boolean }[]>`
    select to_regclass('embeddings_cli.deferred_indexes') is not null as present`;
  if (present) await sql`delete from embeddings_cli.deferred_indexes where target_name = ${target}`;
}

function userToken(sub: string): Promise<string> {
  return signUserJwt({ sub, role: "authenticated", aud: "authenticated" });
}

const storiesQuery = { target: "stories", query: "sailing at sea", matchCount: 100 };

Deno.test("pooled: the CLI backfill through PgBouncer writes every row (verify clean), its index deferred and rebuilt", () =>
  withDatabase(async (sql) => {
    requireStackPooler();
    const table = "pooled_backfill_notes";
    const rows = 120;
    await forgetDeferredIndexes(sql, table);
    await createStandInTarget(sql, table, rows);
    try {
      const before = await pooledTransactions(stackPooler);
      const backfill = await runCli([
        "backfill",
        "--db-url",
        stackPoolerUrl,
        "--provider",
        "stand-in",
        "--target",
        table,
        "--concurrency",
        "2",
        "--batch-size",
        "10",
        "--defer-index",
        "--json",
      ]);
      assert.equal(backfill.code, 0, describeCliRun(backfill));
      const outcome = JSON.parse(backfill.stdout) as BackfillJson;
      assert.equal(outcome.ok, true, describeCliRun(backfill));
      assert.equal(outcome.written, rows);
      assert.equal(outcome.failed, 0);
      const index = `public.${table}_embedding_hnsw_idx`;
      assert.deepEqual(outcome.indexes, { dropped: [index], rebuilt: [index], leftDropped: [] });
      // Every batch is at least a claim and a write: the backfill's work did go through PgBouncer.
      const pooled = (await pooledTransactions(stackPooler)) - before;
      assert.ok(pooled >= 2 * (rows / 10), `PgBouncer pooled ${pooled} transactions`);

      const verify = await runCli(["verify", "--db-url", stackPoolerUrl, "--target", table]);
      assert.equal(verify.code, 0, describeCliRun(verify));
      assert.match(
        verify.stdout,
        new RegExp(`^verify: every target clean \\(1 target, ${rows} rows checked\\)$`, "m"),
      );
      // Read back over a direct connection, not through the pooler.
      assert.equal(await storedVectors(sql, table), rows);
      assert.ok(await indexExists(sql, index), "the index is back");
    } finally {
      await dropMeasurementTable(sql, table);
      await forgetDeferredIndexes(sql, table);
    }
  }));

Deno.test("pooled: the search function with SUPABASE_DB_URL at PgBouncer answers anon and users (RLS)", () =>
  withDatabase(async (sql) => {
    requireStackPooler();
    await seedEmbedded(sql);
    await withSearchFunction(stackPoolerUrl, async (search) => {
      // Several at once: the function's connections then meet other server connections than
      // the ones they prepared statements on, which only prepare: false survives.
      const answers = await Promise.all(Array.from({ length: 6 }, async () => {
        const response = await search({
          target: seedTarget,
          query: "How do I set attack and release when compressing the kick drum?",
          matchCount: 5,
        });
        return { status: response.status, body: await response.json() };
      }));
      for (const { status, body } of answers) {
        assert.equal(status, 200, JSON.stringify(body));
        assert.equal(body.role, "anon");
        assert.equal((body.results as SearchHit[])[0].row.topic, "kick_compression");
      }

      await withTwoUsersStories(sql, async (ana, ben) => {
        assert.deepEqual(await searchedTitles(await search(storiesQuery, await userToken(ana))), [
          "Ana at sea",
          "Ana on the mountain",
        ]);
        assert.deepEqual(await searchedTitles(await search(storiesQuery, await userToken(ben))), [
          "Ben at sea",
        ]);
      });
    });
  }));

Deno.test("pooled: a session-level request.jwt.claim.sub another client left on the shared server connection does not make a search run as that user", () =>
  withDatabase(async (sql) => {
    // A pooler of its own with one server connection: every client below shares it, as clients
    // of a busy pooler share its few connections.
    const oneConnection: PoolerInstance = {
      dir: join(postgresDir, "pgbouncer-one-connection-test"),
      port: freePort(),
      poolSize: 1,
    };
    await startPooler(oneConnection);
    const url = poolerUrlOf(oneConnection);
    const careless = postgres(url, { prepare: false, max: 1, onnotice: () => {} });
    try {
      await withTwoUsersStories(sql, async (ana, ben) => {
        // Not local: it stays on the server connection after this client's transaction.
        await careless`select pg_catalog.set_config('request.jwt.claim.sub', ${ben}, false)`;
        const other = postgres(url, { prepare: false, max: 1, onnotice: () => {} });
        try {
          const [{ left }] = await other<{ left: string }[]>`
            select pg_catalog.current_setting('request.jwt.claim.sub', true) as left`;
          assert.equal(left, ben, "the precondition: another client sees the setting left behind");
        } finally {
          await other.end({ timeout: 5 });
        }
        await withSearchFunction(url, async (search) => {
          assert.deepEqual(
            await searchedTitles(await search(storiesQuery, await userToken(ana))),
            ["Ana at sea", "Ana on the mountain"],
            "Ana's search returns Ana's stories, never those of the user the setting names",
          );
        });
      });
    } finally {
      await careless.end({ timeout: 5 });
      await stopPooler(oneConnection);
      await Deno.remove(oneConnection.dir, { recursive: true });
    }
  }));
