// The sync triggers' statements never plan a nested loop over a transition table: read from their EXPLAIN (auto_explain), in a database with a backlog queued and its statistics analysed.
import assert from "node:assert/strict";
import postgres from "postgres";
import { databaseUrl, withDatabase } from "./test_support.ts";

/** One node of an EXPLAIN (FORMAT JSON) plan. */
interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  Plans?: PlanNode[];
}

/** A statement auto_explain logged: its text and its plan. */
interface LoggedPlan {
  query: string;
  plan: PlanNode;
}

const rows = 3000;
const backlogRows = 5000;

function containsTransitionTable(node: PlanNode): boolean {
  return node["Node Type"] === "Named Tuplestore Scan" ||
    (node.Plans ?? []).some(containsTransitionTable);
}

/** The nested loops of a plan with a transition table below them (rows squared at worst). */
function nestedLoopsOverTransitionTables(node: PlanNode): PlanNode[] {
  const here = node["Node Type"] === "Nested Loop" && containsTransitionTable(node) ? [node] : [];
  return [...here, ...(node.Plans ?? []).flatMap(nestedLoopsOverTransitionTables)];
}

/** auto_explain's JSON plans, from the LOG notices of one session. */
function parseLoggedPlan(message: string): LoggedPlan | null {
  const start = message.indexOf("{");
  if (!message.startsWith("duration:") || start < 0) return null;
  const logged = JSON.parse(message.slice(start)) as { "Query Text": string; Plan: PlanNode };
  return { query: logged["Query Text"], plan: logged.Plan };
}

async function createProbeTables(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    create table public.trigger_plan_probe (
      id bigint primary key, body text not null, n integer not null default 0,
      embedding extensions.vector(3));
    create table public.trigger_plan_backlog (like public.trigger_plan_probe including all);
    -- One content function whose columns PostgreSQL records (begin atomic), one it cannot.
    create function public.trigger_plan_probe_content(probe public.trigger_plan_probe)
      returns text language sql immutable set search_path = '' begin atomic select probe.body; end;
    create function public.trigger_plan_backlog_content(backlog public.trigger_plan_backlog)
      returns text language sql immutable set search_path = '' as $$ select backlog.body $$;
    select embeddings.register_target('public.trigger_plan_probe', 'id',
      'public.trigger_plan_probe_content(public.trigger_plan_probe)', 'embedding', 'probe-model', 3);
    select embeddings.register_target('public.trigger_plan_backlog', 'id',
      'public.trigger_plan_backlog_content(public.trigger_plan_backlog)', 'embedding', 'probe-model', 3);
    insert into public.trigger_plan_backlog (id, body)
      select g, 'backlog ' || g from generate_series(1, ${backlogRows}) as g;
    -- Its keys were noted in sets (a bulk INSERT): moved into the queue, as a claim does.
    select embeddings._move_queued_key_sets(t) from embeddings.targets as t
      where t.name = 'trigger_plan_backlog';
    analyze embeddings.queue;
    analyze embeddings.embedded_rows;
  `);
}

async function dropProbeTables(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    select embeddings.unregister_target(t.id) from embeddings.targets as t
      where t.name in ('trigger_plan_probe', 'trigger_plan_backlog');
    drop table if exists public.trigger_plan_probe, public.trigger_plan_backlog cascade;
  `);
}

/** Runs the statements on one connection with auto_explain on, and returns every plan it logged. */
async function plansOf(statements: string[]): Promise<LoggedPlan[]> {
  const plans: LoggedPlan[] = [];
  const session = postgres(databaseUrl, {
    max: 1,
    onnotice: (notice) => {
      const plan = parseLoggedPlan(String(notice.message ?? ""));
      if (plan) plans.push(plan);
    },
  });
  try {
    await session.begin(async (transaction) => {
      await transaction.unsafe(`
        load 'auto_explain';
        set local auto_explain.log_min_duration = 0;
        set local auto_explain.log_nested_statements = on;
        set local auto_explain.log_format = json;
        set local client_min_messages = log;`);
      for (const statement of statements) await transaction.unsafe(statement);
    });
  } finally {
    await session.end({ timeout: 5 });
  }
  return plans;
}

/** The app's statements on a registered table: bulk insert, updates of each kind, delete. */
const appStatements = [
  `insert into public.trigger_plan_probe (id, body) select g, 'text ' || g from generate_series(1, ${rows}) as g`,
  "update public.trigger_plan_probe set n = n + 1",
  "update public.trigger_plan_probe set body = body || '!'",
  "update public.trigger_plan_backlog set body = body || '?' where id <= 2000",
  "update public.trigger_plan_probe set id = id + 1000000 where id % 2 = 0",
  // Keys used again before the sweep, fewer than 1,000: the INSERT trigger's general path (sorted,
  // the books of the deleted rows forgotten first) instead of noting the keys in a set.
  "delete from public.trigger_plan_probe where id <= 999",
  `insert into public.trigger_plan_probe (id, body) select g, 'again ' || g from generate_series(1, 999) as g`,
  "delete from public.trigger_plan_probe",
];
/** The DELETE trigger reads no transition table: it only notes a sweep. */
const statementsOverTransitionTables = appStatements.filter((s) => !s.startsWith("delete")).length;

Deno.test("no sync trigger statement plans a nested loop over a transition table, with a backlog analysed", async () => {
  await withDatabase(async (sql) => {
    await dropProbeTables(sql);
    await createProbeTables(sql);
    try {
      const plans = await plansOf(appStatements);
      const overTransitionTables = plans.filter((p) => containsTransitionTable(p.plan));
      // The triggers' own statements were seen: without them this test could not fail.
      assert.ok(
        overTransitionTables.length >= statementsOverTransitionTables,
        `saw ${overTransitionTables.length} plans over transition tables`,
      );
      // And the INSERT trigger's general path (keys used again), not only its plain INSERT.
      assert.ok(
        overTransitionTables.some((p) =>
          p.query.includes("array_agg") && p.query.includes("new_rows") &&
          !p.query.includes("old_rows")
        ),
        "the INSERT trigger's general path was not planned",
      );
      const quadratic = overTransitionTables.filter((p) =>
        nestedLoopsOverTransitionTables(p.plan).length > 0
      );
      assert.deepEqual(quadratic.map((p) => p.query.trim().slice(0, 300)), []);
    } finally {
      await dropProbeTables(sql);
    }
  });
});

Deno.test("the plan reader flags a nested loop over a transition table", async () => {
  await withDatabase(async (sql) => {
    await dropProbeTables(sql);
    await createProbeTables(sql);
    try {
      // A trigger of the old shape (an anti join of old and new rows), forced to a nested loop.
      await sql.unsafe(`
        create function public.trigger_plan_anti_join() returns trigger language plpgsql
        set enable_hashjoin = off set enable_mergejoin = off set search_path = '' as $$
        begin
          perform count(*) from old_rows as o where not exists (select 1 from new_rows as n where n.id = o.id);
          return null;
        end $$;
        create trigger trigger_plan_anti_join after update on public.trigger_plan_probe
          referencing old table as old_rows new table as new_rows
          for each statement execute function public.trigger_plan_anti_join();`);
      const plans = await plansOf([appStatements[0], appStatements[1]]);
      assert.ok(plans.some((p) => nestedLoopsOverTransitionTables(p.plan).length > 0));
    } finally {
      await sql.unsafe("drop function if exists public.trigger_plan_anti_join() cascade");
      await dropProbeTables(sql);
    }
  });
});
