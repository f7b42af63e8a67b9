// What the worker needs from the database: the registered targets and their status, and the claim / write / fail / release calls.
import type { ChunkingOptions, TextChunk } from "./chunking/chunk_text.ts";

/** One registered target, as the registry (embeddings.targets) holds it. */
export interface Target {
  id: number;
  name: string;
  /**
   * schema.table.column of the embedding; for a chunked target, "schema.table (chunks in
   * embedding_chunks.name)", as embeddings.status says it.
   */
  source: string;
  model: string;
  dimensions: number;
  /** How its rows are cut into chunks, each embedded; null: one vector per row, in its column. */
  chunking: ChunkingOptions | null;
}

/** A target's counts as embeddings.status(target_id) reports them, read from the database. */
export interface TargetStatus extends Target {
  /** Why the target cannot be worked and the fix (its table, column or content function is gone); null when it is whole. */
  broken: string | null;
  /** Rows in the table; null when the target is broken (there is no table to count). */
  totalRows: number | null;
  /** Rows whose stored vector was made by the target's current model from their current text. */
  embedded: number;
  /** A chunked target's chunks stored now (its chunk table's rows); null for a whole-row target. */
  chunks: number | null;
  /** Queued and not leased, including rows waiting out a backoff. */
  pending: number;
  /** Leased to a worker right now. */
  inFlight: number;
  deadLettered: number;
  /** Of the pending rows, those waiting out a backoff until nextRetryAt. */
  retrying: number;
  nextRetryAt: string | null;
  /** When the last live lease runs out: in-flight rows are another worker's until then. */
  leasedUntil: string | null;
  /** False while the chunked backfill has not yet walked the whole table. */
  backfillDone: boolean;
  lastError: string | null;
  lastWriteAt: string | null;
}

export interface ClaimedRow {
  key: string;
  /** The text to embed, from the target's content function ("" when it returned null or raised). */
  content: string;
  /** md5 of `content`: write_batch refuses the vector if the row's text changed since. */
  contentHash: string;
  /** The error the content function raised for this row (claim_batch's content_error); else null. */
  contentError: string | null;
}

export interface ClaimedBatch {
  /** Null when nothing was claimable. */
  leaseToken: string | null;
  rows: ClaimedRow[];
  /**
   * The target's chunking as the claim's transaction read it (null for a whole-row target, or
   * when nothing was claimed): a chunked batch is cut with it, not with what the run read first.
   */
  chunking: ChunkingOptions | null;
}

export interface RowEmbedding {
  key: string;
  contentHash: string;
  embedding: number[];
}

/** One chunk of a row's text with its vector. */
export interface EmbeddedChunk extends TextChunk {
  embedding: number[];
}

/** A row of a chunked target, every chunk of its text embedded (none for a blank text). */
export interface RowChunks {
  key: string;
  /** md5 of the whole text the chunks were cut from: write_chunks refuses them if it changed. */
  contentHash: string;
  /** In text order; chunk i is the row's chunk_index i. */
  chunks: EmbeddedChunk[];
}

/** The database's own account of a batch write. */
export interface WriteOutcome {
  /** Rows the UPDATE changed (from RETURNING). */
  writtenKeys: string[];
  /** Rows whose text changed after the claim: not written, still queued. */
  staleKeys: string[];
  /** Rows no longer held by this lease (expired and taken by another worker) or deleted. */
  lostKeys: string[];
}

export interface RowFailure {
  key: string;
  error: string;
}

export interface FailOutcome {
  /** Rows that will be retried after a backoff. */
  retryingKeys: string[];
  /** Rows that reached the target's max_attempts: dead-lettered. */
  deadKeys: string[];
}

/** claim_batch refused a target that cannot be worked (SQLSTATE 55000); the others can go on. */
export class TargetBrokenError extends Error {
  override name = "TargetBrokenError";
}

export interface TargetQueue {
  /**
   * Calls the database aborted as transient (deadlock, serialization failure, lock timeout) and
   * the queue tried again, so far; a queue that never retries may leave it out.
   */
  readonly transientRetries?: number;
  /** Every registered target, in id order, read from the registry alone (no table is counted). */
  listTargets(): Promise<Target[]>;
  /**
   * The status of the given targets, in the order given (a target no longer registered is left
   * out), or of every target, in id order, when no ids are given. Counting scans each table.
   */
  readStatus(targetIds?: readonly number[]): Promise<TargetStatus[]>;
  /**
   * Throws TargetBrokenError when the target is broken (its table, column or content function
   * gone). `chunked`: the target is chunked, so its chunking is read again with the claim (a
   * whole-row target never becomes chunked: nothing to read).
   */
  claimBatch(
    targetId: number,
    batchSize: number,
    leaseSeconds: number,
    chunked: boolean,
  ): Promise<ClaimedBatch>;
  writeBatch(
    targetId: number,
    leaseToken: string,
    model: string,
    rows: readonly RowEmbedding[],
  ): Promise<WriteOutcome>;
  /**
   * A chunked target's write (write_chunks): each row's chunks replace the ones stored, only
   * while the lease holds the row and its text is still the one chunked.
   */
  writeChunks(
    targetId: number,
    leaseToken: string,
    model: string,
    rows: readonly RowChunks[],
  ): Promise<WriteOutcome>;
  failRows(
    targetId: number,
    leaseToken: string,
    failures: readonly RowFailure[],
  ): Promise<FailOutcome>;
  /** Hands rows back without counting an attempt; returns how many were released. */
  releaseRows(targetId: number, leaseToken: string, keys: readonly string[]): Promise<number>;
}
