// Benchmark (issue 21): `cli backfill` against a quota-limited OpenAI-compatible server (300 ms a call, 600,000 tokens a minute, 5 s of burst), each figure as a ratio of the quota: the baseline the provider pacing work improves.
//
// usage: deno run -A bench/quota.ts [--quick] [--db-url URL]
// The server is bench/quota_openai_server.ts, in this process; the CLI runs as a child with
// EMBEDDING_PROVIDER=openai pointed at it. Each run gets a fresh table and a fresh server (its
// buckets full, as a hosted quota after a quiet while). Nothing here is a test.
import postgres from "postgres";
import { dropMeasurementTable, measurementTableComment } from "../tools/cli/measurement_target.ts";
import { runCli } from "../tools/cli/run_cli.ts";
import { type BenchContext, type BenchSection, runStandalone } from "./bench_section.ts";
import { rowsPerSecond } from "./bench_figures.ts";
import { backfillArgs, backfillCommand, rowsWithVectors } from "./cli_runs.ts";
import { type QuotaSettings, startQuotaServer } from "./quota_openai_server.ts";

const table = "bench_quota_rows";
const model = "text-embedding-3-small";
const dimensions = 384;
/** Each row's text: 150 characters, 50 tokens at the engine's 3 characters a token. */
const rowCharacters = 150;
const quota = {
  latencyMs: 300,
  tokensPerMinute: 600_000,
  burstSeconds: 5,
} satisfies Partial<QuotaSettings>;

/** A fresh table of `rows` rows of 150 varied characters, registered with the server's model. */
async function createQuotaTable(sql: postgres.Sql, rows: number): Promise<number> {
  await dropMeasurementTable(sql, table);
  await sql.unsafe(`
    create table public.${table} (id bigint primary key, body text not null,
      embedding extensions.vector(${dimensions}));
    create function public.${table}_content(entry public.${table}) returns text
      language sql immutable set search_path = '' as $$ select entry.body $$;
    insert into public.${table} (id, body)
      select i, left(repeat(format('note %s: a %s idea about %s, then more. ', i,
        (array['bright','dark','calm','driving'])[1 + i % 4],
        (array['chords','drums','melody','mixing','tempo'])[1 + i % 5]), 8), ${rowCharacters})
      from generate_series(1, ${rows}) as i;
    comment on table public.${table} is '${measurementTableComment}';
    alter table public.${table} enable row level security;`);
  const [{ id }] = await sql<{ id: number }[]>`
    select embeddings.register_target(${`public.${table}`}::regclass, 'id',
      ${`public.${table}_content(public.${table})`}::regprocedure, 'embedding', ${model},
      ${dimensions})::int as id`;
  return id;
}

interface QuotaRun {
  flags: string[];
  rowsPerSecond: number;
  exitCode: number;
  calls: number;
  rateLimited: number;
  released: number;
  /** Tokens the server answered, over the estimate: above 1 when rows were sent twice. */
  tokensOverEstimate: number;
  allWritten: boolean;
}

/** What embeddings.verify finds wrong with the target (0: every row holds its current vector). */
async function verifyProblems(sql: postgres.Sql, targetId: number): Promise<number> {
  const [{ problems }] = await sql<{ problems: number }[]>`
    select coalesce(sum(v.row_count), 0)::int as problems from embeddings.verify(${targetId}) as v`;
  return problems;
}

