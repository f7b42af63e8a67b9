// Tells an error the database had (a dropped connection, a timeout, a shutdown) from one a row caused: the first must never cost a row an attempt.

/**
 * SQLSTATE classes and codes of failures that are the database's, not the statement's data:
 * connection exceptions (08), insufficient resources (53), operator intervention such as a
 * statement timeout or an administrator's terminate (57), system errors (58), and serialization
 * failures, deadlocks and lock timeouts, which only need another try.
 */
const outageClasses = ["08", "53", "57", "58"];
const outageCodes = ["40001", "40P01", "55P03"];

/**
 * Serialization failure, deadlock and lock timeout: the database asking the client to try the
 * transaction again. The queue retries them itself; only when they persist is the database down.
 */
const transientCodes = ["40001", "40P01", "55P03"];

/** True when `error` is a transaction the database aborted only to be tried again. */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && transientCodes.includes(code);
}

/** True when `error` says the database or the connection failed, whatever the rows were. */
export function isDatabaseOutage(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  // postgres.js and the runtime name connection failures in words (CONNECTION_CLOSED, ECONNRESET).
  if (!/^[0-9A-Z]{5}$/.test(code) || code.startsWith("CONNECTION")) return true;
  return outageClasses.includes(code.slice(0, 2)) || outageCodes.includes(code);
}
