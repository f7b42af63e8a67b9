// The TargetQueue over postgres.js: calls the embeddings.* SECURITY DEFINER API as service_role.
import type postgres from "npm:postgres@3.4.7";
import type {
  ClaimedBatch,
  FailOutcome,
  RowChunks,
  RowEmbedding,
  RowFailure,
  Target,
  TargetQueue,
  TargetStatus,
  WriteOutcome,
} from "./target_queue.ts";
import { TargetBrokenError } from "./target_queue.ts";
import { isTransientDatabaseError } from "./database_errors.ts";
import { parseChunking } from "./target_chunking.ts";

/** Tries of one call when the database aborts it as a deadlock, serialization failure or lock timeout. */
const transientTries = 4;

/** A random wait before another try, longer each time: two workers that collided do not again. */
function jitteredWait(attempt: number): Promise<void> {
  const ms = (25 + Math.random() * 75) * 2 ** attempt;
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Sql = postgres.Sql;
type TransactionSql = postgres.TransactionSql;

interface TargetRow {
  id: string;
  name: string;
  source: string;
  model: string;
  dimensions: number;
  /** embeddings.targets.chunking, as postgres.js parses jsonb. */
  chunking: unknown;
}

interface StatusRow {
  target_id: string;
  name: string;
  source: string;
  model: string;
  dimensions: number;
  total_rows: string | null;
  embedded: string;
  chunks: string | null;
  pending: string;
  in_flight: string;
  dead_lettered: string;
  retrying: string;
  next_retry_at: Date | null;
  leased_until: Date | null;
  backfill_done: boolean;
  last_error: string | null;
  last_write_at: Date | null;
  broken: string | null;
  chunking: unknown;
}

interface ClaimRow {
  row_key: string;
  content: string | null;
  content_hash: string | null;
  lease: string;
  content_error: string | null;
}

/** claim_batch's SQLSTATE for a target that cannot be worked ("target <name> is broken: ..."). */
const targetBrokenSqlState = "55000";

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function toTargetStatus(row: StatusRow): TargetStatus {
  return {
    id: Number(row.target_id),
    name: row.name,
    source: row.source,
    model: row.model,
    dimensions: row.dimensions,
    chunking: parseChunking(row.chunking),
    broken: row.broken,
    totalRows: row.total_rows === null ? null : Number(row.total_rows),
    embedded: Number(row.embedded),
    chunks: row.chunks === null ? null : Number(row.chunks),
    pending: Number(row.pending),
    inFlight: Number(row.in_flight),
    deadLettered: Number(row.dead_lettered),
    retrying: Number(row.retrying),
    nextRetryAt: row.next_retry_at?.toISOString() ?? null,
    leasedUntil: row.leased_until?.toISOString() ?? null,
    backfillDone: row.backfill_done,
    lastError: row.last_error,
    lastWriteAt: row.last_write_at?.toISOString() ?? null,
  };
}

export class PostgresTargetQueue implements TargetQueue {
  readonly #sql: Sql;
  /** Calls tried again after the database aborted them as transient; no row was charged. */
  transientRetries = 0;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /**
   * Runs `work` as service_role, the role the API is granted to, whatever role the connection
   * string logs in as: the worker can only do what the API allows. A deadlock, serialization
   * failure or lock timeout is tried again, a few times, after a random wait.
   */
  async #asServiceRole<T>(work: (tx: TransactionSql) => Promise<T>): Promise<T> {
    // Each call is one transaction: an aborted one changed nothing, so trying it again is safe.
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#sql.begin(async (tx) => {
          await tx`set local role service_role`;
          return await work(tx);
        }) as T;
      } catch (error) {
        if (!isTransientDatabaseError(error) || attempt >= transientTries) throw error;
        this.transientRetries += 1;
        await jitteredWait(attempt);
      }
    }
  }

  listTargets(): Promise<Target[]> {
    return this.#asServiceRole(async (tx) => {
      const rows = await tx<TargetRow[]>`
        select t.id, t.name,
               case when t.chunking is null
                 then format('%I.%I.%I', t.table_schema, t.table_name, t.embedding_column)
                 -- As embeddings.status says it.
                 else format('%I.%I (chunks in embedding_chunks.%I)', t.table_schema, t.table_name,
                   t.name)
               end as source,
               t.model, t.dimensions, t.chunking
        from embeddings.targets as t
        order by t.id`;
      return rows.map((row) => ({
        id: Number(row.id),
        name: row.name,
        source: row.source,
        model: row.model,
        dimensions: row.dimensions,
        chunking: parseChunking(row.chunking),
      }));
    });
  }

  readStatus(targetIds?: readonly number[]): Promise<TargetStatus[]> {
    return this.#asServiceRole(async (tx) => {
      const rows = targetIds === undefined
        ? await tx<StatusRow[]>`
          select s.target_id, s.name, s.source, s.model, s.dimensions, s.total_rows, s.embedded,
                 s.chunks, s.pending, s.in_flight, s.dead_lettered, s.retrying, s.next_retry_at,
                 s.leased_until, s.backfill_done, s.last_error,
                 s.last_write_at, s.broken, t.chunking
          from embeddings.status() as s
          left join embeddings.targets as t on t.id = s.target_id
          order by s.target_id`
        // One call of embeddings.status(id) per id: only the targets asked for are counted.
        : await tx<StatusRow[]>`
          select s.target_id, s.name, s.source, s.model, s.dimensions, s.total_rows, s.embedded,
                 s.chunks, s.pending, s.in_flight, s.dead_lettered, s.retrying, s.next_retry_at,
                 s.leased_until, s.backfill_done, s.last_error,
                 s.last_write_at, s.broken, t.chunking
          from unnest(${[...targetIds]}::bigint[]) with ordinality as requested(id, position)
          cross join lateral embeddings.status(requested.id) as s
          left join embeddings.targets as t on t.id = s.target_id
          order by requested.position`;
      return rows.map(toTargetStatus);
    });
  }

  async claimBatch(
    targetId: number,
    batchSize: number,
    leaseSeconds: number,
    chunked: boolean,
  ): Promise<ClaimedBatch> {
    let rows: ClaimRow[];
    let chunking: unknown = null;
    try {
      rows = await this.#asServiceRole(async (tx) => {
        const claimed = await tx<ClaimRow[]>`
          select row_key, content, content_hash, lease_token::text as lease, content_error
          from embeddings.claim_batch(${targetId}::bigint, ${batchSize}::integer, ${leaseSeconds}::integer)`;
        // Read after the claim, before its commit: a set_target_chunking committed since the
        // worker listed the targets is seen here; one committed after takes these leases back.
        if (chunked && claimed.length > 0) {
          [{ chunking }] = await tx<{ chunking: unknown }[]>`
            select t.chunking from embeddings.targets as t where t.id = ${targetId}::bigint`;
        }
        return claimed;
      });
    } catch (error) {
      if (sqlState(error) === targetBrokenSqlState) {
        throw new TargetBrokenError((error as Error).message);
      }
      throw error;
    }
    return {
      leaseToken: rows[0]?.lease ?? null,
      rows: rows.map((row) => ({
        key: row.row_key,
        // A content function may return null; the worker treats it as empty text.
        content: row.content ?? "",
        contentHash: row.content_hash ?? "",
        contentError: row.content_error,
      })),
      chunking: parseChunking(chunking),
    };
  }

  writeBatch(
    targetId: number,
    leaseToken: string,
    model: string,
    rows: readonly RowEmbedding[],
  ): Promise<WriteOutcome> {
    // Three arrays, the vectors in pgvector's text form: parsed in C, not as JSON numbers.
    const keys = rows.map((row) => row.key);
    const contentHashes = rows.map((row) => row.contentHash);
    // One array literal, written here: a vector's text is digits, signs, points, commas and
    // brackets, never a quote or a backslash, so it needs no escaping; postgres.js would scan
    // the megabytes of a batch twice to escape them.
    const vectors = `{${rows.map((row) => `"[${row.embedding.join(",")}]"`).join(",")}}`;
    return this.#asServiceRole(async (tx) => {
      const [outcome] = await tx<
        { written_keys: string[]; stale_keys: string[]; lost_keys: string[] }[]
      >`
        select written_keys, stale_keys, lost_keys
        from embeddings.write_batch(${targetId}::bigint, ${leaseToken}::uuid, ${model},
          ${keys}::text[], ${contentHashes}::text[], ${vectors}::text[])`;
      return {
        writtenKeys: outcome.written_keys,
        staleKeys: outcome.stale_keys,
        lostKeys: outcome.lost_keys,
      };
    });
  }

  writeChunks(
    targetId: number,
    leaseToken: string,
    model: string,
    rows: readonly RowChunks[],
  ): Promise<WriteOutcome> {
    const chunks = rows.flatMap((row, position) =>
      row.chunks.map((chunk) => ({ row: position + 1, chunk }))
    );
    // The vectors as one array literal, as writeBatch sends them; the chunks' texts are bound
    // as a text[] parameter (postgres.js escapes them: they may hold any character).
    const vectors = `{${chunks.map(({ chunk }) => `"[${chunk.embedding.join(",")}]"`).join(",")}}`;
    return this.#asServiceRole(async (tx) => {
      const [outcome] = await tx<
        { written_keys: string[]; stale_keys: string[]; lost_keys: string[] }[]
      >`
        select written_keys, stale_keys, lost_keys
        from embeddings.write_chunks(${targetId}::bigint, ${leaseToken}::uuid, ${model},
          ${rows.map((row) => row.key)}::text[], ${rows.map((row) => row.contentHash)}::text[],
          ${chunks.map(({ row }) => row)}::integer[],
          ${chunks.map(({ chunk }) => chunk.start)}::integer[],
          ${chunks.map(({ chunk }) => chunk.end)}::integer[],
          ${chunks.map(({ chunk }) => chunk.text)}::text[], ${vectors}::text[])`;
      return {
        writtenKeys: outcome.written_keys,
        staleKeys: outcome.stale_keys,
        lostKeys: outcome.lost_keys,
      };
    });
  }

  failRows(
    targetId: number,
    leaseToken: string,
    failures: readonly RowFailure[],
  ): Promise<FailOutcome> {
    const items = failures.map((failure) => ({ key: failure.key, error: failure.error }));
    return this.#asServiceRole(async (tx) => {
      const [outcome] = await tx<{ retrying_keys: string[]; dead_keys: string[] }[]>`
        select retrying_keys, dead_keys
        from embeddings.fail_rows(${targetId}::bigint, ${leaseToken}::uuid, ${tx.json(items)})`;
      return { retryingKeys: outcome.retrying_keys, deadKeys: outcome.dead_keys };
    });
  }

  releaseRows(targetId: number, leaseToken: string, keys: readonly string[]): Promise<number> {
    return this.#asServiceRole(async (tx) => {
      const [row] = await tx<{ released: number }[]>`
        select embeddings.release_batch(${targetId}::bigint, ${leaseToken}::uuid, ${[
        ...keys,
      ]}::text[]) as released`;
      return row.released;
    });
  }
}
