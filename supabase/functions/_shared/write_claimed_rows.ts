// Writes a claimed batch's vectors (write_batch) or its rows' chunks (write_chunks): one call, and when the database refuses it, row by row so one bad row cannot sink the rest.
import { isDatabaseOutage } from "./database_errors.ts";
import { errorMessage } from "./error_message.ts";
import type { RowFailure, WriteOutcome } from "./target_queue.ts";

export interface WrittenRows {
  /** The database's account of every write it accepted, added up; rows in no list were not tried. */
  writtenKeys: string[];
  staleKeys: string[];
  lostKeys: string[];
  /** Rows the database refused on their own: each costs an attempt. */
  failures: RowFailure[];
  /** Rows not written because the database failed (not the rows): handed back without an attempt. */
  untriedKeys: string[];
  /**
   * Set when the database cannot be trusted with more work: it refused every row, or its account
   * of a write did not match the rows sent. Rows not yet accounted for stay leased.
   */
  databaseFailed: string | null;
}

/** A row to write: its vector, or its chunks' vectors. */
type Sent = { key: string };

/** Null when the database's account covers exactly the keys sent, each once; else what is wrong. */
function accountProblem(
  sent: readonly Sent[],
  outcome: WriteOutcome,
): string | null {
  const sentKeys = new Set(sent.map((row) => row.key));
  const answered = [...outcome.writtenKeys, ...outcome.staleKeys, ...outcome.lostKeys];
  const unexpected = answered.filter((key) => !sentKeys.has(key));
  const answeredKeys = new Set(answered);
  const unaccounted = [...sentKeys].filter((key) => !answeredKeys.has(key));
  if (unexpected.length === 0 && unaccounted.length === 0 && answered.length === sentKeys.size) {
    return null;
  }
  return `the database's account of the write does not match the batch (unexpected keys: ${
    unexpected.join(", ") || "none"
  }; unaccounted keys: ${
    unaccounted.join(", ") || "none"
  }; ${answered.length} answers for ${sentKeys.size} rows)`;
}

/** The database failed, not these rows: they go back untried and the run stops. */
function databaseDown(
  result: WrittenRows,
  error: unknown,
  untried: readonly Sent[],
): WrittenRows {
  result.databaseFailed = `the database failed during the write: ${errorMessage(error)}`;
  result.untriedKeys.push(...untried.map((row) => row.key));
  return result;
}

/** Adds an account that matches what was sent; returns false (and says why) when it does not. */
function accept(
  result: WrittenRows,
  sent: readonly Sent[],
  outcome: WriteOutcome,
): boolean {
  const problem = accountProblem(sent, outcome);
  if (problem) {
    result.databaseFailed = problem;
    return false;
  }
  result.writtenKeys.push(...outcome.writtenKeys);
  result.staleKeys.push(...outcome.staleKeys);
  result.lostKeys.push(...outcome.lostKeys);
  return true;
}

/** The batch was refused: row by row, to find out whether a row is to blame or the database is. */
async function writeRowByRow<T extends Sent>(
  result: WrittenRows,
  write: (rows: readonly T[]) => Promise<WriteOutcome>,
  rows: readonly T[],
  batchError: string,
): Promise<WrittenRows> {
  let anyWritten = false;
  for (const [index, row] of rows.entries()) {
    try {
      if (!accept(result, [row], await write([row]))) return result;
      anyWritten = true;
    } catch (error) {
      if (isDatabaseOutage(error)) return databaseDown(result, error, rows.slice(index));
      result.failures.push({
        key: row.key,
        error: `database refused the write: ${errorMessage(error)}`,
      });
    }
  }
  if (!anyWritten) {
    result.databaseFailed = `the database refused every row of the batch: ${batchError}`;
  }
  return result;
}

/**
 * The batch in one call of `write` (write_batch for whole rows, write_chunks for a chunked
 * target's); when the database refuses it, row by row.
 */
export async function writeClaimedRows<T extends Sent>(
  write: (rows: readonly T[]) => Promise<WriteOutcome>,
  rows: readonly T[],
): Promise<WrittenRows> {
  const result: WrittenRows = {
    writtenKeys: [],
    staleKeys: [],
    lostKeys: [],
    failures: [],
    untriedKeys: [],
    databaseFailed: null,
  };
  let batchError: string;
  try {
    accept(result, rows, await write(rows));
    return result;
  } catch (error) {
    if (isDatabaseOutage(error)) return databaseDown(result, error, rows);
    batchError = errorMessage(error);
  }
  if (rows.length === 1) {
    result.failures.push({ key: rows[0].key, error: `database refused the write: ${batchError}` });
    return result;
  }
  return await writeRowByRow(result, write, rows, batchError);
}
