// Which target the search command searches and whether its caller may (an unknown name lists the registered ones), and that an --as-user id names a user.
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import type { SearchCaller } from "../../supabase/functions/_shared/search/search_caller.ts";
import {
  checkSearchTarget,
  type SearchTarget,
} from "../../supabase/functions/_shared/search/search_target.ts";
import { CliFailure } from "./exit_codes.ts";

async function registeredTargetNames(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select t.target_name as name from embedding_search.targets as t order by t.target_id`;
  return rows.map((row) => row.name);
}

/**
 * The target named `name` (or the only one registered, when no name is given), once the caller
 * may search it; a usage error otherwise, naming the registered targets or the missing right.
 */
export async function searchTargetFor(
  sql: Sql,
  caller: SearchCaller,
  name: string | undefined,
): Promise<SearchTarget> {
  const registered = await registeredTargetNames(sql);
  const listed = registered.join(", ") || "none";
  if (name === undefined && registered.length !== 1) {
    throw new CliFailure(`--target is required: the registered targets are ${listed}`);
  }
  const chosen = name ?? registered[0];
  if (!registered.includes(chosen)) {
    throw new CliFailure(`no target is named ${JSON.stringify(chosen)}; registered: ${listed}`);
  }
  const check = await checkSearchTarget(sql, caller, chosen);
  if (!check.ok) throw new CliFailure(check.error);
  return check.target;
}

/**
 * An --as-user id must name a user in auth.users: a mistyped id would otherwise search as nobody
 * and print no row, as if the user had none.
 */
export async function checkSearchUser(sql: Sql, id: string): Promise<void> {
  const [row] = await sql<{ hasUsers: boolean }[]>`
    select pg_catalog.to_regclass('auth.users') is not null as "hasUsers"`;
  if (!row.hasUsers) return;
  const [user] = await sql<{ found: boolean }[]>`
    select exists (select 1 from auth.users as u where u.id = ${id}::uuid) as found`;
  if (!user.found) throw new CliFailure(`no user has the id ${id} (auth.users)`);
}
