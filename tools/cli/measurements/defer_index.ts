// Measures `backfill --defer-index` against a backfill that updates the HNSW index row by row, on the same number of fresh rows, with the stand-in provider (so the database's work is what is timed): `deno run -A tools/cli/measurements/defer_index.ts [--db-url URL] [--rows 20000] [--batch-size 200]`.
import { parseArgs } from "node:util";
import { withDatabase } from "../database_session.ts";
import { StandInProvider } from "../stand_in_provider.ts";
import { createMeasurementTarget } from "./measurement_target.ts";
import { runCli } from "../run_cli.ts";
import { closeConnection } from "../close_connection.ts";
import { connectForCli } from "../cli_connection.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "db-url": { type: "string" },
    rows: { type: "string", default: "20000" },
    "batch-size": { type: "string", default: "200" },
  },
});
const rows = Number(values.rows);
const table = "cli_measure_defer_index";
const model = new StandInProvider(384).model;

await withDatabase(values["db-url"], async (database) => {
  const sql = connectForCli(database.url);
  try {
    console.log(
      `${rows} fresh rows with an HNSW index (vector_cosine_ops), --provider stand-in, --batch-size ${
        values["batch-size"]
      }, on ${database.label}`,
    );
    for (const deferIndex of [false, true]) {
      const target = await createMeasurementTarget(sql, { table, rows, model });
      try {
        const run = await runCli([
          "backfill",
          "--target",
          table,
          "--provider",
          "stand-in",
          "--batch-size",
          values["batch-size"] ?? "200",
          "--max-rows",
          "1000000",
          "--json",
          ...(deferIndex ? ["--defer-index"] : []),
          "--db-url",
          database.url,
        ]);
        const outcome = JSON.parse(run.stdout) as {
          ok: boolean;
          written: number;
          durationMs: number;
          rowsPerSecond: number;
          indexes: { dropped: string[]; rebuilt: string[] };
        };
        const [{ indexed }] = await sql<{ indexed: boolean }[]>`
          select to_regclass(${`public.${table}_embedding_hnsw_idx`}) is not null as indexed`;
        const rebuild = run.stderr.match(/built in ([\d.]+) s/)?.[1];
        console.log(
          `${deferIndex ? "--defer-index     " : "index row by row  "}: the command took ${
            (run.wallMs / 1000).toFixed(1)
          } s; the workers wrote ${outcome.written} rows in ${
            (outcome.durationMs / 1000).toFixed(1)
          } s (${outcome.rowsPerSecond} rows/s)${
            rebuild ? `, then the index was built in ${rebuild} s` : ""
          }; ok ${outcome.ok}, exit ${run.code}, index present after: ${indexed}`,
        );
      } finally {
        await target.drop();
      }
    }
  } finally {
    await closeConnection(sql);
  }
});
