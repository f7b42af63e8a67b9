// The command line as operators run it (`deno task cli ...` in a child process) against the embedded default in a directory of each test's own: help, usage errors, status, embed, backfill (JSON, concurrency, failures, Ctrl-C, deferred indexes), requeue, status --watch.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { BackfillEstimate } from "../tools/cli/backfill_estimate.ts";
import { createMeasurementTarget } from "../tools/cli/measurement_target.ts";
import { dropVectorIndexes, targetLocations } from "../tools/cli/deferred_indexes.ts";
import { describeCliRun } from "../tools/cli/run_cli.ts";
import {
  type BackfillJson,
  cli,
  cliCommand,
  createStandInTarget,
  indexExists,
  localModel,
  makeRowFailOnce,
  storedVectors,
  withEmbedded,
} from "./cli_test_support.ts";

Deno.test("cli: every command explains itself with --help, exit 0", async () => {
  const expected: Record<string, RegExp[]> = {
    backfill: [
      /--concurrency <n>/,
      /--defer-index/,
      /--batch-size <n> +rows per claim, provider call and write \(1-1000,\s+default\s+50\)/,
      /--json/,
      /--provider <name>/,
      /Ctrl-C/,
      /--estimate/,
      /--price-per-million <price>/,
    ],
    status: [/--watch \[seconds\]/, /--json/, /--target <name>/],
    embed: [/--time-budget-ms <n>/, /--lease-seconds <n>/, /--max-rows <n>/],
    requeue: [/--dead/, /--target <name>/, /requeue_dead/],
    verify: [/--fix/],
    doctor: [/--provider <name>/],
  };
  const dir = await Deno.makeTempDir({ prefix: "cli-help-" });
  try {
    const top = await cli(dir, "--help");
    assert.equal(top.code, 0, describeCliRun(top));
    for (const command of Object.keys(expected)) {
      assert.match(top.stdout, new RegExp(`\\n  ${command} `));
    }
    for (const [command, patterns] of Object.entries(expected)) {
      const help = await cli(dir, command, "--help");
      assert.equal(help.code, 0, describeCliRun(help));
      assert.match(help.stdout, new RegExp(`^Usage: deno task cli ${command} \\[options\\]`));
      for (const pattern of patterns) assert.match(help.stdout, pattern, `${command} --help`);
      assert.equal(help.stderr, "", "help prints only itself");
    }
    assert.deepEqual([...Deno.readDirSync(dir)], [], "--help opens no database");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: the embedded default starts from an empty directory, says so once, and status reads it", async () => {
  const root = await Deno.makeTempDir({ prefix: "cli-fresh-" });
  const dir = join(root, "pglite");
  try {
    const first = await cli(dir, "status", "--json");
    assert.equal(first.code, 0, describeCliRun(first));
    const targets = JSON.parse(first.stdout) as {
      name: string;
      model: string;
      totalRows: number;
    }[];
    assert.deepEqual(targets.map((target) => target.name), [
      "music_knowledge",
      "stories",
      "profiles",
    ]);
    assert.ok(targets.every((target) => target.model === localModel && target.totalRows === 0));
    assert.match(first.stderr, /^Created the embedded database in .*pglite \(PGlite/m);
    assert.match(first.stderr, /^Applied \d+ migrations to it/m);
    const dispatch = first.stderr.split("\n").filter((line) => line.includes("scheduled dispatch"));
    assert.deepEqual(dispatch, [
      "The scheduled dispatch needs pg_cron and is skipped in the embedded database; it works unchanged on PostgreSQL with pg_cron (Supabase, the local stack).",
    ]);
    assert.doesNotMatch(first.stderr, /warn|Warning|deprecat/i, "no toolchain warnings");

    const second = await cli(dir, "status");
    assert.equal(second.code, 0, describeCliRun(second));
    assert.equal(second.stderr, "", "a second start applies nothing and says nothing");
    assert.match(
      second.stdout,
      /^ {2}target +model +rows +embedded +pending +in flight +dead +last write$/m,
    );
    assert.match(
      second.stdout,
      /^status: 3 targets, 0 of 0 rows embedded, 0 queued, 0 dead-lettered$/m,
    );
    assert.ok(!Deno.statSync(join(dir, "owner.lock")).isDirectory);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cli: usage errors exit 2 with one line naming what is wrong", () =>
  withEmbedded(async ({ run }) => {
    const batch = await run("backfill", "--batch-size", "0");
    assert.equal(batch.code, 2, describeCliRun(batch));
    assert.equal(
      batch.stderr.trim(),
      "backfill: --batch-size: batchSize must be an integer from 1 to 1000, got 0",
    );
    const workers = await run("backfill", "--concurrency", "0");
    assert.equal(workers.code, 2, describeCliRun(workers));
    assert.match(workers.stderr, /--concurrency <n>' argument '0' is invalid/);
    const provider = await run("embed", "--provider", "nope");
    assert.equal(provider.code, 2, describeCliRun(provider));
    assert.match(
      provider.stderr,
      /Allowed choices are gte-small, openai, local, local-512 \(one, or several separated by commas\)\./,
    );
    const target = await run("status", "--target", "nope");
    assert.equal(target.code, 2, describeCliRun(target));
    assert.equal(
      target.stderr.trim(),
      'status: no target is named "nope"; registered: music_knowledge, stories, profiles',
    );
    const unknown = await run("backfil");
    assert.equal(unknown.code, 2, describeCliRun(unknown));
  }));

Deno.test("cli: embed runs the worker once and prints its report; exit 1 when a target's model is not the provider's", () =>
  withEmbedded(async ({ sql, run }) => {
    await createStandInTarget(sql, "cli_embed_notes", 30);
    const once = await run(
      "embed",
      "--provider",
      "stand-in",
      "--target",
      "cli_embed_notes",
      "--batch-size",
      "7",
    );
    assert.equal(once.code, 0, describeCliRun(once));
    const report = JSON.parse(once.stdout) as {
      ok: boolean;
      written: number;
      batches: number;
      stoppedBecause: string;
    };
    assert.equal(report.ok, true);
    assert.equal(report.written, 30);
    assert.equal(report.batches, 5);
    assert.equal(report.stoppedBecause, "nothing_to_claim");
    assert.equal(await storedVectors(sql, "cli_embed_notes"), 30);

    await sql`insert into public.music_knowledge (topic, category, suggestion)
      values ('one_row', 'mixing', 'a row the stand-in must not embed')`;
    const refused = await run("embed", "--provider", "stand-in", "--target", "music_knowledge");
    assert.equal(refused.code, 1, describeCliRun(refused));
    const refusal = JSON.parse(refused.stdout) as { ok: boolean; stoppedBecause: string };
    assert.equal(refusal.ok, false);
    assert.equal(refusal.stoppedBecause, "no_target_matches_provider");
  }));

Deno.test("cli: backfill --json runs the worker run after run until nothing is left, and every row is read back", () =>
  withEmbedded(async ({ sql, backfill }) => {
    await createStandInTarget(sql, "cli_backfill_notes", 300);
    const { result, outcome } = await backfill(
      "cli_backfill_notes",
      "--batch-size",
      "25",
      "--max-rows",
      "100",
    );
    assert.equal(result.code, 0, describeCliRun(result));
    assert.equal(outcome.ok, true);
    assert.equal(outcome.written, 300);
    assert.equal(outcome.failed, 0);
    assert.ok(
      outcome.runs >= 4,
      `runs of at most 100 rows each, then one that finds nothing: ${outcome.runs}`,
    );
    assert.deepEqual(
      outcome.targets.map((target) => [target.name, target.embedded, target.pending]),
      [
        ["cli_backfill_notes", 300, 0],
      ],
    );
    assert.match(
      outcome.message,
      /^backfill: wrote 300 rows in .* every row of cli_backfill_notes is embedded$/,
    );
    assert.equal(await storedVectors(sql, "cli_backfill_notes"), 300);
    assert.doesNotMatch(result.stderr, /warn|Warning|deprecat/i);
  }));

Deno.test("cli: backfill --concurrency 2 runs two workers over one backlog and writes each row once", () =>
  withEmbedded(async ({ sql, backfill }) => {
    await createStandInTarget(sql, "cli_parallel_notes", 400);
    await sql.unsafe(`
      create table public.cli_parallel_writes (id bigint);
      create function public.cli_parallel_audit() returns trigger language plpgsql as $$
        begin insert into public.cli_parallel_writes values (new.id); return new; end $$;
      create trigger audit after update of embedding on public.cli_parallel_notes
        for each row execute function public.cli_parallel_audit();`);
    const { result, outcome } = await backfill(
      "cli_parallel_notes",
      "--concurrency",
      "2",
      "--batch-size",
      "10",
    );
    assert.equal(result.code, 0, describeCliRun(result));
    assert.equal(outcome.workers, 2);
    assert.equal(outcome.written, 400);
    assert.ok(outcome.runs >= 2, "each worker ran");
    const [{ writes, rows }] = await sql<{ writes: number; rows: number }[]>`
      select count(*)::int as writes, count(distinct id)::int as rows from public.cli_parallel_writes`;
    assert.deepEqual({ writes, rows }, { writes: 400, rows: 400 }, "no row written twice");
  }));

Deno.test("cli: backfill exits 1 and names the row when a row is not written", () =>
  withEmbedded(async ({ sql, run, backfill }) => {
    await createStandInTarget(sql, "cli_failing_notes", 20);
    await makeRowFailOnce(sql, "cli_failing_notes", 7, "  ");
    const { result, outcome } = await backfill("cli_failing_notes");
    assert.equal(result.code, 1, describeCliRun(result));
    assert.equal(outcome.ok, false);
    assert.equal(outcome.written, 19);
    assert.deepEqual(outcome.failedRows.map((row) => [row.key, row.deadLettered]), [["7", true]]);
    assert.match(
      outcome.message,
      /NOT all written: cli_failing_notes: 1 dead-lettered; .*requeue --dead/,
    );

    const text = await run("backfill", "--provider", "stand-in", "--target", "cli_failing_notes");
    assert.equal(text.code, 1, describeCliRun(text));
    assert.match(
      text.stdout,
      /cli_failing_notes: 1 row dead-lettered: deno task cli requeue --target cli_failing_notes --dead/,
    );
  }));

Deno.test("cli: Ctrl-C during a backfill hands the rows in hand back, and a rerun finishes them", () =>
  withEmbedded(async ({ dir, sql, run }) => {
    await createMeasurementTarget(sql, {
      table: "cli_interrupted_notes",
      rows: 400,
      model: localModel,
    });
    const child = cliCommand(dir, [
      "backfill",
      "--target",
      "cli_interrupted_notes",
      "--batch-size",
      "10",
      "--json",
    ]).spawn();
    // Interrupted once some rows are written and more are to come.
    const deadline = Date.now() + 120_000;
    let written = 0;
    while (written < 20 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      written = await storedVectors(sql, "cli_interrupted_notes");
    }
    assert.ok(written >= 20, "the backfill got going");
    // One key press under `deno task` arrives twice (the terminal's SIGINT and the one deno task
    // forwards, a millisecond apart): still a clean stop, not "quit at once".
    child.kill("SIGINT");
    child.kill("SIGINT");
    const output = await child.output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 130, `exit ${output.code}\n${stdout}\n${stderr}`);
    assert.match(stderr, /backfill: stopping: no new batch, the rows in hand go back untried/);
    const outcome = JSON.parse(stdout) as BackfillJson;
    assert.equal(outcome.interrupted, true);
    assert.equal(outcome.ok, false);
    assert.ok(outcome.written < 400, `stopped early (${outcome.written} written)`);
    const [target] = outcome.targets;
    assert.equal(target.inFlight, 0, "no lease left behind: the rows in hand went back");
    assert.equal(target.embedded + target.pending, 400, "every row is embedded or queued");
    const [{ attempts }] = await sql<{ attempts: number }[]>`
      select coalesce(max(attempts), 0)::int as attempts from embeddings.queue`;
    assert.equal(attempts, 0, "no row was charged an attempt");

    const rerun = await run(
      "backfill",
      "--target",
      "cli_interrupted_notes",
      "--batch-size",
      "50",
      "--json",
    );
    assert.equal(rerun.code, 0, describeCliRun(rerun));
    const finished = JSON.parse(rerun.stdout) as BackfillJson;
    assert.equal(finished.written, 400 - target.embedded);
    assert.equal(await storedVectors(sql, "cli_interrupted_notes"), 400);
  }));

Deno.test("cli: backfill --defer-index drops the vector index for the backfill and builds it again", () =>
  withEmbedded(async ({ sql, backfill }) => {
    await createStandInTarget(sql, "cli_deferred_notes", 200);
    const index = "public.cli_deferred_notes_embedding_hnsw_idx";
    const { result, outcome } = await backfill("cli_deferred_notes", "--defer-index");
    assert.equal(result.code, 0, describeCliRun(result));
    assert.deepEqual(outcome.indexes, { dropped: [index], rebuilt: [index], leftDropped: [] });
    assert.match(
      result.stderr,
      /dropped public\.cli_deferred_notes_embedding_hnsw_idx for the backfill/,
    );
    assert.match(
      result.stderr,
      /vector index public\.cli_deferred_notes_embedding_hnsw_idx built in/,
    );
    assert.ok(await indexExists(sql, index), "the index is back");
    const [{ method }] = await sql<{ method: string }[]>`
      select am.amname as method from pg_class as c join pg_am as am on am.oid = c.relam
      where c.oid = ${index}::regclass`;
    assert.equal(method, "hnsw");
  }));

Deno.test("cli: an index a killed --defer-index backfill left dropped is shown by status and built by the next backfill", () =>
  withEmbedded(async ({ sql, run, backfill }) => {
    await createStandInTarget(sql, "cli_crashed_notes", 50);
    const index = "public.cli_crashed_notes_embedding_hnsw_idx";
    // What a backfill --defer-index does before its workers start; then it is "killed".
    const [location] = await targetLocations(
      sql,
      (await sql<
        { id: string }[]
      >`select id from embeddings.targets where name = 'cli_crashed_notes'`)
        .map((row) => Number(row.id)),
    );
    const dropped = await dropVectorIndexes(sql, location);
    assert.deepEqual(dropped.map((entry) => `${entry.indexSchema}.${entry.indexName}`), [index]);
    assert.equal(await indexExists(sql, index), false);

    const status = await run("status", "--target", "cli_crashed_notes", "--json");
    assert.equal(status.code, 0, describeCliRun(status));
    assert.deepEqual(
      (JSON.parse(status.stdout) as { deferredIndexes: string[] }[])[0].deferredIndexes,
      [index],
    );
    const text = await run("status", "--target", "cli_crashed_notes");
    assert.match(
      text.stdout,
      /vector index public\.cli_crashed_notes_embedding_hnsw_idx dropped by backfill --defer-index and not built yet/,
    );

    const { result: rerun, outcome: rerunOutcome } = await backfill("cli_crashed_notes");
    assert.equal(rerun.code, 0, describeCliRun(rerun));
    assert.match(
      rerun.stderr,
      /an earlier backfill --defer-index left 1 vector index dropped .*building them again first/,
    );
    assert.deepEqual(rerunOutcome.indexes.rebuilt, [index]);
    assert.ok(await indexExists(sql, index));
  }));

Deno.test("cli: backfill --estimate counts the rows, characters, tokens and price a backfill would take, and embeds nothing", () =>
  withEmbedded(async ({ sql, run }) => {
    await createStandInTarget(sql, "cli_estimate_notes", 40);
    await makeRowFailOnce(sql, "cli_estimate_notes", 5, "  ");
    const [expected] = await sql<{ characters: number; tokens: number }[]>`
      select sum(length(body))::int as characters, sum(ceil(length(body) / 3.0))::int as tokens
      from public.cli_estimate_notes where id <> 5`;
    const json = await run(
      "backfill",
      "--estimate",
      "--target",
      "cli_estimate_notes",
      "--price-per-million",
      "2",
      "--json",
    );
    assert.equal(json.code, 0, describeCliRun(json));
    const estimate = JSON.parse(json.stdout) as BackfillEstimate;
    assert.deepEqual(
      estimate.targets.map((target) => [
        target.name,
        target.queued,
        target.withoutText,
        target.rowsToEmbed,
        target.characters,
        target.estimatedTokens,
        target.price,
      ]),
      [[
        "cli_estimate_notes",
        40,
        1,
        39,
        expected.characters,
        expected.tokens,
        Number((expected.tokens * 2 / 1_000_000).toFixed(6)),
      ]],
    );
    assert.equal(estimate.total.estimatedTokens, expected.tokens);

    const text = await run("backfill", "--estimate", "--target", "cli_estimate_notes");
    assert.equal(text.code, 0, describeCliRun(text));
    assert.match(text.stdout, /^ {2}cli_estimate_notes .* 39 /m);
    assert.match(text.stdout, /no provider called: tokens at 3 characters a token/);
    assert.equal(await storedVectors(sql, "cli_estimate_notes"), 0, "nothing was embedded");
    const [{ pending }] = await sql<{ pending: number }[]>`
      select pending::int from embeddings.status where name = 'cli_estimate_notes'`;
    assert.equal(pending, 40, "nothing was claimed");

    const alone = await run("backfill", "--price-per-million", "2");
    assert.equal(alone.code, 2, describeCliRun(alone));
    assert.match(alone.stderr, /--price-per-million goes with --estimate/);
  }));

Deno.test("cli: backfill --estimate cuts each target's texts as the provider of its model would: OpenAI's limit for its targets only", () =>
  withEmbedded(async ({ sql, run }) => {
    const long = "word ".repeat(6_000); // 30,000 characters: past OpenAI's 24,573
    const targets = [
      { table: "cli_estimate_openai_notes", model: "text-embedding-3-small", cut: 24_573 },
      {
        table: "cli_estimate_local_notes",
        model: "universal-sentence-encoder-lite-384",
        cut: null,
      },
    ];
    for (const { table, model } of targets) {
      await createMeasurementTarget(sql, { table, rows: 2, model });
      await sql`update ${sql("public")}.${sql(table)} set body = ${long} where id = 1`;
    }
    const json = await run("backfill", "--estimate", "--provider", "local,openai", "--json");
    assert.equal(json.code, 0, describeCliRun(json));
    const estimate = JSON.parse(json.stdout) as BackfillEstimate;
    for (const { table, cut } of targets) {
      const [{ second }] = await sql<{ second: number }[]>`
        select length(body)::int as second from ${sql("public")}.${sql(table)} where id = 2`;
      const line = estimate.targets.find((target) => target.name === table);
      assert.ok(line, `${table} is estimated`);
      assert.equal(line.maxCharactersPerText, cut, `${table}'s cut`);
      assert.equal(line.characters, (cut ?? long.length) + second, `${table}'s characters`);
    }
    assert.equal(estimate.maxCharactersPerText, 24_573);
  }));

Deno.test("cli: requeue --dead queues dead letters again; requeue queues every row of a target again", () =>
  withEmbedded(async ({ sql, run, backfill }) => {
    await createStandInTarget(sql, "cli_requeue_notes", 12);
    await makeRowFailOnce(sql, "cli_requeue_notes", 3);
    const { result: first } = await backfill("cli_requeue_notes");
    assert.equal(first.code, 1, describeCliRun(first));

    const dead = await run("requeue", "--target", "cli_requeue_notes", "--dead", "--json");
    assert.equal(dead.code, 0, describeCliRun(dead));
    assert.deepEqual(
      (JSON.parse(dead.stdout) as { target: string; deadRequeued: number }[]).map((
        entry,
      ) => [entry.target, entry.deadRequeued]),
      [["cli_requeue_notes", 1]],
    );
    const [{ deadLettered, pending: queued }] = await sql<
      { deadLettered: number; pending: number }[]
    >`
      select dead_lettered::int as "deadLettered", pending::int
      from embeddings.status where name = 'cli_requeue_notes'`;
    assert.deepEqual({ deadLettered, queued }, { deadLettered: 0, queued: 1 });
    await sql`update public.cli_requeue_notes set body = 'a chorus that lifts' where id = 3`;
    const { result: second, outcome: secondOutcome } = await backfill("cli_requeue_notes");
    assert.equal(second.code, 0, describeCliRun(second));
    assert.equal(secondOutcome.written, 1);

    const all = await run("requeue", "--target", "cli_requeue_notes");
    assert.equal(all.code, 0, describeCliRun(all));
    assert.match(
      all.stdout,
      /^cli_requeue_notes: every row queued again \(records of 12 embedded rows forgotten, 0 dead-lettered rows given fresh attempts, 12 queued now/m,
    );
    const [{ pending }] = await sql<{ pending: number }[]>`
      select pending::int from embeddings.status where name = 'cli_requeue_notes'`;
    assert.equal(pending, 12);
    const { outcome: thirdOutcome } = await backfill("cli_requeue_notes");
    assert.equal(thirdOutcome.written, 12);
  }));

Deno.test("cli: status --watch --json prints a JSON array per refresh until Ctrl-C, then exits 0", () =>
  withEmbedded(async ({ dir }) => {
    const child = cliCommand(dir, ["status", "--watch", "0.5", "--json"]).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const deadline = Date.now() + 60_000;
    while (text.split("\n").filter(Boolean).length < 2 && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    child.kill("SIGINT");
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const status = await child.status;
    await child.stderr.cancel();
    assert.equal(status.code, 0);
    const refreshes = text.split("\n").filter(Boolean).map((line) =>
      JSON.parse(line) as { name: string }[]
    );
    assert.ok(refreshes.length >= 2, `${refreshes.length} refreshes`);
    for (const refresh of refreshes) assert.equal(refresh[0].name, "music_knowledge");
  }));
