// A worker process killed mid-batch (SIGKILL) loses nothing: its lease runs out and the next worker finishes.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PostgresTargetQueue } from "../supabase/functions/_shared/postgres_target_queue.ts";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { defaultRunOptions } from "../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../supabase/functions/_shared/worker.ts";
import { projectRoot } from "../tools/stack/local_stack_settings.ts";
import {
  assertEveryRowEmbedded,
  createNotesTarget,
  queueCounts,
  withDatabase,
} from "./test_support.ts";

const fixture = fileURLToPath(new URL("./fixtures/stalling_worker.ts", import.meta.url));
const leaseSeconds = 4;

/** Reads the child's stdout until a line matches, or fails after `timeoutMs`; then closes it. */
async function waitForLine(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => reader.cancel("timed out"), timeoutMs);
  let seen = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the worker's output ended before ${pattern}: ${seen}`);
      seen += value;
      const line = seen.split("\n").find((candidate) => pattern.test(candidate));
      if (line) return line;
    }
  } finally {
    clearTimeout(timer);
    // Nothing more is read: cancelling closes the child's stdout, so no resource outlives the test.
    await reader.cancel();
  }
}

Deno.test("killed worker: SIGKILL mid-batch loses nothing and the next worker finishes", () =>
  withDatabase(async (sql) => {
    const notes = await createNotesTarget(sql, "killed_notes", 25);
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", fixture, "killed_notes", String(leaseSeconds)],
        cwd: projectRoot,
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const line = await waitForLine(child.stdout, /embedding \d+ rows/, 60_000);
      assert.equal(line, "embedding 10 rows");
      child.kill("SIGKILL");
      const status = await child.status;
      assert.equal(status.signal, "SIGKILL", "the worker process was killed, not finished");

      assert.deepEqual(await queueCounts(sql, "killed_notes"), {
        embedded: 0,
        pending: 15,
        inFlight: 10,
        deadLettered: 0,
      }, "the dead worker's 10 rows are still leased, nothing was written");

      const queue = new PostgresTargetQueue(sql);
      const model = new LocalSentenceEncoderProvider(384);
      const options = { ...defaultRunOptions, batchSize: 5, target: "killed_notes" };
      const whileLeased = await runWorker(queue, model, options);
      assert.equal(
        whileLeased.written,
        15,
        "while the lease holds, the next worker leaves its rows",
      );
      assert.equal((await queueCounts(sql, "killed_notes")).inFlight, 10);

      const deadline = Date.now() + (leaseSeconds + 5) * 1000;
      while ((await queueCounts(sql, "killed_notes")).inFlight > 0) {
        assert.ok(Date.now() < deadline, "the lease ran out in time");
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const afterLease = await runWorker(queue, model, options);
      assert.equal(afterLease.ok, true);
      assert.equal(afterLease.written, 10, "once the lease ran out, its rows were embedded");
      await assertEveryRowEmbedded(sql, "killed_notes", 25);
    } finally {
      await notes.drop();
    }
  }));
