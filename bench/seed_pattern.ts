// Benchmark: the engine's batched write path against the seed's pattern (one UPDATE per row, as its script did through the REST API), with 0, 5 and 25 ms of added round-trip latency between client and database.
//
// usage: deno run -A bench/seed_pattern.ts [--rows N] [--quick]
// Both go through the same loopback proxy (bench/latency_proxy.ts), which delays every chunk by
// half the round trip each way. Vectors are synthetic (bench/bench_table.ts): database side only.
import { parseArgs } from "node:util";
import postgres from "postgres";
import { connectDatabase } from "../supabase/functions/_shared/database.ts";
import { databasePort, databaseUrl } from "../tools/stack/local_stack_settings.ts";
import {
  createBenchTarget,
  dropBenchTarget,
  engineWriteRate,
  syntheticVector,
} from "./bench_table.ts";
import { startLatencyProxy } from "./latency_proxy.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { rows: { type: "string" }, quick: { type: "boolean", default: false } },
});
const rows = Number(values.rows ?? (values.quick ? 500 : 2000));
const batchSize = 500;
const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });

function viaProxy(port: number): string {
  return databaseUrl.replace(`:${databasePort}/`, `:${port}/`);
}

/** Rows per second of one UPDATE per row (at most `sample` rows: at 25 ms each, they are slow). */
async function perRowRate(url: string, sample: number): Promise<number> {
  const targetId = await createBenchTarget(admin, rows, false);
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
    await sql.end();
    await dropBenchTarget(admin, targetId);
  }
}

/** Rows per second of the engine on a fresh table, through `url`. */
async function engineRate(url: string): Promise<number> {
  const targetId = await createBenchTarget(admin, rows, false);
  const sql = connectDatabase(url);
  try {
    return await engineWriteRate(sql, targetId, rows, batchSize);
  } finally {
    await sql.end();
    await dropBenchTarget(admin, targetId);
  }
}

try {
  const results = [];
  for (const roundTripMs of [0, 5, 25]) {
    const proxy = startLatencyProxy(databasePort, roundTripMs / 2);
    try {
      const url = viaProxy(proxy.port);
      const perRow = await perRowRate(url, roundTripMs === 0 ? rows : Math.min(rows, 200));
      const engine = await engineRate(url);
      results.push({ roundTripMs, perRow: Math.round(perRow), engine: Math.round(engine) });
      console.log(
        `${roundTripMs} ms round trip: one UPDATE per row ${perRow.toFixed(0)} rows/s, engine ${
          engine.toFixed(0)
        } rows/s: ${(engine / perRow).toFixed(1)}x faster per row`,
      );
    } finally {
      proxy.close();
    }
  }
  console.log(JSON.stringify({ rows, batchSize, results }));
} finally {
  await admin.end();
}
