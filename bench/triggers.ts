// Benchmark: what registering a table costs the app's own statements (INSERT, UPDATE of other columns, UPDATE of the embedded text, DELETE), as a ratio to the same statement on an unregistered copy, at 10x and 100x the rows, with a backlog of another target queued and analysed.
//
// usage: deno run -A bench/triggers.ts [--quick] [--db-url URL]
// Four identical tables side by side in one run: not registered, registered with a `begin atomic`
// content function (PostgreSQL records the columns it reads), with a string-bodied one (the engine
// probes the columns it reads), and with a PL/pgSQL body of several steps, which nothing can read
// (the trigger calls it on both versions of every updated row). Nothing here is a test.
import type postgres from "postgres";
import { connectDatabase } from "../supabase/functions/_shared/database.ts";
import {
  type BenchContext,
  type BenchGoal,
  type BenchSection,
  runStandalone,
} from "./bench_section.ts";
import { median } from "./bench_figures.ts";
import { dropMeasurementTable, measurementTableComment } from "../tools/cli/measurement_target.ts";

/** The four copies: not registered, and registered with each kind of content function. */
const copies = {
  plain: "bench_triggers_plain",
  atomic: "bench_triggers_atomic",
  string: "bench_triggers_string",
  opaque: "bench_triggers_opaque",
} as const;
type Copy = keyof typeof copies;
/** Each registered copy's content function, all returning the row's body. */
const contentBodies: Record<Exclude<Copy, "plain">, string> = {
  atomic: "language sql immutable set search_path = '' begin atomic select r.body; end",
  string: "language sql immutable set search_path = '' as $$ select r.body $$",
  opaque:
    "language plpgsql immutable set search_path = '' as $$ declare body text := r.body; begin return body; end $$",
};
const backlogTable = "bench_triggers_backlog";
const backlogRows = 30_000;

/** The app's statements, each run on every copy in turn; `%` is the table. */
const statements = [
  {
    name: "INSERT",
    goal: 3,
    sql: (rows: number) =>
      `insert into public.% (id, body) select g, 'text ' || g from generate_series(1, ${rows}) as g`,
  },
  { name: "UPDATE of another column", goal: 2, sql: () => "update public.% set n = n + 1" },
  {
    name: "UPDATE of the embedded text",
    goal: 3,
    sql: () => "update public.% set body = body || '!'",
  },
  { name: "DELETE", goal: 2, sql: () => "delete from public.%" },
] as const;

async function createCopy(admin: postgres.Sql, table: string, body: Exclude<Copy, "plain"> | null) {
  await dropMeasurementTable(admin, table);
  await admin.unsafe(`
    create table public.${table} (id bigint primary key, body text not null,
      n integer not null default 0, embedding extensions.vector(384));
    comment on table public.${table} is '${measurementTableComment}';
    alter table public.${table} enable row level security;`);
  if (body === null) return;
  await admin.unsafe(
    `create function public.${table}_content(r public.${table}) returns text ${
      contentBodies[body]
    }`,
  );
  await admin`select embeddings.register_target(${`public.${table}`}, 'id',
    ${`public.${table}_content(public.${table})`}, 'embedding', 'bench-triggers', 384)`;
}

/** Another target's backlog, queued (its key sets moved in, as a claim does) and analysed, as in any busy project. */
async function createBacklog(admin: postgres.Sql): Promise<void> {
  await createCopy(admin, backlogTable, "string");
  await admin.unsafe(
    `insert into public.${backlogTable} (id, body)
       select g, 'backlog ' || g from generate_series(1, ${backlogRows}) as g;
     ${movesOf(backlogTable)};
     analyze embeddings.queue; analyze embeddings.embedded_rows;`,
  );
}

/** Moves a copy's queued key sets into the queue, as the next claims would. */
const movesOf = (table: string) =>
  `select embeddings._move_queued_key_sets(t) from embeddings.targets as t where t.name = '${table}'`;

async function timed(admin: postgres.Sql, statement: string): Promise<number> {
  const started = performance.now();
  await admin.unsafe(statement);
  return performance.now() - started;
}

/** Milliseconds of each statement on each copy at one size: copies interleaved, statement by statement. */
async function measureSize(
  admin: postgres.Sql,
  rows: number,
  rounds: number,
): Promise<{ measured: Record<string, Record<Copy, number>>; move: number; sweep: number }> {
  const samples: Record<string, Record<Copy, number[]>> = {};
  const moves: number[] = [];
  const sweeps: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const copy of Object.keys(copies) as Copy[]) {
      await createCopy(admin, copies[copy], copy === "plain" ? null : copy);
    }
    // The previous round's entries, dropped with its copies, are dead tuples in the queue until a
    // vacuum: autovacuum's business in a real project, not a price of the next round's statements.
    await admin.unsafe("vacuum analyze embeddings.queue, embeddings.embedded_rows");
    for (const statement of statements) {
      const perCopy = samples[statement.name] ??= { plain: [], atomic: [], string: [], opaque: [] };
      for (const copy of Object.keys(copies) as Copy[]) {
        perCopy[copy].push(await timed(admin, statement.sql(rows).replace("%", copies[copy])));
      }
      if (statement.name === "UPDATE of the embedded text") {
        // What the INSERT and this UPDATE left for later: their key sets, moved into the queue (by
        // the claims, a set each), here all at once.
        moves.push(await timed(admin, movesOf(copies.atomic)));
      }
    }
    // What the DELETE left for later: the sweep a claim, the dispatch or verify runs.
    sweeps.push(
      await timed(
        admin,
        `select embeddings._sweep_deleted_rows(t.id) from embeddings.targets as t where t.name = '${copies.atomic}'`,
      ),
    );
  }
  const measured = Object.fromEntries(
    Object.entries(samples).map(([name, perCopy]) => [name, {
      plain: median(perCopy.plain),
      atomic: median(perCopy.atomic),
      string: median(perCopy.string),
      opaque: median(perCopy.opaque),
    }]),
  );
  return { measured, move: median(moves), sweep: median(sweeps) };
}

