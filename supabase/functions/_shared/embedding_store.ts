// What the engine needs from the database for one target table: pending rows, a verified batch write, counts.

export interface PendingRow {
  id: string;
  /** The text to embed, as the database defines it. */
  content: string;
}

export interface EmbeddingWrite {
  id: string;
  embedding: number[];
}

/** The database's own account of a batch write. */
export interface WriteOutcome {
  /** Rows the UPDATE changed (from RETURNING). */
  writtenIds: string[];
  /** Rows it was asked to write and did not (no such row). */
  unwrittenIds: string[];
}

export interface EmbeddingCounts {
  total: number;
  embedded: number;
  pending: number;
}

export interface EmbeddingStore {
  /** Table name, as reports show it. */
  readonly target: string;
  /** Declared dimensions of the embedding column. */
  readonly dimensions: number;
  /** Up to `limit` rows without an embedding whose id sorts after `afterId`, in id order. */
  pendingRows(afterId: string | null, limit: number): Promise<PendingRow[]>;
  writeEmbeddings(rows: readonly EmbeddingWrite[]): Promise<WriteOutcome>;
  counts(): Promise<EmbeddingCounts>;
}
