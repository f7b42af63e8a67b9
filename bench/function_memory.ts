// Benchmark: the embed function's peak memory (VmHWM of its own long-lived Deno process) while it drains N and then 10 N queued rows, to show it stays flat (issue 14).
//
// usage: deno run -A bench/function_memory.ts [--quick] [--db-url URL]
// The function runs unchanged (supabase/functions/embed/index.ts) in a Deno process this script
// starts, with the environment the local gateway gives it, so its pid, and so its /proc status,
// is known. Its provider is the OpenAI-compatible one pointed at a STAND-IN HTTP server started
// here, which answers hash vectors (no model): only the function's and the engine's own memory is
// measured. Nothing here is a test.
import { join } from "node:path";
import postgres from "postgres";
import type { WorkerReport } from "../supabase/functions/_shared/worker_report.ts";
import { StandInProvider } from "../tools/cli/stand_in_provider.ts";
import { secretKey } from "../tools/stack/api_keys.ts";
import {
  databaseUrl as localDatabaseUrl,
  functionsDir,
  projectRoot,
} from "../tools/stack/local_stack_settings.ts";
import { type BenchContext, type BenchSection, runStandalone } from "./bench_section.ts";
import { platformEnvironment } from "../tools/stack/function_platform_environment.ts";
import { dropMeasurementTable } from "../tools/cli/measurement_target.ts";
import { createBenchTarget } from "./bench_table.ts";
import {
  type Configuration,
  formatRows,
  memorySection,
  type SizeResult,
  summarize,
  type Summary,
} from "./function_memory_report.ts";
import { processMemory } from "./process_memory.ts";

const table = "bench_function_memory_rows";
const dimensions = 384;
/**
 * What every invocation asks for: batches of 500 as the command line's memory figures used, and
 * no row cap, so one run may hold as many rows as the time budget allows: memory that grows with
 * the rows of a run shows up here rather than being cut off at the default 10,000. The budget is
 * the largest the function accepts (below the platform's 150 s idle timeout).
 */
const runOptions = { target: table, batchSize: 500, maxRows: 1_000_000, timeBudgetMs: 140_000 };
/** A drain that needs more calls than this is stuck, not slow. */
const maxInvocations = 200;
const rowCounts = { quick: [2_000, 20_000], full: [10_000, 100_000] } as const;
/**
 * Rounds per size of the process as the gateway starts it: its peak is the top of the garbage
 * collector's sawtooth, which moves by tens of MB from run to run, so the median is reported.
 */
const rounds = 3;
/**
 * The V8 old-space cap of the second configuration: small enough that V8 must collect well below
 * the platform's limit, so its peak shows what the function keeps alive, not what V8 lets pile up.
 */
const heapCapMb = 64;

/** Function processes still running, so an interrupted run can stop them (standalone only). */
const runningProcesses = new Set<Deno.ChildProcess>();

interface StandInServer {
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * An OpenAI-compatible /v1/embeddings endpoint answering the command line's stand-in vectors
 * (hash of each text, in microseconds). It runs in this process, so its memory is not counted.
 */
function startStandInServer(provider: StandInProvider): StandInServer {
  const closing = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: closing.signal, onListen: () => {} },
    async (request) => {
      if (request.method !== "POST" || new URL(request.url).pathname !== "/v1/embeddings") {
        return Response.json({ error: { message: "not found" } }, { status: 404 });
      }
      const body = await request.json() as { input?: unknown; model?: unknown };
      // A wrong model or input is a bug in this benchmark: refused loudly, never answered.
      if (body.model !== provider.model || !Array.isArray(body.input)) {
        return Response.json(
          { error: { message: `expected model ${provider.model} and an input array` } },
          { status: 400 },
        );
      }
      const vectors = await provider.embed(body.input.map(String));
      return Response.json({
        object: "list",
        model: provider.model,
        data: vectors.map((embedding, index) => ({ object: "embedding", index, embedding })),
        usage: { prompt_tokens: 0, total_tokens: 0 },
      });
    },
  );
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    close: async () => {
      closing.abort();
      await server.finished;
    },
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * The environment the platform (and the local gateway) gives a function, with the provider
 * settings of this benchmark in place of the developer's and of supabase/functions/.env.
 */
async function functionEnvironment(
  port: number,
  databaseUrl: string,
  provider: StandInProvider,
  standInUrl: string,
): Promise<Record<string, string>> {
  return {
    ...await platformEnvironment(port, databaseUrl),
    EMBEDDING_PROVIDER: "openai",
    OPENAI_BASE_URL: standInUrl,
    OPENAI_EMBEDDING_MODEL: provider.model,
    OPENAI_EMBEDDING_DIMENSIONS: String(provider.dimensions),
  };
}

