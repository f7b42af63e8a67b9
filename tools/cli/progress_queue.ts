// The engine's TargetQueue with a listener on it: every write, failure and release is reported as it happens, so the backfill's progress is the database's own account of each batch.
import type { TargetQueue } from "../../supabase/functions/_shared/target_queue.ts";
import type { ProgressDelta } from "./backfill_messages.ts";

/** `queue` itself, reporting what each write, failure and release settled once it has. */
export function progressQueue(
  queue: TargetQueue,
  report: (delta: ProgressDelta) => void,
): TargetQueue {
  // The methods' parameter and result types come from TargetQueue, so this never restates them.
  return {
    get transientRetries() {
      return queue.transientRetries;
    },
    listTargets: () => queue.listTargets(),
    readStatus: (targetIds) => queue.readStatus(targetIds),
    claimBatch: (...claim) => queue.claimBatch(...claim),
    writeBatch: async (...write) => {
      const outcome = await queue.writeBatch(...write);
      report({ written: outcome.writtenKeys.length, failed: 0, released: 0 });
      return outcome;
    },
    writeChunks: async (...write) => {
      const outcome = await queue.writeChunks(...write);
      report({ written: outcome.writtenKeys.length, failed: 0, released: 0 });
      return outcome;
    },
    failRows: async (targetId, leaseToken, failures) => {
      const outcome = await queue.failRows(targetId, leaseToken, failures);
      report({ written: 0, failed: failures.length, released: 0 });
      return outcome;
    },
    releaseRows: async (...release) => {
      const released = await queue.releaseRows(...release);
      report({ written: 0, failed: 0, released });
      return released;
    },
  };
}
