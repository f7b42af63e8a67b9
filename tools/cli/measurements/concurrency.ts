// Measures `backfill --concurrency 1` against `--concurrency 2` with the local model on the same rows, in one run: `deno run -A tools/cli/measurements/concurrency.ts [--db-url URL] [--rows 2000]`.
import { parseArgs } from "node:util";
import { withDatabase } from "../database_session.ts";
import { createMeasurementTarget } from "./measurement_target.ts";
import { runCli } from "../run_cli.ts";
import { closeConnection } from "../close_connection.ts";
import { connectForCli } from "../cli_connection.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { "db-url": { type: "string" }, rows: { type: "string", default: "2000" } },
});
const rows = Number(values.rows);
const table = "cli_measure_concurrency";

await withDatabase(values["db-url"], async (database) => {
  const sql = connectForCli(database.url);
  const target = await createMeasurementTarget(sql, {
    table,
    rows,
    model: "universal-sentence-encoder-lite-384",
  });
  try {
    console.log(`${rows} rows in public.${table}, local model, on ${database.label}`);
    for (const workers of [1, 2]) {
      if (workers > 1) {
        const requeued = await runCli(["requeue", "--target", table, "--db-url", database.url]);
        if (requeued.code !== 0) throw new Error(`requeue failed: ${requeued.stderr}`);
      }
      const run = await runCli([
        "backfill",
        "--target",
        table,
        "--concurrency",
        String(workers),
        "--json",
        "--db-url",
        database.url,
      ]);
      const outcome = JSON.parse(run.stdout) as {
        ok: boolean;
        written: number;
        durationMs: number;
        rowsPerSecond: number;
      };
      console.log(
        `--concurrency ${workers}: wrote ${outcome.written} rows in ${
          (outcome.durationMs / 1000).toFixed(1)
        } s = ${outcome.rowsPerSecond} rows/s (ok ${outcome.ok}, exit ${run.code}; the command took ${
          (run.wallMs / 1000).toFixed(1)
        } s in all)`,
      );
    }
  } finally {
    try {
      await target.drop();
    } finally {
      await closeConnection(sql);
    }
  }
});
