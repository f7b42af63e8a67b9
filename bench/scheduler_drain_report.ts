// The scheduler benchmark's section of BENCHMARKS.md: how both patterns drained, in a table, the goal and the notes.
import type { BenchSection } from "./bench_section.ts";
import { rowsPerSecond } from "./bench_figures.ts";
import { count, type Invocation, seconds } from "./scheduler_clock.ts";
import type { DispatchSettings } from "./scheduler_dispatch_settings.ts";
import { providerBaseMs, providerPerTextMs } from "./scheduler_stand_ins.ts";
import { type DrainResult, guide } from "./scheduler_ticks.ts";

/** Both patterns' drains and what the report says about the run around them. */
export interface DrainComparison {
  table: string;
  rows: number;
  command: string;
  settings: DispatchSettings;
  ourIntervalMs: number;
  /** Claimable rows of the stack's other targets at the start. */
  foreign: number;
  ours: DrainResult & { providerCalls: number };
  guided: DrainResult & { providerCalls: number };
}

export function sentTotal(result: DrainResult): number {
  return result.ticks.reduce((sum, tick) => sum + tick.sent, 0);
}

function invocationSummary(invocations: readonly Invocation[]): string {
  const durations = invocations.map((invocation) => invocation.endedAt - invocation.startedAt);
  const mean = durations.reduce((sum, ms) => sum + ms, 0) / Math.max(1, durations.length);
  const failed = invocations.filter((invocation) => invocation.status !== 200).length;
  const idle = invocations.filter((invocation) => invocation.written === 0).length;
  return `${count(invocations.length)} invocations, ${Math.round(mean)} ms each on average (${
    Math.round(Math.min(...durations))
  }-${
    Math.round(Math.max(...durations))
  } ms), ${failed} not answered 200, ${idle} that wrote nothing`;
}

function drainRow(
  pattern: string,
  schedule: string,
  perInvocation: string,
  perTick: string,
  result: DrainResult,
): string[] {
  return [
    pattern,
    schedule,
    perInvocation,
    perTick,
    count(result.ticks.length),
    count(sentTotal(result)),
    seconds(result.drainedAt),
    seconds(result.realMs),
    rowsPerSecond(result.rows / (result.drainedAt / 1000)),
  ];
}

function drainMethod({ rows, table, settings }: DrainComparison): string {
  return [
    `A backlog of ${count(rows)} queued rows (a throwaway table, \`public.${table}\`, with an`,
    `HNSW index) is drained twice, each time on a fresh table, with the same provider: a`,
    `**synthetic stand-in**, an OpenAI-compatible \`/v1/embeddings\` server in the benchmark's`,
    `process that answers seeded unit vectors after ${providerBaseMs} ms + ${providerPerTextMs} ms`,
    `per text, called through the project's OpenAI-compatible provider client. **Ours**: the`,
    `real \`embeddings.dispatch_embed_requests(force => true)\` at the table defaults of`,
    `\`embeddings.dispatch_settings\` (schedule \`${settings.schedule}\`, batch_size`,
    `${settings.batch_size}, max_rows ${settings.max_rows}, time_budget_ms`,
    `${settings.time_budget_ms}, max_parallel ${settings.max_parallel}), sending its`,
    `invocations with \`net.http_post\`, which the stack's pg_net stand-in sends over HTTP.`,
    `**The guide's pattern**, simulated: every ${guide.intervalSeconds} s, up to`,
    `${guide.maxRequests} requests of at most ${guide.batchSize} rows (batch ${guide.batchSize}),`,
    `as many as the visible backlog fills, with no limit on those in flight, sent the same`,
    `way through \`net.http_post\` and pg_net. Both reach the same function stand-in: the`,
    `embed function's handler in the benchmark's process (body parsed as run options,`,
    `\`runWorker\` with \`PostgresTargetQueue\`, \`httpAnswerFor\`), one warm instance with its`,
    `own connections per concurrent invocation. pg_cron is not used: the benchmark runs each`,
    `tick itself on a **virtual clock** (real time plus skipped idle time): invocations run in`,
    `real time, and once every one sent has its answer recorded by pg_net the clock jumps to`,
    `the next tick instead of sleeping; work still running at a tick's time runs on while`,
    `the tick fires, as under pg_cron. The drain time is the virtual time at which the`,
    `invocation that found the queue empty answered; the real time is what the run took.`,
  ].join(" ");
}

