// `deno task cli doctor` and `verify` as a user runs them: the CLI in a subprocess against the local database, with problems planted and fixed.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { defaultRunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import { type CliRun, describeCliRun, runCli } from "../tools/cli/run_cli.ts";
import { projectRoot } from "../tools/stack/local_stack_settings.ts";
import { createNotesTarget, databaseUrl, type NotesTarget, withDatabase } from "./test_support.ts";

const localModel = new LocalSentenceEncoderProvider(384);

/** Runs `deno run -A tools/cli.ts <args> --db-url <local stack>` without colours. */
function cli(...args: string[]): Promise<CliRun> {
  return runCli([...args, "--db-url", databaseUrl]);
}

/** Runs `work` as postgres with triggers off (session_replication_role = replica): unseen by the engine. */
async function behindTheEnginesBack(
  sql: postgres.Sql,
  work: (tx: postgres.TransactionSql) => Promise<unknown>,
): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await work(tx);
  });
}

/**
 * A notes target (test_support's createNotesTarget) closed the way the app closes its tables: RLS
 * on and no client privilege, so doctor has nothing to say about it.
 */
async function createClosedNotesTarget(
  sql: postgres.Sql,
  table: string,
  rows: number,
): Promise<NotesTarget> {
  const notes = await createNotesTarget(sql, table, rows);
  await sql.unsafe(`
    alter table public.${table} enable row level security;
    revoke all on public.${table} from anon, authenticated;`);
  return notes;
}

async function embedAll(sql: postgres.Sql, target: string): Promise<void> {
  const report = await runWorker(new PostgresTargetQueue(sql), localModel, {
    ...defaultRunOptions,
    target,
  });
  assert.ok(report.ok, `the worker embedded ${target}: ${report.message}`);
}

interface VerifyJsonRow {
  target_id: number;
  target: string;
  problem: string;
  description: string;
  row_count: number;
  sample_keys: string[];
  fixed: number | null;
}

/** The problems verify --json reports, as { problem: sorted sample keys }. */
function problemsOf(rows: readonly VerifyJsonRow[]): Record<string, string[]> {
  return Object.fromEntries(
    rows.filter((row) => row.row_count > 0).map((row) => [row.problem, row.sample_keys.toSorted()]),
  );
}

/**
 * Waits until embeddings.verify is in the database (it arrives with its own migration; polls every
 * 30 s for at most 45 minutes while it is being built), so the verify tests never race it.
 */
async function waitForVerifyFunction(sql: postgres.Sql): Promise<void> {
  const deadline = Date.now() + 45 * 60_000;
  while (true) {
    const [{ present }] = await sql<{ present: boolean }[]>`
      select to_regprocedure('embeddings.verify(bigint, boolean, integer)') is not null as present`;
    if (present) return;
    if (Date.now() > deadline) {
      throw new Error(
        "embeddings.verify(bigint, boolean, integer) did not appear within 45 minutes",
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 30_000));
  }
}

// =============================================================================================
// doctor
// =============================================================================================