const milliseconds = (value: number) => `${Math.round(value).toLocaleString("en-US")} ms`;
const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}x`;

export async function triggers(context: BenchContext): Promise<BenchSection> {
  const sizes = context.size === "quick" ? [1_000, 10_000] : [10_000, 100_000, 1_000_000];
  const admin = connectDatabase(context.databaseUrl);
  const rowsTable: string[][] = [];
  /** Per statement, the ratios of the copies whose content columns the engine reads. */
  const ratios: Record<string, { atomic: number[]; string: number[] }> = {};
  const sweeps: string[] = [];
  const moves: string[] = [];
  try {
    await createBacklog(admin);
    for (const rows of sizes) {
      const { measured, move, sweep } = await measureSize(admin, rows, 3);
      moves.push(`${milliseconds(move)} after ${rows.toLocaleString("en-US")} rows`);
      sweeps.push(`${milliseconds(sweep)} after ${rows.toLocaleString("en-US")} rows`);
      for (const statement of statements) {
        const { plain, atomic, string, opaque } = measured[statement.name];
        const statementRatios = ratios[statement.name] ??= { atomic: [], string: [] };
        statementRatios.atomic.push(atomic / plain);
        statementRatios.string.push(string / plain);
        rowsTable.push([
          rows.toLocaleString("en-US"),
          statement.name,
          milliseconds(plain),
          `${milliseconds(atomic)} (${ratio(atomic, plain)})`,
          `${milliseconds(string)} (${ratio(string, plain)})`,
          `${milliseconds(opaque)} (${ratio(opaque, plain)})`,
        ]);
      }
    }
  } finally {
    for (const table of [...Object.values(copies), backlogTable]) {
      await dropMeasurementTable(admin, table);
    }
    await admin.end({ timeout: 5 });
  }
  const sizesText = sizes.map((rows) => rows.toLocaleString("en-US")).join(" → ");
  const series = (measured: number[]) => measured.map((r) => `${r.toFixed(2)}x`).join(" → ");
  const goals: BenchGoal[] = statements.map((statement) => {
    const { atomic, string } = ratios[statement.name];
    const holds = (measured: number[]) =>
      measured.every((r) => r <= statement.goal) &&
      measured[measured.length - 1] / measured[0] <= 1.5;
    return {
      goal:
        `${statement.name} on a registered table at most ${statement.goal}x, not growing with rows`,
      measured: `begin atomic ${series(atomic)}, string body ${series(string)} (${sizesText} rows)`,
      met: holds(atomic) && holds(string),
    };
  });
  return {
    title: "Triggers: the price of registration for the app's own statements",
    method:
      `Four identical tables (id bigint primary key, body text, n integer, an empty vector(384)) side by side: not registered; registered with a \`begin atomic\` content function; with a string-bodied SQL one; with a PL/pgSQL one of several steps. Each statement runs on the four in turn, on fresh tables, median of 3 rounds, with ${
        backlogRows.toLocaleString("en-US")
      } rows of another target queued, and the queue vacuumed and analysed before each round (the previous round's copies leave dead entries behind). Times are the client's, statement by statement; the ratio is to the unregistered copy.`,
    command: `deno run -A bench/triggers.ts${context.size === "quick" ? " --quick" : ""}`,
    table: {
      header: [
        "rows",
        "statement",
        "not registered",
        "begin atomic",
        "string body",
        "several steps",
      ],
      rows: rowsTable,
    },
    goals,
    notes:
      `The UPDATE trigger compares the columns a content function reads instead of calling it on the old and new version of every row: PostgreSQL records them for a \`begin atomic\` body (pg_depend), and the engine reads them from a \`begin atomic\` copy of a string body (SQL, or PL/pgSQL that is one \`return\`), made at registration and whenever the function is replaced. A body of several steps cannot be read: the last column is its price. A statement of 1,000 rows or more that queues rows (the INSERT, the UPDATE of the embedded text) notes their keys in one row of embeddings.queued_key_sets, which the next claims move into the queue, 10,000 keys a claim; the DELETE trigger only notes a sweep, which removes the deleted rows' books later (docs/design.md). So these rows measure the app's statement; the work left for later, run apart on the \`begin atomic\` copy: moving the keys the INSERT and the UPDATE noted into the queue (here all at once; the first claim to take a statement's keys cuts them into sets of 10,000 and moves one), ${
        moves.join(", ")
      }; the sweep that followed the DELETE on the \`begin atomic\` copy, run apart (about once a minute by a claim or the dispatch, or by verify): ${
        sweeps.join(", ")
      }.`,
  };
}

if (import.meta.main) await runStandalone(triggers);