/** One backfill with `flags` against a fresh server and table. */
async function measure(
  sql: postgres.Sql,
  databaseUrl: string,
  rows: number,
  flags: string[],
): Promise<QuotaRun> {
  const targetId = await createQuotaTable(sql, rows);
  const [{ tokens }] = await sql<{ tokens: number }[]>`
    select estimated_tokens::int as tokens from embeddings.estimate_backfill(${targetId})`;
  const server = startQuotaServer(quota);
  try {
    const run = await runCli(backfillArgs(table, databaseUrl, flags), {
      EMBEDDING_PROVIDER: "openai",
      OPENAI_BASE_URL: server.baseUrl,
      OPENAI_EMBEDDING_MODEL: model,
      OPENAI_EMBEDDING_DIMENSIONS: String(dimensions),
    });
    let outcome: { rowsPerSecond: number; released: number };
    try {
      outcome = JSON.parse(run.stdout) as typeof outcome;
    } catch {
      throw new Error(`backfill printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
    }
    const stored = await rowsWithVectors(sql, table);
    return {
      flags,
      rowsPerSecond: outcome.rowsPerSecond,
      exitCode: run.code,
      calls: server.counts.calls,
      rateLimited: server.counts.rateLimited,
      released: outcome.released,
      tokensOverEstimate: server.counts.tokens / tokens,
      allWritten: stored === rows && await verifyProblems(sql, targetId) === 0,
    };
  } finally {
    await server.close();
  }
}

function tableRow(run: QuotaRun, quotaRowsPerSecond: number): string[] {
  return [
    `\`cli backfill${run.flags.length ? ` ${run.flags.join(" ")}` : ""}\``,
    rowsPerSecond(run.rowsPerSecond),
    (run.rowsPerSecond / quotaRowsPerSecond).toFixed(2),
    run.calls.toLocaleString("en-US"),
    `${run.rateLimited.toLocaleString("en-US")} (${
      (100 * run.rateLimited / Math.max(1, run.calls)).toFixed(0)
    }%)`,
    run.released.toLocaleString("en-US"),
    run.tokensOverEstimate.toFixed(2),
    String(run.exitCode),
    run.allWritten ? "yes" : "**no**",
  ];
}

export async function quotaBench(context: BenchContext): Promise<BenchSection> {
  const rows = context.size === "quick" ? 1_200 : 12_000;
  const tokensPerRow = Math.ceil(rowCharacters / 3);
  const quotaRowsPerSecond = quota.tokensPerMinute / 60 / tokensPerRow;
  const sql = postgres(context.databaseUrl, { max: 1, onnotice: () => {} });
  const runs: QuotaRun[] = [];
  try {
    for (const flags of [[], ["--concurrency", "4"]]) {
      runs.push(await measure(sql, context.databaseUrl, rows, flags));
    }
  } finally {
    await dropMeasurementTable(sql, table).catch(() => {});
    await sql.end({ timeout: 5 });
  }
  const [single, four] = runs;
  const singleRatio = single.rowsPerSecond / quotaRowsPerSecond;
  const singleLimited = single.rateLimited / Math.max(1, single.calls);
  return {
    title: "At the provider's quota",
    method:
      `\`cli backfill\` (defaults: one worker, up to 8 calls in flight, 50 rows a batch) and \`--concurrency 4\` over ${
        rows.toLocaleString("en-US")
      } rows of ${rowCharacters} characters (${tokensPerRow} tokens at 3 characters a token, as \`embeddings.estimate_backfill\` counts them), with the \`openai\` provider against bench/quota_openai_server.ts: ${quota.latencyMs} ms a call, ${
        quota.tokensPerMinute.toLocaleString("en-US")
      } tokens a minute with ${quota.burstSeconds} s of burst, 429 with \`retry-after\` and \`x-ratelimit-*\` over quota. The quota is ${quotaRowsPerSecond} rows/s (tokens a minute / 60 / tokens a row). Each run has a fresh table and a fresh server (buckets full). The rate is the command's own; "tokens sent / estimate" above 1 means rows were sent twice; "every row written" counts the vectors and runs \`embeddings.verify\`.`,
    command: `EMBEDDING_PROVIDER=openai OPENAI_BASE_URL=<quota server>/v1 ${
      backfillCommand(table, ["--concurrency", "4"])
    }`,
    table: {
      header: [
        "path",
        "rows/s",
        "of the quota",
        "calls",
        "429s",
        "rows released",
        "tokens sent / estimate",
        "exit",
        "every row written",
      ],
      rows: runs.map((run) => tableRow(run, quotaRowsPerSecond)),
    },
    goals: [
      {
        goal: "`cli backfill` with no flags: at least 0.9 of the quota",
        measured: singleRatio.toFixed(2),
        met: singleRatio >= 0.9,
      },
      {
        goal: "`cli backfill` with no flags: at most 10% of calls answered 429",
        measured: `${(100 * singleLimited).toFixed(0)}%`,
        met: singleLimited <= 0.1,
      },
      {
        goal: "`--concurrency 4`: every row written and exit 0",
        measured: `${four.allWritten ? "all written" : "not all written"}, exit ${four.exitCode}`,
        met: four.allWritten && four.exitCode === 0,
      },
    ],
    notes:
      "`cli backfill` with no flags runs one worker with up to 8 batches in flight for a remote provider, paced by the provider's 429s and `x-ratelimit-*` headers; above 1.0 of the quota is the 5 s burst spent first. `--concurrency 4` is 4 Web Workers, each pacing itself: its 429s are waited out holding the rows (0 released, exit 0). The scheduled dispatch against the same server: the next section (`--only quota_schedule`).",
  };
}

if (import.meta.main) await runStandalone(quotaBench);
