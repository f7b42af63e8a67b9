// The engine: takes rows without an embedding, embeds them, writes them batch by batch and checks the database's account of every write.
import { embeddingProblem } from "./embedding_checks.ts";
import type { EmbeddingStore, EmbeddingWrite, PendingRow } from "./embedding_store.ts";
import type { EmbeddingProvider } from "./providers/embedding_provider.ts";

export interface BackfillOptions {
  /** Rows per database round trip and provider call. */
  batchSize: number;
  /** Rows to take at most in this run. */
  maxRows: number;
  /** No new batch starts when the slowest batch so far would overrun this. */
  timeBudgetMs: number;
}

export const defaultBackfillOptions: Readonly<BackfillOptions> = {
  batchSize: 50,
  maxRows: 10_000,
  timeBudgetMs: 60_000,
};

export interface FailedRow {
  id: string;
  error: string;
}

export type StopReason =
  | "no pending rows left"
  | "maxRows reached"
  | "time budget spent"
  | "embedding provider failed"
  | "database write failed";

export interface BackfillReport {
  ok: boolean;
  message: string;
  target: string;
  provider: string;
  model: string;
  dimensions: number;
  /** Rows taken in this run. */
  processed: number;
  /** Rows the database says it changed. */
  written: number;
  /** Rows taken and not written, each with the reason. */
  failed: FailedRow[];
  /** Rows still without an embedding after the run, counted by the database. */
  remaining: number;
  /** Rows with an embedding after the run, counted by the database. */
  embedded: number;
  total: number;
  batches: number;
  stoppedBecause: StopReason;
  durationMs: number;
}

