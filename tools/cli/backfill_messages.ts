// What the backfill's main thread and its Web Workers say to each other (plain data, structured-cloned).
import type { RunOptions } from "../../supabase/functions/_shared/run_options.ts";
import type { WorkerReport } from "../../supabase/functions/_shared/worker_report.ts";
import type { ProviderSpec } from "./provider_choice.ts";

export type ToWorker =
  | {
    kind: "start";
    /** 1-based, for messages. */
    worker: number;
    databaseUrl: string;
    provider: ProviderSpec;
    options: RunOptions;
    /**
     * Batches this worker keeps in flight at most, each its own claim and lease, their provider
     * calls paced together (one adapting window, one pause on a 429); 1: one at a time.
     */
    lanes: number;
  }
  /** Ctrl-C: no new batch; the batch in hand goes back untried. */
  | { kind: "stop" };

/** Rows settled since the last message. */
export interface ProgressDelta {
  written: number;
  failed: number;
  released: number;
}

export type FromWorker =
  | ({ kind: "progress" } & ProgressDelta)
  /** One run of the worker ended (the worker starts another while there is work). */
  | {
    kind: "run";
    report: WorkerReport;
    /** Its lane's last run: why it stopped is part of the backfill's outcome. */
    last: boolean;
  }
  | { kind: "done" }
  | { kind: "failed"; error: string };