interface FunctionInstance {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts embed/index.ts as the gateway does (`deno run -A --no-prompt`), with the V8 heap capped
 * when `heapCap` is a number of MB, and waits for its port.
 */
async function startEmbedFunction(
  environment: Record<string, string>,
  heapCap: number | null,
): Promise<FunctionInstance> {
  const port = Number(environment.DENO_SERVE_ADDRESS.split(":").at(-1));
  const v8Flags = heapCap === null ? [] : [`--v8-flags=--max-old-space-size=${heapCap}`];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", ...v8Flags, join(functionsDir, "embed", "index.ts")],
    cwd: projectRoot,
    clearEnv: true,
    env: environment,
    stdin: "null",
    // Its stdout is Deno.serve's "Listening on" line, which would spoil the JSON printed here;
    // its stderr carries its errors.
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  runningProcesses.add(child);
  let exited = false;
  child.status.then(() => {
    exited = true;
    runningProcesses.delete(child);
  });
  const stop = async () => {
    if (exited) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => {
      if (!exited) child.kill("SIGKILL");
    }, 10_000);
    await child.status;
    clearTimeout(killer);
  };
  const deadline = Date.now() + 60_000;
  while (true) {
    if (exited) throw new Error("the embed function exited while starting (see its stderr above)");
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error("the embed function did not start listening within 60 s");
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { pid: child.pid, url: `http://127.0.0.1:${port}/`, stop };
}

/** POSTs run options to the function until its report says the target's queue is empty. */
async function drain(url: string): Promise<number> {
  for (let invocations = 1; invocations <= maxInvocations; invocations++) {
    const response = await fetch(url, {
      method: "POST",
      headers: { apikey: secretKey, "content-type": "application/json" },
      body: JSON.stringify(runOptions),
      signal: AbortSignal.timeout(runOptions.timeBudgetMs + 60_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`embed answered ${response.status}: ${text.slice(0, 500)}`);
    const report = JSON.parse(text) as WorkerReport;
    if (report.failed > 0) throw new Error(`embed failed rows: ${report.message}`);
    if (report.queued === 0) return invocations;
    if (report.written === 0) throw new Error(`embed wrote nothing: ${report.message}`);
  }
  throw new Error(`the queue was not empty after ${maxInvocations} calls`);
}

/** One size: a fresh table, a fresh function process, its drain, its high-water mark. */
async function measureSize(
  admin: postgres.Sql,
  databaseUrl: string,
  provider: StandInProvider,
  standIn: StandInServer,
  rows: number,
  heapCap: number | null,
): Promise<SizeResult> {
  // Registered with the stand-in's model: no other worker (the gateway's embed, with the local
  // model) touches these rows, and this run's function touches no other target.
  await createBenchTarget(admin, rows, false, { table, model: provider.model });
  try {
    const environment = await functionEnvironment(
      freePort(),
      databaseUrl,
      provider,
      standIn.baseUrl,
    );
    // A fresh process per size: VmHWM never goes down, so a reused one would report the larger.
    const instance = await startEmbedFunction(environment, heapCap);
    try {
      const idle = await processMemory(instance.pid);
      const started = performance.now();
      const invocations = await drain(instance.url);
      const seconds = (performance.now() - started) / 1000;
      const after = await processMemory(instance.pid);
      const [counted] = await admin<{ rows: number; embedded: number }[]>`
        select count(*)::int as rows, count(embedding)::int as embedded
        from ${admin("public")}.${admin(table)}`;
      if (counted.rows !== rows || counted.embedded !== rows) {
        throw new Error(`${counted.embedded} of ${counted.rows} rows have a vector, not ${rows}`);
      }
      return { rows, invocations, idleKb: idle.rssKb, peakKb: after.peakKb, seconds };
    } finally {
      await instance.stop();
    }
  } finally {
    await dropMeasurementTable(admin, table);
  }
}

const configurations: readonly Configuration[] = [
  { label: "as the gateway starts it", heapCap: null, rounds },
  // One round: with the heap capped the peak moves by a few MB only.
  { label: `old space capped at ${heapCapMb} MB`, heapCap: heapCapMb, rounds: 1 },
];

/** Both sizes, round after round, in one configuration: [small, large] summed up. */
async function measureConfiguration(
  setup: MemorySetup,
  configuration: Configuration,
  [smallRows, largeRows]: readonly [number, number],
): Promise<[Summary, Summary]> {
  const small: SizeResult[] = [];
  const large: SizeResult[] = [];
  // Both sizes in every round, so a noisy moment of the machine falls on both alike.
  for (let round = 1; round <= configuration.rounds; round++) {
    for (const [rows, results] of [[smallRows, small], [largeRows, large]] as const) {
      console.error(
        `function memory (${configuration.label}), round ${round}/${configuration.rounds}: ${
          formatRows(rows)
        } rows...`,
      );
      results.push(
        await measureSize(
          setup.admin,
          setup.databaseUrl,
          setup.provider,
          setup.standIn,
          rows,
          configuration.heapCap,
        ),
      );
    }
  }
  return [summarize(configuration, small), summarize(configuration, large)];
}

/** What every drain shares: the database, the stand-in provider and its server. */
interface MemorySetup {
  admin: postgres.Sql;
  databaseUrl: string;
  provider: StandInProvider;
  standIn: StandInServer;
}

export async function functionMemory(context: BenchContext): Promise<BenchSection> {
  const sizes = rowCounts[context.size];
  const provider = new StandInProvider(dimensions);
  const setup: MemorySetup = {
    admin: postgres(context.databaseUrl, { max: 1, onnotice: () => {} }),
    databaseUrl: context.databaseUrl,
    provider,
    standIn: startStandInServer(provider),
  };
  // [small, large] per configuration.
  const summaries: [Summary, Summary][] = [];
  try {
    for (const configuration of configurations) {
      summaries.push(await measureConfiguration(setup, configuration, sizes));
    }
  } finally {
    await setup.admin.end({ timeout: 5 });
    await setup.standIn.close();
  }
  const command = [
    "npx deno run -A bench/function_memory.ts",
    context.size === "quick" ? " --quick" : "",
    context.databaseUrl === localDatabaseUrl ? "" : " --db-url <url>",
  ].join("");
  const [smallRows, largeRows] = sizes;
  return memorySection({
    smallRows,
    largeRows,
    summaries,
    command,
    runOptions,
    rounds,
    heapCapMb,
  });
}

// Ctrl-C would otherwise leave the function's process running; the table goes on the next run.
if (import.meta.main) {
  await runStandalone(functionMemory, () => {
    for (const child of runningProcesses) child.kill("SIGKILL");
  });
}