interface BatchOutcome {
  written: number;
  failed: FailedRow[];
  fatal?: StopReason;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function failAll(rows: readonly { id: string }[], error: string): FailedRow[] {
  return rows.map((row) => ({ id: row.id, error }));
}

async function embedBatch(
  provider: EmbeddingProvider,
  dimensions: number,
  rows: readonly PendingRow[],
): Promise<{ writes: EmbeddingWrite[]; failed: FailedRow[]; fatal?: StopReason }> {
  const failed: FailedRow[] = [];
  const embeddable = rows.filter((row) => {
    if (row.content.trim() !== "") return true;
    failed.push({ id: row.id, error: "content is empty: there is no text to embed" });
    return false;
  });
  if (embeddable.length === 0) return { writes: [], failed };

  let vectors: number[][];
  try {
    vectors = await provider.embed(embeddable.map((row) => row.content));
  } catch (error) {
    const reason = `embedding provider ${provider.name} failed: ${errorMessage(error)}`;
    return {
      writes: [],
      failed: [...failed, ...failAll(embeddable, reason)],
      fatal: "embedding provider failed",
    };
  }
  if (vectors.length !== embeddable.length) {
    const reason =
      `embedding provider ${provider.name} returned ${vectors.length} vectors for ${embeddable.length} texts`;
    return {
      writes: [],
      failed: [...failed, ...failAll(embeddable, reason)],
      fatal: "embedding provider failed",
    };
  }

  const writes: EmbeddingWrite[] = [];
  embeddable.forEach((row, index) => {
    const problem = embeddingProblem(vectors[index], dimensions);
    if (problem) failed.push({ id: row.id, error: `${provider.model}: ${problem}` });
    else writes.push({ id: row.id, embedding: vectors[index] });
  });
  return { writes, failed };
}

/** Writes a batch and holds the database's answer against what was sent. */
async function writeBatch(
  store: EmbeddingStore,
  writes: readonly EmbeddingWrite[],
): Promise<BatchOutcome> {
  let outcome;
  try {
    outcome = await store.writeEmbeddings(writes);
  } catch (error) {
    return {
      written: 0,
      failed: failAll(writes, `database rejected the batch: ${errorMessage(error)}`),
      fatal: "database write failed",
    };
  }
  const sent = new Set(writes.map((write) => write.id));
  const accounted = new Set([...outcome.writtenIds, ...outcome.unwrittenIds]);
  const unexpected = [...accounted].filter((id) => !sent.has(id));
  const unaccounted = [...sent].filter((id) => !accounted.has(id));
  if (unexpected.length > 0 || unaccounted.length > 0 || accounted.size !== writes.length) {
    // The write function's answer does not match the request: trust none of it.
    return {
      written: 0,
      failed: failAll(
        writes,
        `database's account of the write does not match the batch (unexpected ids: ${
          unexpected.join(", ") || "none"
        }; unaccounted ids: ${unaccounted.join(", ") || "none"})`,
      ),
      fatal: "database write failed",
    };
  }
  return {
    written: outcome.writtenIds.length,
    failed: failAll(
      outcome.unwrittenIds.map((id) => ({ id })),
      "row no longer exists: it was deleted before its embedding was written",
    ),
  };
}

function summarize(report: Omit<BackfillReport, "ok" | "message">): string {
  if (report.processed === 0 && report.failed.length === 0) {
    return report.remaining === 0
      ? `nothing to embed: all ${report.total} ${report.target} rows already have an embedding; nothing was written`
      : `no rows were taken (${report.stoppedBecause}); ${report.remaining} still need an embedding`;
  }
  const base =
    `wrote ${report.written} of ${report.processed} ${report.target} rows taken (${report.stoppedBecause}); ${report.remaining} still need an embedding`;
  return report.failed.length === 0
    ? base
    : `${base}; ${report.failed.length} failed, listed in "failed"`;
}

export async function runBackfill(
  store: EmbeddingStore,
  provider: EmbeddingProvider,
  options: BackfillOptions,
): Promise<BackfillReport> {
  if (provider.dimensions !== store.dimensions) {
    throw new Error(
      `${provider.name} (${provider.model}) makes ${provider.dimensions}-dimension vectors but ${store.target}'s embedding column holds ${store.dimensions}`,
    );
  }
  const started = performance.now();
  let cursor: string | null = null;
  let processed = 0;
  let written = 0;
  let batches = 0;
  let slowestBatchMs = 0;
  const failed: FailedRow[] = [];
  let stoppedBecause: StopReason;

  while (true) {
    if (processed >= options.maxRows) {
      stoppedBecause = "maxRows reached";
      break;
    }
    const elapsed = performance.now() - started;
    if (batches > 0 && elapsed + slowestBatchMs > options.timeBudgetMs) {
      stoppedBecause = "time budget spent";
      break;
    }
    const batchStarted = performance.now();
    const rows = await store.pendingRows(
      cursor,
      Math.min(options.batchSize, options.maxRows - processed),
    );
    if (rows.length === 0) {
      stoppedBecause = "no pending rows left";
      break;
    }
    // Rows that fail stay pending, but this run moves past them, so it always ends.
    cursor = rows[rows.length - 1].id;
    processed += rows.length;
    batches += 1;

    const embedded = await embedBatch(provider, store.dimensions, rows);
    failed.push(...embedded.failed);
    if (embedded.fatal) {
      stoppedBecause = embedded.fatal;
      break;
    }
    if (embedded.writes.length > 0) {
      const outcome = await writeBatch(store, embedded.writes);
      written += outcome.written;
      failed.push(...outcome.failed);
      if (outcome.fatal) {
        stoppedBecause = outcome.fatal;
        break;
      }
    }
    slowestBatchMs = Math.max(slowestBatchMs, performance.now() - batchStarted);
  }

  const counts = await store.counts();
  const report = {
    target: store.target,
    provider: provider.name,
    model: provider.model,
    dimensions: provider.dimensions,
    processed,
    written,
    failed,
    remaining: counts.pending,
    embedded: counts.embedded,
    total: counts.total,
    batches,
    stoppedBecause,
    durationMs: Math.round(performance.now() - started),
  };
  return { ...report, ok: failed.length === 0, message: summarize(report) };
}
