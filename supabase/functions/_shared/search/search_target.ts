// Looks a search target up for a caller: whether that caller may search it at all, and its model, which the query must be embedded with; the check that runs before any provider call.
import type { Sql } from "../database.ts";
import type { SearchCaller } from "./search_caller.ts";

export interface SearchTarget {
  id: number;
  name: string;
  model: string;
  dimensions: number;
}

export type TargetCheck =
  | { ok: true; target: SearchTarget }
  | { ok: false; status: 403 | 404 | 409; error: string };

interface TargetRow extends SearchTarget {
  usable: boolean;
  canRead: boolean;
  canRunContentFunction: boolean;
}

/**
 * The target of that name if the caller may search it, else why not: 404 when there is no such
 * target, 409 when its table or content function is gone, 403 when the caller's role may not read
 * its table or run its content function. One indexed lookup by the function's own role, which
 * sees every target (a client reading embedding_search.targets sees only those it may read, so
 * the refusal would be a 404), with the caller's role's privileges: the same checks
 * embedding_search.plan_search makes, so a search that would be refused costs no provider call.
 */
export async function checkSearchTarget(
  sql: Sql,
  caller: SearchCaller,
  name: string,
): Promise<TargetCheck> {
  const [row] = await sql<TargetRow[]>`
    select t.target_id::integer as id, t.target_name as name, t.model, t.dimensions,
           t.source_table is not null and t.content_function is not null as usable,
           coalesce(pg_catalog.has_table_privilege(${caller.role}, t.source_table, 'select'), false)
             as "canRead",
           coalesce(pg_catalog.has_function_privilege(${caller.role}, t.content_function_oid, 'execute'), false)
             as "canRunContentFunction"
    from embedding_search.targets as t
    where t.target_name = ${name}`;
  if (!row) {
    return { ok: false, status: 404, error: `no embedding target named ${JSON.stringify(name)}` };
  }
  if (!row.usable) {
    return {
      ok: false,
      status: 409,
      error: `target ${row.name} cannot be searched now: its table or content function is gone`,
    };
  }
  if (!row.canRead || !row.canRunContentFunction) {
    return {
      ok: false,
      status: 403,
      error:
        `role ${caller.role} may not read the rows of target ${row.name}, so it cannot search it`,
    };
  }
  const { usable: _usable, canRead: _read, canRunContentFunction: _run, ...target } = row;
  return { ok: true, target };
}