Deno.test("doctor: the healthy database passes every check and exits 0", () =>
  withDatabase(async (sql) => {
    // Other suites (the scheduled dispatch's) record failed dispatches on purpose; they are moved
    // out of doctor's one-day window while it runs, and back after.
    const moved = await sql<{ id: string }[]>`
      update embeddings.dispatches set sent_at = sent_at - interval '2 days'
      where outcome in ('failed', 'timed out', 'not sent') and sent_at > now() - interval '1 day'
      returning id`;
    try {
      const result = await cli("doctor", "--provider", "local");
      assert.equal(result.code, 0, describeCliRun(result));
      assert.match(result.stdout, /^doctor: all 17 checks passed$/m);
      assert.doesNotMatch(result.stdout, /^(errors|warnings) \(/m);
      assert.match(
        result.stdout,
        /ok target_model_matches_provider: target music_knowledge embeds with model universal-sentence-encoder-lite-384 \(384 dimensions\), made by the configured provider local$/m,
      );
    } finally {
      await sql`
        update embeddings.dispatches set sent_at = sent_at + interval '2 days'
        where id = any(${moved.map((row) => row.id)}::bigint[])`;
    }
  }));

Deno.test("doctor: a client able to write a vector column exits 1 naming it, and 0 once removed", () =>
  withDatabase(async (sql) => {
    const notes = await createClosedNotesTarget(sql, "cli_doctor_notes", 3);
    try {
      await sql.unsafe(`
        grant update (embedding) on public.cli_doctor_notes to anon;
        create policy cli_doctor_anyone_updates on public.cli_doctor_notes
          for update to anon using (true);`);
      const planted = await cli("doctor", "--provider", "local");
      assert.equal(planted.code, 1, describeCliRun(planted));
      assert.match(planted.stdout, /^errors \(1\)$/m);
      assert.match(
        planted.stdout,
        /error client_can_write_vector public\.cli_doctor_notes\.embedding\n\s+role anon can UPDATE the vector column of target cli_doctor_notes \(UPDATE: policy cli_doctor_anyone_updates lets it\)/,
      );
      assert.match(
        planted.stdout,
        /fix: revoke update \(embedding\) on public\.cli_doctor_notes from anon;/,
      );
      assert.match(planted.stdout, /^doctor: 1 error and 0 warnings from 1 of 17 checks/m);

      await sql.unsafe(`
        drop policy cli_doctor_anyone_updates on public.cli_doctor_notes;
        revoke update (embedding) on public.cli_doctor_notes from anon;`);
      const removed = await cli("doctor", "--provider", "local");
      assert.equal(removed.code, 0, describeCliRun(removed));
      assert.doesNotMatch(removed.stdout, /^\s*(error|warning) .*cli_doctor_notes/m);
    } finally {
      await notes.drop();
    }
  }));

Deno.test("doctor --json: the findings parse, and a warning alone does not fail", () =>
  withDatabase(async (sql) => {
    const notes = await createClosedNotesTarget(sql, "cli_doctor_json_notes", 2);
    try {
      // The privilege without a policy: RLS would filter the write to 0 rows, a warning.
      await sql.unsafe(`grant update (embedding) on public.cli_doctor_json_notes to anon;`);
      const result = await cli("doctor", "--json", "--provider", "local");
      const findings = JSON.parse(result.stdout) as {
        level: string;
        check_name: string;
        subject: string | null;
        finding: string;
        fix: string | null;
      }[];
      assert.ok(Array.isArray(findings) && findings.length >= 12, result.stdout);
      assert.ok(findings.every((finding) => ["ok", "warning", "error"].includes(finding.level)));
      assert.deepEqual(
        findings.filter((finding) => finding.subject === "public.cli_doctor_json_notes.embedding")
          .map(({ level, check_name, fix }) => ({ level, check_name, fix })),
        [{
          level: "warning",
          check_name: "client_write_silently_filtered",
          fix:
            "revoke update (embedding) on public.cli_doctor_json_notes from anon; -- so a client's write fails loudly with permission denied",
        }],
      );
      assert.ok(
        findings.some((finding) =>
          finding.check_name === "target_model_matches_provider" && finding.level === "ok"
        ),
        "the CLI's own check is in the JSON too",
      );
      const errors = findings.filter((finding) => finding.level === "error");
      assert.equal(result.code, errors.length > 0 ? 1 : 0, describeCliRun(result));
      assert.deepEqual(errors, [], "nothing else is wrong with the database");
    } finally {
      await notes.drop();
    }
  }));

Deno.test("cli: bad usage exits 2 with the reason", async () => {
  const unknownCommand = await cli("diagnose");
  assert.equal(unknownCommand.code, 2, describeCliRun(unknownCommand));
  assert.match(unknownCommand.stderr, /unknown command 'diagnose'/);
  const badSample = await cli("verify", "--sample", "-1");
  assert.equal(badSample.code, 2, describeCliRun(badSample));
  assert.match(badSample.stderr, /--sample <n>.*must be a whole number from 0 to 1000/);
  const badProvider = await cli("doctor", "--provider", "cohere");
  assert.equal(badProvider.code, 2, describeCliRun(badProvider));
  assert.match(badProvider.stderr, /Allowed choices are gte-small, openai, local/);
  const help = await cli("verify", "--help");
  assert.equal(help.code, 0, describeCliRun(help));
  assert.match(help.stdout, /^Usage: deno task cli verify \[options\]/);
});

Deno.test("cli: a database that cannot be reached exits 2 and says which", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "tools/cli.ts",
      "doctor",
      "--db-url",
      "postgresql://postgres:secret@127.0.0.1:1/postgres",
    ],
    cwd: projectRoot,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 2, stderr);
  assert.match(
    stderr,
    /^doctor: could not connect to postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:1\//,
  );
  assert.doesNotMatch(stderr, /secret/, "the password is not printed");
});

// =============================================================================================
// verify
// =============================================================================================

Deno.test("verify: a target the engine filled is clean and exits 0", () =>
  withDatabase(async (sql) => {
    await waitForVerifyFunction(sql);
    const notes = await createClosedNotesTarget(sql, "cli_verify_clean", 12);
    try {
      await embedAll(sql, notes.table);
      const result = await cli("verify", "--target", notes.table);
      assert.equal(result.code, 0, describeCliRun(result));
      assert.match(
        result.stdout,
        new RegExp(`^cli_verify_clean \\(target ${notes.id}\\): clean$`, "m"),
      );
      assert.match(result.stdout, /^verify: every target clean \(1 target, 12 rows checked\)$/m);
    } finally {
      await notes.drop();
    }
  }));

