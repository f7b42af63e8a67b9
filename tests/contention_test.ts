// The app and the workers write one table at once (issue 25): the app never meets an error, no worker stops on a deadlock, no lease is left, and every row ends with the vector of its current text.
import assert from "node:assert/strict";
import { runContention } from "../bench/contention.ts";
import { databaseUrl } from "./test_support.ts";

Deno.test("contention: app writers and two workers on one table, then every row current and no lease left", async () => {
  const result = await runContention(databaseUrl, {
    rows: 2_000,
    rounds: 6,
    appWriters: 3,
    workers: 2,
  });
  assert.deepEqual(result.appErrors, []);
  assert.deepEqual(result.workerErrors, []);
  assert.equal(result.leasesLeft, 0);
  assert.deepEqual(result.wrongVectors, []);
  assert.deepEqual(result.verifyFindings, []);
  assert.ok(result.rowsChecked >= 2_000 - 3 * 6 * 3);
  assert.ok(result.workerRuns > 0);
});
