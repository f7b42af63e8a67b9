// Benchmark: the engine's write path (claim + write_batch + bookkeeping, through postgres.js as the worker calls it) against one raw `UPDATE ... FROM unnest(ids, vectors)` on the same rows, without and with an HNSW index; and against one UPDATE per row, the seed's pattern.
//
// usage: deno run -A bench/write_path.ts [--rows N] [--batch-size N] [--quick] [--db-url URL]
// Vectors come from a SYNTHETIC provider (seeded random unit vectors, no model): this measures the
// database side alone. Ratios are measured side by side in one run; nothing here is a test.
import { parseArgs } from "node:util";
import postgres from "postgres";
import { connectDatabase } from "../supabase/functions/_shared/database.ts";
import { databaseUrl as localDatabaseUrl } from "../tools/stack/local_stack_settings.ts";
import {
  createBenchTarget,
  dropBenchTarget,
  engineWriteRate,
  syntheticVector,
} from "./bench_table.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rows: { type: "string" },
    "batch-size": { type: "string", default: "500" },
    quick: { type: "boolean", default: false },
    "db-url": { type: "string" },
  },
});
const rows = Number(values.rows ?? (values.quick ? 2000 : 20000));
const batchSize = Number(values["batch-size"]);
const url = values["db-url"] ?? Deno.env.get("SUPABASE_DB_URL") ?? localDatabaseUrl;

const admin = postgres(url, { max: 1, onnotice: () => {} });
const worker = connectDatabase(url);
const freshTable = (withIndex: boolean) => createBenchTarget(admin, rows, withIndex);
const dropTable = (targetId: number) => dropBenchTarget(admin, targetId);

/** Rows per second of the engine on a fresh table. */
async function engineRate(withIndex: boolean): Promise<number> {
  const targetId = await freshTable(withIndex);
  const rate = await engineWriteRate(worker, targetId, rows, batchSize);
  await dropTable(targetId);
  return rate;
}

/** Rows per second of one `UPDATE ... FROM unnest(ids, vectors)` per batch, the same rows. */
async function rawRate(withIndex: boolean): Promise<number> {
  const targetId = await freshTable(withIndex);
  const started = performance.now();
  for (let start = 1; start <= rows; start += batchSize) {
    const ids = Array.from({ length: Math.min(batchSize, rows - start + 1) }, (_, i) => start + i);
    const vectors = ids.map((id) => JSON.stringify(syntheticVector(id)));
    await worker`
      update public.bench_rows as t set embedding = u.v::extensions.vector
      from unnest(${ids}::bigint[], ${vectors}::text[]) as u(id, v) where t.id = u.id`;
  }
  const seconds = (performance.now() - started) / 1000;
  await dropTable(targetId);
  return rows / seconds;
}

/** Rows per second of one UPDATE per row, as the seed's script did through the REST API. */
async function perRowRate(sampleRows: number): Promise<number> {
  const targetId = await freshTable(false);
  const started = performance.now();
  for (let id = 1; id <= sampleRows; id++) {
    await worker`update public.bench_rows set embedding = ${
      JSON.stringify(syntheticVector(id))
    }::extensions.vector where id = ${id}`;
  }
  const seconds = (performance.now() - started) / 1000;
  await dropTable(targetId);
  return sampleRows / seconds;
}

try {
  const results: [string, number][] = [];
  for (const withIndex of [false, true]) {
    const label = withIndex ? "HNSW index live" : "no vector index";
    const engine = await engineRate(withIndex);
    const raw = await rawRate(withIndex);
    results.push([`engine, ${label}`, engine], [`raw unnest UPDATE, ${label}`, raw]);
    console.log(
      `${label}: engine ${engine.toFixed(0)} rows/s, raw ${raw.toFixed(0)} rows/s, ratio ${
        (engine / raw).toFixed(2)
      }`,
    );
  }
  const perRow = await perRowRate(Math.min(rows, 2000));
  const engineNoIndex = results[0][1];
  console.log(
    `one UPDATE per row (loopback, no added latency): ${perRow.toFixed(0)} rows/s; engine ${
      (engineNoIndex / perRow).toFixed(1)
    }x per row`,
  );
  console.log(
    JSON.stringify({
      rows,
      batchSize,
      results: Object.fromEntries(results.map(([k, v]) => [k, Math.round(v)])),
      perRow: Math.round(perRow),
    }),
  );
} finally {
  await admin.end();
  await worker.end();
}
