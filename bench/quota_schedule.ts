// Benchmark (issue 21): the scheduled dispatch at its defaults (cron -> pg_net -> the real embed function, with its follow-ons) against the quota-limited OpenAI-compatible server, as a ratio of the quota.
//
// usage: deno run -A bench/quota_schedule.ts [--quick] [--db-url URL]
// Needs the local stack (deno task stack:start): its pg_net stand-in sends the requests to an embed
// function this process starts with EMBEDDING_PROVIDER=openai pointed at bench/quota_openai_server.ts.
// The bench runs the job's command once, as the first cron tick would; the rest is the follow-ons
// (and pg_cron's own ticks, if they come). Nothing here is a test.
import postgres from "postgres";
import { startFunction } from "../tests/fixtures/function_process.ts";
import { dropMeasurementTable } from "../tools/cli/measurement_target.ts";
import { rowsPerSecond } from "./bench_figures.ts";
import { type BenchContext, type BenchSection, runStandalone } from "./bench_section.ts";
import { benchDimensions, createBenchTarget } from "./bench_table.ts";
import { rowsWithVectors } from "./cli_runs.ts";
import { startQuotaServer } from "./quota_openai_server.ts";
import {
  type DispatcherChanges,
  pointDispatcherAt,
  restoreDispatcher,
  saveIdleDispatcher,
} from "./scheduler_dispatch_settings.ts";

const table = "bench_quota_schedule_rows";
const model = "text-embedding-3-small";
/** As bench/quota.ts: rows of 150 characters, 50 tokens at the engine's 3 characters a token. */
const rowCharacters = 150;
const quota = { latencyMs: 300, tokensPerMinute: 600_000, burstSeconds: 5 };
/** A drain that takes longer than this is stuck, not slow. */
const drainLimitMs = 10 * 60_000;

interface DrainRun {
  rows: number;
  seconds: number;
  quotaRowsPerSecond: number;
  dispatches: number;
  outcomes: Record<string, number>;
  mostInFlight: number;
  calls: number;
  rateLimited: number;
  written: number;
}

/** The throwaway target, every row queued, its text made 150 characters long. */
async function createBacklog(admin: postgres.Sql, rows: number): Promise<number> {
  const id = await createBenchTarget(admin, rows, false, { table, model });
  await admin.unsafe(`
    update public.${table}
    set body = rpad(body || ': ', ${rowCharacters}, ' a calm idea about chords, drums and tempo')`);
  return id;
}