Deno.test("verify: rows changed behind the engine's back exit 1 named; --fix queues them; the worker makes it clean", () =>
  withDatabase(async (sql) => {
    await waitForVerifyFunction(sql);
    const notes = await createClosedNotesTarget(sql, "cli_verify_planted", 8);
    try {
      await embedAll(sql, notes.table);
      await behindTheEnginesBack(sql, async (tx) => {
        // A vector removed, a vector written by hand into a new row and over an embedded one
        // (not even unit length), and a row deleted: none of it seen by the sync trigger.
        await tx.unsafe(`
          update public.cli_verify_planted set embedding = null where id = 'n0001';
          insert into public.cli_verify_planted (id, body, embedding)
            values ('n9001', 'written by hand', (select embedding from public.cli_verify_planted where id = 'n0005'));
          update public.cli_verify_planted
            set embedding = array_fill(0.5, array[384])::real[]::extensions.vector where id = 'n0002';
          delete from public.cli_verify_planted where id = 'n0003';`);
      });

      const json = await cli("verify", "--target", notes.table, "--json");
      assert.equal(json.code, 1, describeCliRun(json));
      const rows = JSON.parse(json.stdout) as VerifyJsonRow[];
      assert.ok(rows.every((row) => row.target === notes.table && row.fixed === null));
      assert.deepEqual(problemsOf(rows), {
        missing_vector: ["n0001"],
        unvouched_vector: ["n0002", "n9001"],
        orphan_bookkeeping: ["n0003"],
      });

      const text = await cli("verify", "--target", notes.table);
      assert.equal(text.code, 1, describeCliRun(text));
      assert.match(text.stdout, /cli_verify_planted \(target \d+\): 3 problems, 4 rows/);
      for (const [problem, keys] of Object.entries(problemsOf(rows))) {
        assert.match(
          text.stdout,
          new RegExp(`^\\s+${problem}\\s+${keys.length}\\s+${keys.join(", ")}\\s`, "m"),
        );
      }
      assert.match(
        text.stdout,
        /^verify: 3 problems in 1 of 1 target \(4 rows\); run with --fix to (queue or remove|remove or queue) them$/m,
      );

      const fixed = await cli("verify", "--target", notes.table, "--fix");
      assert.equal(fixed.code, 0, describeCliRun(fixed));
      assert.match(fixed.stdout, /^\s+missing_vector\s+1\s+queued 1\s+n0001/m);
      assert.match(fixed.stdout, /^\s+orphan_bookkeeping\s+1\s+removed 1\s+n0003/m);
      assert.match(
        fixed.stdout,
        /^verify --fix: 3 problems in 1 of 1 target \(4 rows\); queued 3 rows and removed the bookkeeping of 1 row; run the worker \(deno task cli backfill\) to embed what was queued; nothing left unfixed$/m,
      );

      const queuedOnly = await cli("verify", "--target", notes.table);
      assert.equal(
        queuedOnly.code,
        0,
        `queued rows are work in progress: ${describeCliRun(queuedOnly)}`,
      );

      await embedAll(sql, notes.table);
      const after = await cli("verify", "--target", notes.table);
      assert.equal(after.code, 0, describeCliRun(after));
      assert.match(after.stdout, /^verify: every target clean \(1 target, 8 rows checked\)$/m);
      const [stored] = await sql<{ unit: number; missing: number }[]>`
        select count(*) filter (where abs(extensions.vector_norm(embedding) - 1) < 0.001)::int as unit,
               count(*) filter (where embedding is null)::int as missing
        from public.cli_verify_planted`;
      assert.deepEqual(stored, { unit: 8, missing: 0 }, "every row holds a unit vector again");
    } finally {
      await notes.drop();
    }
  }));

Deno.test("verify --fix: a dead-lettered row is left, said so, and exit 1 until it is requeued", () =>
  withDatabase(async (sql) => {
    await waitForVerifyFunction(sql);
    const notes = await createClosedNotesTarget(sql, "cli_verify_dead", 4);
    try {
      await embedAll(sql, notes.table);
      await sql`
        insert into embeddings.queue (target_id, row_key, attempts, dead_at, last_error)
        values (${notes.id}, 'n0004', 5, now(), 'the provider refused it five times')`;

      const fixed = await cli("verify", "--target", notes.table, "--fix");
      assert.equal(fixed.code, 1, describeCliRun(fixed));
      assert.match(
        fixed.stdout,
        /^\s+dead_lettered\s+1\s+not fixed: select embeddings\.requeue_dead\(\d+\)\s+n0004/m,
      );
      assert.match(
        fixed.stdout,
        new RegExp(
          `^verify --fix: 1 problem in 1 of 1 target \\(1 row\\); fixed nothing; --fix leaves dead_lettered \\(1 row\\) of cli_verify_dead: select embeddings\\.requeue_dead\\(${notes.id}\\)$`,
          "m",
        ),
      );

      await sql`select embeddings.requeue_dead(${notes.id}::bigint)`;
      await embedAll(sql, notes.table);
      const after = await cli("verify", "--target", notes.table);
      assert.equal(after.code, 0, describeCliRun(after));
    } finally {
      await notes.drop();
    }
  }));

Deno.test("verify --target: an unknown name exits 2 listing the registered targets", () =>
  withDatabase(async (sql) => {
    await waitForVerifyFunction(sql);
    const result = await cli("verify", "--target", "no_such_target");
    assert.equal(result.code, 2, describeCliRun(result));
    const [{ names }] = await sql<{ names: string }[]>`
      select string_agg(name, ', ' order by name) as names from embeddings.targets`;
    assert.equal(
      result.stderr.trim(),
      `verify: no target is named "no_such_target"; registered: ${names}`,
    );
  }));
