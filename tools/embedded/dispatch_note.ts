// The one sentence the embedded database says about the scheduled dispatch, from what the database itself reports missing.

/**
 * From embeddings.dispatch_status.missing ("the scheduled dispatch needs pg_cron, which this
 * database does not have ..."): what it needs and that it is skipped here; null when nothing is missing.
 */
export function dispatchNote(missing: string | null): string | null {
  if (missing === null) return null;
  const needs = missing.match(/needs (.+?), which/)?.[1] ?? "pg_cron";
  return `The scheduled dispatch needs ${needs} and is skipped in the embedded database; it works unchanged on PostgreSQL with ${needs} (Supabase, the local stack).`;
}
