// Benchmark: the engine's batched write path against the seed's pattern (one UPDATE per row, as its script did through the REST API), with 0, 5 and 25 ms of added round-trip latency between client and database.
//
// usage: deno run -A bench/seed_pattern.ts [--quick] [--db-url URL]
// Both go through the same loopback proxy (bench/latency_proxy.ts), which delays every chunk by
// half the round trip each way. Vectors are synthetic (bench/bench_table.ts): database side only.
import postgres from "postgres";
import { connectDatabase } from "../supabase/functions/_shared/database.ts";
import { type BenchContext, type BenchSection, runStandalone } from "./bench_section.ts";
import { median, rowsPerSecond } from "./bench_figures.ts";
import { benchRows, createBenchTarget, engineWriteRate, syntheticVector } from "./bench_table.ts";
import { dropMeasurementTable } from "../tools/cli/measurement_target.ts";
import { startLatencyProxy } from "./latency_proxy.ts";

/** The worker's batch sizes compared: a common one, and the largest the API takes. */
const batchSizes = [500, 1000] as const;

/** The same database URL with the port of the proxy in front of it. */
function viaProxy(url: string, proxyPort: number): string {
  const parsed = new URL(url);
  // The proxy forwards to this machine's port: a remote database would be another server.
  if (!["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname)) {
    throw new Error(
      `the latency proxy runs on this machine: give a database on this machine, not ${parsed.hostname}`,
    );
  }
  parsed.hostname = "127.0.0.1";
  parsed.port = String(proxyPort);
  return parsed.toString();
}

/** Rows per second of one UPDATE per row, as the seed's script did (at most `sample` rows). */
async function perRowRate(url: string, sample: number): Promise<number> {
  const sql = connectDatabase(url);
  try {
    const started = performance.now();
    for (let id = 1; id <= sample; id++) {
      await sql`update public.bench_rows set embedding = ${
        JSON.stringify(syntheticVector(id))
      }::extensions.vector where id = ${id}`;
    }
    return sample / ((performance.now() - started) / 1000);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Rows per second of the engine's claim + write_batch, through `url`. */
async function engineRate(
  url: string,
  targetId: number,
  rows: number,
  batchSize: number,
): Promise<number> {
  const sql = connectDatabase(url);
  try {
    return await engineWriteRate(sql, targetId, rows, batchSize);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

interface LatencyRow {
  roundTripMs: number;
  perRow: number;
  /** Rows per second at each of batchSizes. */
  engine: number[];
}

/** One added round trip: both patterns, `rounds` times on fresh tables, their medians. */
async function measureAtLatency(
  admin: postgres.Sql,
  databaseUrl: string,
  roundTripMs: number,
  { rows, rounds, quick }: { rows: number; rounds: number; quick: boolean },
): Promise<LatencyRow> {
  const proxy = startLatencyProxy(Number(new URL(databaseUrl).port || 5432), roundTripMs / 2);
  try {
    const url = viaProxy(databaseUrl, proxy.port);
    // At 25 ms a row, one UPDATE per row is slow: a sample of it is enough for its rate.
    const sample = roundTripMs === 0 ? rows : Math.min(rows, quick ? 50 : 200);
    const perRow: number[] = [];
    const engine: number[][] = batchSizes.map(() => []);
    for (let round = 0; round < rounds; round++) {
      let targetId = await createBenchTarget(admin, rows, false);
      perRow.push(await perRowRate(url, sample));
      await dropMeasurementTable(admin, benchRows.table);
      for (const [index, batchSize] of batchSizes.entries()) {
        targetId = await createBenchTarget(admin, rows, false);
        engine[index].push(await engineRate(url, targetId, rows, batchSize));
        await dropMeasurementTable(admin, benchRows.table);
      }
    }
    return { roundTripMs, perRow: median(perRow), engine: engine.map(median) };
  } finally {
    proxy.close();
  }
}

export async function seedPattern(context: BenchContext): Promise<BenchSection> {
  const quick = context.size === "quick";
  const rows = quick ? 1_000 : 4_000;
  const rounds = quick ? 1 : 3;
  const admin = postgres(context.databaseUrl, { max: 1, onnotice: () => {} });
  const results: LatencyRow[] = [];
  try {
    for (const roundTripMs of [0, 5, 25]) {
      results.push(
        await measureAtLatency(admin, context.databaseUrl, roundTripMs, { rows, rounds, quick }),
      );
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
  const at25 = results[results.length - 1];
  const faster = (row: LatencyRow, index: number) => row.engine[index] / row.perRow;
  const largest = batchSizes.length - 1;
  return {
    title: "Against the seed's pattern, with latency between client and database",
    method:
      `One UPDATE per row is what the seed's script did through the REST API; the engine claims and writes batches of ${
        batchSizes.join(" and of ")
      } rows (\`claim_batch\` + \`write_batch\`: two calls a batch whatever its size, each a transaction that runs as service_role, about 11 round trips in all with postgres.js). Both go through the same loopback proxy (\`bench/latency_proxy.ts\`), which delays every chunk by half the round trip each way. ${
        rows.toLocaleString("en-US")
      } rows, synthetic vectors, no vector index; one UPDATE per row is timed on ${
        quick ? 50 : 200
      } rows when latency is added. Median of ${rounds} round(s).`,
    command: `deno run -A bench/seed_pattern.ts${quick ? " --quick" : ""}`,
    table: {
      header: [
        "added round trip",
        "one UPDATE per row",
        ...batchSizes.map((size) => `engine, batches of ${size}`),
        ...batchSizes.map((size) => `per row, batches of ${size}`),
      ],
      rows: results.map((row) => [
        `${row.roundTripMs} ms`,
        rowsPerSecond(row.perRow),
        ...row.engine.map(rowsPerSecond),
        ...batchSizes.map((_, index) => `${faster(row, index).toFixed(1)}x faster`),
      ]),
    },
    goals: [{
      goal: "at least 50 times faster per row at 25 ms",
      measured: `${faster(at25, largest).toFixed(1)}x (batches of ${batchSizes[largest]})`,
      met: faster(at25, largest) >= 50,
    }],
  };
}

if (import.meta.main) await runStandalone(seedPattern);