function drainTable(
  { settings, ourIntervalMs, ours, guided }: DrainComparison,
): BenchSection["table"] {
  return {
    header: [
      "pattern",
      "schedule interval",
      "rows per invocation",
      "invocations per tick",
      "ticks",
      "invocations",
      "drain time (virtual)",
      "real time spent",
      "rows/s (virtual)",
    ],
    rows: [
      drainRow(
        "ours: `dispatch_embed_requests` at its defaults",
        `${seconds(ourIntervalMs)} (\`${settings.schedule}\`)`,
        `up to ${count(settings.max_rows)} (max_rows), batches of ${settings.batch_size}`,
        `ceil(claimable / ${count(settings.max_rows)}), at most ${settings.max_parallel} in flight`,
        ours,
      ),
      drainRow(
        "the guide's `process_embeddings(10, 10)` (simulated)",
        `${seconds(guide.intervalSeconds * 1000)} (\`${guide.intervalSeconds} seconds\`)`,
        `up to ${guide.batchSize} (one batch of ${guide.batchSize})`,
        `ceil(min(claimable, ${guide.batchSize * guide.maxRequests}) / ${guide.batchSize}), ` +
          `no limit in flight`,
        guided,
      ),
    ],
  };
}

function drainNotes(comparison: DrainComparison, ratio: number): string {
  const { settings, ourIntervalMs, foreign, ours, guided } = comparison;
  const ourTicks = ours.ticks.map((tick) => `${seconds(tick.at)}: ${tick.reason}`).join("; ");
  const ourProviderCalls = ours.providerCalls;
  const guideProviderCalls = guided.providerCalls;
  return [
    `Ratio (guide's drain time / ours): **${ratio.toFixed(2)}**.`,
    `Ours, tick by tick (the dispatcher's own words): ${ourTicks}.`,
    // The defaults' ceiling, whatever the provider: a tick starts at most max_parallel runs of
    // max_rows each, and none starts again before the next tick, however early they end.
    `At its defaults the dispatcher starts at most ${settings.max_parallel} x ${
      count(settings.max_rows)
    } = ${count(settings.max_parallel * settings.max_rows)} rows of work per ${
      seconds(ourIntervalMs)
    } tick: an invocation stops at max_rows long before its ${
      seconds(settings.time_budget_ms)
    } time budget here, and the slots then stay idle until the next tick.`,
    `Ours: ${invocationSummary(ours.invocations)}; ${
      count(ourProviderCalls)
    } provider calls. The guide's: ${invocationSummary(guided.invocations)}; ${
      count(guideProviderCalls)
    } provider calls.`,
    foreign > 0
      ? `The dispatcher counts the claimable rows of every target: ${foreign} rows of the stack's other targets were claimable at the start and were counted in its decisions (never embedded here: the function stand-in works the benchmark's target only).`
      : `No other target had claimable rows: the dispatcher's decisions counted the benchmark's rows alone.`,
    `What is simulated: the clock (idle time between ticks is skipped, never work), the`,
    `provider, the function's runtime (the handler runs in the benchmark's process rather`,
    `than behind the stack's functions gateway, whose function process has the stack's own`,
    `provider and works every target), and the guide's SQL and function: its jobs are the`,
    `engine's queued rows, and its requests run this project's worker (one provider call and`,
    `one write per batch of ${guide.batchSize}), where the guide's function handles its jobs one at a`,
    `time, which if anything favours the guide. Real: the dispatcher's SQL, net.http_post, the`,
    `stack's pg_net stand-in (it polls every 100 ms, in both patterns), the worker, the claims`,
    `and writes. The local pg_cron (1.4) cannot schedule '${guide.intervalSeconds} seconds' at all;`,
    `Supabase's (1.6) can.`,
  ].join(" ");
}

export function schedulerSection(comparison: DrainComparison): BenchSection {
  const { rows, command, ours, guided } = comparison;
  const ratio = guided.drainedAt / ours.drainedAt;
  return {
    title: "Scheduler: draining a backlog",
    method: drainMethod(comparison),
    command,
    table: drainTable(comparison),
    goals: [{
      goal: `drain a ${
        count(rows)
      }-row backlog faster with the dispatcher at its defaults than with the guide's pattern (batches of ${guide.batchSize}, at most ${guide.maxRequests} requests per ${guide.intervalSeconds}-second tick), same provider`,
      measured: `${seconds(ours.drainedAt)} against ${
        seconds(guided.drainedAt)
      }: the guide's pattern takes ${ratio.toFixed(2)}x as long`,
      met: ours.drainedAt < guided.drainedAt,
    }],
    notes: drainNotes(comparison, ratio),
  };
}
