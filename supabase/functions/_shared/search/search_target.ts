// Looks a search target up as the caller (through embedding_search.targets): whether it may be searched at all, and its model, which the query must be embedded with; the check that runs before any provider call.
import type { Sql } from "../database.ts";
import { asCaller } from "./search_as_caller.ts";
import type { SearchCaller } from "./search_caller.ts";

export interface SearchTarget {
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
 * The target of that name if the caller may search it, else why not: 404 when the caller sees no
 * such target, 409 when its table or content function is gone, 403 when the caller may not read
 * its table or run its content function. One indexed lookup as the caller, the same checks
 * public.search_embeddings makes, so a search that would be refused costs no provider call.
 */
export async function checkSearchTarget(
  sql: Sql,
  caller: SearchCaller,
  name: string,
): Promise<TargetCheck> {
  const [row] = await asCaller(sql, caller, (transaction) =>
    transaction<TargetRow[]>`
      select t.target_name as name, t.model, t.dimensions,
             t.source_table is not null and t.content_function is not null as usable,
             t.caller_can_read as "canRead",
             t.caller_can_run_content_function as "canRunContentFunction"
      from embedding_search.targets as t
      where t.target_name = ${name}`);
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
