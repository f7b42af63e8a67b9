// The embedded default (PGlite in a directory of its own): created and migrated from nothing, migrations applied once, shared with a second opener, leases of a killed owner handed back, and the wire server keeping clients apart.
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { openEmbeddedDatabase } from "../tools/embedded/embedded_database.ts";
import { listMigrations } from "../tools/embedded/schema_setup.ts";
import { createPglite } from "../tools/embedded/pglite_loader.ts";
import { WireServer } from "../tools/embedded/wire_server.ts";
import { projectRoot } from "../tools/stack/local_stack_settings.ts";

function connect(url: string, max = 1): postgres.Sql {
  return postgres(url, { max, prepare: false, onnotice: () => {} });
}

async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "embedded-db-test-" });
  try {
    return await work(join(dir, "pglite"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("embedded: an empty directory becomes a migrated database with the platform's roles and the local model", () =>
  withTempDir(async (dir) => {
    const database = await openEmbeddedDatabase(dir);
    const sql = connect(database.url);
    try {
      assert.equal(database.serving, true);
      const kinds = database.notes.map((note) => note.kind);
      assert.deepEqual(kinds, ["created", "migrated", "dispatch"]);
      const dispatch = database.notes.find((note) => note.kind === "dispatch")?.text ?? "";
      assert.match(
        dispatch,
        /^The scheduled dispatch needs pg_cron and is skipped in the embedded database; it works unchanged on PostgreSQL/,
      );
      assert.equal(dispatch.split(". ").length, 1, "one sentence");

      const migrations = listMigrations();
      const recorded = await sql<{ version: string; name: string }[]>`
        select version, name from supabase_migrations.schema_migrations order by version`;
      assert.deepEqual(
        recorded.map((row) => ({ ...row })),
        migrations.map(({ version, name }) => ({ version, name })),
        "every migration recorded as the Supabase CLI records it",
      );
      const roles = await sql<{ rolname: string }[]>`
        select rolname from pg_roles where rolname in ('anon', 'authenticated', 'service_role') order by 1`;
      assert.deepEqual(roles.map((row) => row.rolname), ["anon", "authenticated", "service_role"]);
      const [{ model, uid }] = await sql<{ model: string; uid: string | null }[]>`
        select embeddings.default_model() as model, auth.uid()::text as uid`;
      assert.equal(model, "universal-sentence-encoder-lite-384");
      assert.equal(uid, null);
      const targets = await sql<{ name: string; model: string }[]>`
        select name, model from embeddings.targets order by id`;
      assert.deepEqual(targets.map((row) => row.name), ["music_knowledge", "stories", "profiles"]);
      assert.ok(targets.every((row) => row.model === "universal-sentence-encoder-lite-384"));
      const [dispatchRun] = await sql<{ sent: number; reason: string }[]>`
        select sent, reason from embeddings.dispatch_embed_requests()`;
      assert.equal(dispatchRun.sent, 0);
      assert.match(dispatchRun.reason, /needs pg_cron/);
    } finally {
      await sql.end({ timeout: 5 });
      await database.close();
    }

    // A second start applies nothing and says nothing; the rows written before are there.
    const again = await openEmbeddedDatabase(dir);
    try {
      assert.deepEqual(again.notes, []);
      const sql2 = connect(again.url);
      try {
        const [{ count }] = await sql2<{ count: number }[]>`
          select count(*)::int as count from supabase_migrations.schema_migrations`;
        assert.equal(count, listMigrations().length);
      } finally {
        await sql2.end({ timeout: 5 });
      }
    } finally {
      await again.close();
    }
  }));

Deno.test("embedded: a second opener joins the process that serves it, and the server waits for it before stopping", () =>
  withTempDir(async (dir) => {
    const owner = await openEmbeddedDatabase(dir);
    const guest = await openEmbeddedDatabase(dir);
    const sql = connect(guest.url);
    try {
      assert.equal(owner.serving, true);
      assert.equal(guest.serving, false);
      assert.equal(guest.url, owner.url);
      const [{ one }] = await sql<{ one: number }[]>`select 1 as one`;
      assert.equal(one, 1);
      let waitedFor = 0;
      const closing = owner.close({ onWaiting: (connections) => waitedFor = connections });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(waitedFor, 1, "the guest's connection is waited for");
      const [{ two }] = await sql<{ two: number }[]>`select 2 as two`;
      assert.equal(two, 2, "the guest still works while the owner closes");
      await sql.end({ timeout: 5 });
      await closing;
    } finally {
      await sql.end({ timeout: 5 });
      await guest.close();
      await owner.close({ force: true });
    }
  }));

Deno.test("embedded: rows leased by a killed owner's worker are handed back by the next opener", () =>
  withTempDir(async (dir) => {
    const setup = await openEmbeddedDatabase(dir);
    const setupSql = connect(setup.url);
    try {
      await setupSql`insert into public.music_knowledge (topic, category, suggestion) values
        ('leased_one', 'mixing', 'a row a killed worker holds'),
        ('leased_two', 'mixing', 'another row a killed worker holds')`;
    } finally {
      await setupSql.end({ timeout: 5 });
      await setup.close();
    }
    // A process that opens the database, claims the rows (a lease of an hour) and is killed.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import postgres from "postgres";
         import { openEmbeddedDatabase } from "./tools/embedded/embedded_database.ts";
         const database = await openEmbeddedDatabase(${JSON.stringify(dir)});
         const sql = postgres(database.url, { max: 1, onnotice: () => {} });
         const rows = await sql.begin(async (tx) => {
           await tx\`set local role service_role\`;
           return await tx\`select * from embeddings.claim_batch(1, 10, 3600)\`;
         });
         console.log("claimed " + rows.length);
         await new Promise(() => setInterval(() => {}, 1000));`,
      ],
      cwd: projectRoot,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let output = "";
    while (!output.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      output += value;
    }
    child.kill("SIGKILL");
    await child.status;
    // Cancelling through the reader closes the whole pipe, the child's stdout with it: stdout
    // itself stays locked by pipeThrough until the pipe has ended, which races the kill.
    await reader.cancel();
    assert.match(output, /^claimed 2/);

    const reopened = await openEmbeddedDatabase(dir);
    const sql = connect(reopened.url);
    try {
      const recovered = reopened.notes.find((note) => note.kind === "recovered");
      assert.match(recovered?.text ?? "", /handed back the 2 rows its workers held/);
      const [{ leased, queued }] = await sql<{ leased: number; queued: number }[]>`
        select count(*) filter (where lease_token is not null)::int as leased,
               count(*)::int as queued
        from embeddings.queue where target_id = 1`;
      assert.equal(leased, 0);
      assert.equal(queued, 2);
      const [{ attempts }] = await sql<{ attempts: number }[]>`
        select coalesce(max(attempts), 0)::int as attempts from embeddings.queue`;
      assert.equal(attempts, 0, "handed back untried: no attempt counted");
    } finally {
      await sql.end({ timeout: 5 });
      await reopened.close();
    }
  }));

Deno.test("embedded: the wire server keeps clients' extended-protocol queries and transactions apart", async () => {
  const db = await createPglite("memory://");
  await db.exec(`create table counter (n integer); insert into counter values (0);
    create table items (id integer primary key, label text);
    insert into items select i, 'item ' || i from generate_series(1, 200) as i;`);
  const server = WireServer.start(db);
  const url = `postgresql://postgres:postgres@127.0.0.1:${server.port}/postgres`;
  const clients = Array.from({ length: 6 }, () => connect(url, 2));
  try {
    let wrong = 0;
    await Promise.all(clients.map(async (sql, client) => {
      for (let round = 0; round < 60; round++) {
        const id = 1 + ((round * 7 + client * 13) % 200);
        if (client % 3 === 0) {
          const [row] = await sql<{ label: string }[]>`select label from items where id = ${id}`;
          if (row?.label !== `item ${id}`) wrong++;
        } else if (client % 3 === 1) {
          const [row] = await sql<{ next: number }[]>`select ${id}::int + 1 as next`;
          if (row?.next !== id + 1) wrong++;
        } else {
          await sql.begin(async (tx) => {
            const [{ n }] = await tx<{ n: number }[]>`select n from counter`;
            await tx`update counter set n = ${n + 1}`;
          });
        }
      }
    }));
    assert.equal(wrong, 0, "every client got its own rows");
    const [{ n }] = await clients[0]<{ n: number }[]>`select n from counter`;
    assert.equal(n, 2 * 60, "no transaction interleaved with another");
  } finally {
    await Promise.all(clients.map((sql) => sql.end({ timeout: 5 })));
    await server.stop();
    await db.close();
  }
});

Deno.test("embedded: a client that leaves mid-transaction leaves the session usable", async () => {
  const db = await createPglite("memory://");
  await db.exec("create table marks (n integer)");
  const server = WireServer.start(db);
  const url = `postgresql://postgres:postgres@127.0.0.1:${server.port}/postgres`;
  try {
    const leaving = connect(url);
    // Open a transaction and walk away without committing: close the socket under postgres.js.
    const started = leaving.begin(async (tx) => {
      await tx`insert into marks values (1)`;
      await new Promise(() => {});
    }).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    await leaving.end({ timeout: 0 });
    await started;
    const after = connect(url);
    try {
      const [{ count }] = await after<
        { count: number }[]
      >`select count(*)::int as count from marks`;
      assert.equal(count, 0, "the abandoned transaction was rolled back");
    } finally {
      await after.end({ timeout: 5 });
    }
  } finally {
    await server.stop();
    await db.close();
  }
});
