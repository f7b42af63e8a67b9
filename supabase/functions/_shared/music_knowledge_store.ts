// The music_knowledge EmbeddingStore: calls the embeddings.* SECURITY DEFINER API as service_role over postgres.js.
import type postgres from "npm:postgres@3.4.7";
import type {
  EmbeddingCounts,
  EmbeddingStore,
  EmbeddingWrite,
  PendingRow,
  WriteOutcome,
} from "./embedding_store.ts";

type Sql = postgres.Sql;
type TransactionSql = postgres.TransactionSql;

export class MusicKnowledgeStore implements EmbeddingStore {
  readonly target = "music_knowledge";
  readonly dimensions = 384;
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /**
   * Runs `work` as service_role, the role the API is granted to, whatever role the connection
   * string logs in as: the engine can only do what the API allows.
   */
  async #asServiceRole<T>(work: (tx: TransactionSql) => Promise<T>): Promise<T> {
    return await this.#sql.begin(async (tx) => {
      await tx`set local role service_role`;
      return await work(tx);
    }) as T;
  }

  pendingRows(afterId: string | null, limit: number): Promise<PendingRow[]> {
    return this.#asServiceRole(async (tx) => {
      const rows = await tx<{ id: string; content: string }[]>`
        select id, content from embeddings.pending_music_knowledge(${afterId}::uuid, ${limit}::integer)`;
      return rows.map((row) => ({ id: row.id, content: row.content }));
    });
  }

  writeEmbeddings(rows: readonly EmbeddingWrite[]): Promise<WriteOutcome> {
    const batch = rows.map((row) => ({ id: row.id, embedding: row.embedding }));
    return this.#asServiceRole(async (tx) => {
      const [outcome] = await tx<{ written_ids: string[]; unwritten_ids: string[] }[]>`
        select written_ids, unwritten_ids
        from embeddings.write_music_knowledge_embeddings(${tx.json(batch)})`;
      return { writtenIds: outcome.written_ids, unwrittenIds: outcome.unwritten_ids };
    });
  }

  counts(): Promise<EmbeddingCounts> {
    return this.#asServiceRole(async (tx) => {
      const [row] = await tx<{ total: string; embedded: string; pending: string }[]>`
        select total, embedded, pending from embeddings.music_knowledge_embedding_counts()`;
      return {
        total: Number(row.total),
        embedded: Number(row.embedded),
        pending: Number(row.pending),
      };
    });
  }
}