/** Polls until every row has a vector and nothing sent since `afterId` is in flight. */
async function drain(
  admin: postgres.Sql,
  rows: number,
  afterId: number,
): Promise<{ seconds: number; mostInFlight: number }> {
  const started = performance.now();
  let mostInFlight = 0;
  let drainedAt: number | null = null;
  while (true) {
    await admin`select embeddings.collect_dispatch_outcomes()`;
    const [{ inFlight }] = await admin<{ inFlight: number }[]>`
      select count(*)::int as "inFlight" from embeddings.dispatches
      where id > ${afterId} and outcome = 'in flight'`;
    mostInFlight = Math.max(mostInFlight, inFlight);
    if (drainedAt === null && await rowsWithVectors(admin, table) === rows) {
      drainedAt = performance.now();
    }
    if (drainedAt !== null && inFlight === 0) {
      return { seconds: (drainedAt - started) / 1000, mostInFlight };
    }
    if (performance.now() - started > drainLimitMs) {
      throw new Error(
        `quota_schedule: ${await rowsWithVectors(admin, table)} of ${rows} rows written after ${
          drainLimitMs / 1000
        } s, ${inFlight} dispatches in flight`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** One drain of `rows` queued rows through the scheduled dispatch at its defaults. */
async function measure(admin: postgres.Sql, rows: number): Promise<DrainRun> {
  const saved = await saveIdleDispatcher(admin);
  const changes: DispatcherChanges = { secretId: null, settingsChanged: false };
  const requestIds = new Set<string>();
  const server = startQuotaServer(quota);
  const fn = await startFunction("embed", {
    EMBEDDING_PROVIDER: "openai",
    OPENAI_BASE_URL: server.baseUrl,
    OPENAI_EMBEDDING_MODEL: model,
    OPENAI_EMBEDDING_DIMENSIONS: String(benchDimensions),
  });
  try {
    const targetId = await createBacklog(admin, rows);
    const [{ tokens }] = await admin<{ tokens: number }[]>`
      select estimated_tokens::int as tokens from embeddings.estimate_backfill(${targetId})`;
    await pointDispatcherAt(admin, fn.url.replace(/\/$/, ""), changes);
    // Enabled at the defaults: follow-ons are sent only while the dispatch is on.
    await admin`update embeddings.dispatch_settings set enabled = true`;
    const [{ id: afterId }] = await admin<{ id: number }[]>`
      select coalesce(max(id), 0)::int as id from embeddings.dispatches`;
    await admin`select * from embeddings.dispatch_embed_requests()`;
    const { seconds, mostInFlight } = await drain(admin, rows, afterId);
    const dispatches = await admin<{ requestId: string | null; outcome: string }[]>`
      select request_id::text as "requestId",
             outcome || coalesce(' ' || status_code, '') as outcome
      from embeddings.dispatches
      where id > ${afterId} order by id`;
    const outcomes: Record<string, number> = {};
    for (const dispatch of dispatches) {
      if (dispatch.requestId !== null) requestIds.add(dispatch.requestId);
      outcomes[dispatch.outcome] = (outcomes[dispatch.outcome] ?? 0) + 1;
    }
    return {
      rows,
      seconds,
      quotaRowsPerSecond: quota.tokensPerMinute / 60 / (tokens / rows),
      dispatches: dispatches.length,
      outcomes,
      mostInFlight,
      calls: server.counts.calls,
      rateLimited: server.counts.rateLimited,
      written: await rowsWithVectors(admin, table),
    };
  } finally {
    await restoreDispatcher(admin, saved, changes, requestIds);
    await fn.stop();
    await server.close();
  }
}

export async function quotaScheduleBench(context: BenchContext): Promise<BenchSection> {
  const rows = context.size === "quick" ? 1_200 : 6_000;
  const admin = postgres(context.databaseUrl, { max: 1, onnotice: () => {} });
  let run: DrainRun;
  try {
    run = await measure(admin, rows);
  } finally {
    await dropMeasurementTable(admin, table).catch(() => {});
    await admin.end({ timeout: 5 });
  }
  const rate = run.rows / run.seconds;
  const ratio = rate / run.quotaRowsPerSecond;
  const outcomes = Object.entries(run.outcomes).map(([outcome, n]) => `${n} ${outcome}`).join(
    ", ",
  );
  return {
    title: "The schedule at the provider's quota",
    method:
      `The scheduled dispatch at its defaults (max_rows 1,000, max_parallel 4, batch_size 50, time budget 50 s) drains ${
        rows.toLocaleString("en-US")
      } queued rows of ${rowCharacters} characters through the local stack's pg_net stand-in and the real embed function (EMBEDDING_PROVIDER=openai) against bench/quota_openai_server.ts: ${quota.latencyMs} ms a call, ${
        quota.tokensPerMinute.toLocaleString("en-US")
      } tokens a minute with ${quota.burstSeconds} s of burst. The job's command runs once, as the first tick; every later invocation is a follow-on (an invocation that stopped at max_rows or its time budget with rows left) or a pg_cron tick. The rate is the rows over the time from that first tick to the last row's vector, read back from the table; the quota is ${
        run.quotaRowsPerSecond.toFixed(0)
      } rows/s (tokens a minute / 60 / estimated tokens a row).`,
    command: "deno task bench --only quota_schedule",
    table: {
      header: [
        "path",
        "rows",
        "rows/s",
        "of the quota",
        "invocations",
        "most in flight",
        "calls",
        "429s",
        "every row written",
      ],
      rows: [[
        "scheduled dispatch, defaults",
        run.rows.toLocaleString("en-US"),
        rowsPerSecond(rate),
        ratio.toFixed(2),
        `${run.dispatches} (${outcomes})`,
        String(run.mostInFlight),
        run.calls.toLocaleString("en-US"),
        run.rateLimited.toLocaleString("en-US"),
        run.written === run.rows ? "yes" : "**no**",
      ]],
    },
    notes:
      `The server's buckets start full, as a hosted quota after a quiet while: its ${quota.burstSeconds} s of burst are worth ${
        (quota.burstSeconds * run.quotaRowsPerSecond).toLocaleString("en-US")
      } rows, so a drain this short can average above the quota. An invocation answered 503 (the provider still rate limiting when its run stopped) is failed and not followed on; the others' follow-ons and the next tick take its rows.`,
    goals: [{
      goal: "scheduled dispatch, defaults: at least 0.8 of the quota",
      measured: ratio.toFixed(2),
      met: ratio >= 0.8,
    }],
  };
}

if (import.meta.main) await runStandalone(quotaScheduleBench);
