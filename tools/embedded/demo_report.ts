// How the demo prints the worker's report: its message and its counts.
import type { WorkerReport } from "../../supabase/functions/_shared/worker_report.ts";

export function printReport(report: WorkerReport, speaker: "worker" | "function"): void {
  console.log(`   ${speaker} says: ${report.message}`);
  console.log(
    `   claimed ${report.claimed}, written ${report.written}, failed ${report.failed}, still queued ${report.queued}, ${report.batches} batches, ${report.durationMs} ms, model ${report.model}`,
  );
}
