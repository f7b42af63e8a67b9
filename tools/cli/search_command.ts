// `deno task cli search "<query>"`: public.search_embeddings over one target, as a user (their RLS applies) or as service_role, the ranked rows printed as a table or JSON.
import { type Command, InvalidArgumentError, Option } from "npm:commander@14.0.3";
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import { searchAsCaller } from "../../supabase/functions/_shared/search/search_as_caller.ts";
import type { SearchCaller } from "../../supabase/functions/_shared/search/search_caller.ts";
import {
  defaultMatchCount,
  matchCountLimits,
  type SearchMode,
  searchModes,
} from "../../supabase/functions/_shared/search/search_request.ts";
import { databaseCommand, type FinishWith } from "./command_declaration.ts";
import { withDatabase } from "./database_session.ts";
import { withConnection } from "./engine_session.ts";
import { exitCodes } from "./exit_codes.ts";
import { providerHelp } from "./provider_choice.ts";
import { providerOption } from "./provider_option.ts";
import { checkQueryText, embedSearchQuery } from "./search_query_embedding.ts";
import { renderSearchReport, type SearchReport } from "./search_report.ts";
import { checkSearchUser, searchTargetFor } from "./search_target_choice.ts";

interface SearchOptions {
  dbUrl?: string;
  target?: string;
  mode: SearchMode;
  asUser?: string;
  limit: number;
  json?: boolean;
  provider?: string;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function userId(raw: string): string {
  if (!uuidPattern.test(raw.trim())) {
    throw new InvalidArgumentError(
      "must be a user's id (auth.users.id), a UUID such as 123e4567-e89b-42d3-a456-426614174000",
    );
  }
  return raw.trim().toLowerCase();
}

function matchCount(raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < matchCountLimits.min || value > matchCountLimits.max) {
    throw new InvalidArgumentError(
      `must be a whole number from ${matchCountLimits.min} to ${matchCountLimits.max}`,
    );
  }
  return value;
}

const helpAfter = `
Runs public.search_embeddings, the function clients call, in a transaction as the caller: with
--as-user, as role authenticated with request.jwt.claims {"sub": <id>, "role": "authenticated"},
so the target table's RLS shows only that user's rows; without it, as service_role, which
bypasses RLS (the first line of the answer says which). The query is embedded only for semantic
and hybrid search, by the configured provider that makes the target's model (--provider, else
EMBEDDING_PROVIDERS, else EMBEDDING_PROVIDER, else local,local-512). The same search in SQL:
select * from public.search_embeddings('<target>', query_text => '...', query_embedding => '[...]');

Exit codes: 0 the search ran (even with no result), 2 bad usage (unknown target, bad mode, not a
UUID, empty query), a provider of another model, or no database.`;

async function runSearch(
  sql: Sql,
  query: string,
  options: SearchOptions,
  databaseUrl: string,
): Promise<SearchReport> {
  const caller: SearchCaller = options.asUser === undefined
    ? { role: "service_role", claims: { role: "service_role" } }
    : { role: "authenticated", claims: { sub: options.asUser, role: "authenticated" } };
  const target = await searchTargetFor(sql, caller, options.target);
  if (options.asUser !== undefined) await checkSearchUser(sql, options.asUser);
  const queryEmbedding = options.mode === "keyword"
    ? null
    : await embedSearchQuery(query, target, options.provider, databaseUrl);
  const results = await searchAsCaller(sql, caller, {
    target: target.name,
    mode: options.mode,
    matchCount: options.limit,
    queryText: query,
    queryEmbedding,
    filters: {},
  });
  return {
    target: target.name,
    model: target.model,
    mode: options.mode,
    query,
    role: caller.role === "service_role" ? "service_role" : "authenticated",
    asUser: options.asUser ?? null,
    count: results.length,
    results,
  };
}

export function registerSearchCommand(program: Command, finish: FinishWith): Command {
  return databaseCommand(program, {
    name: "search",
    summary: "search a target as a user (their RLS applies) or as service_role: ranked rows",
    description:
      "Searches a target with public.search_embeddings (hybrid, semantic or keyword), as a user or as service_role, and prints the ranked rows with a short excerpt of each.",
  })
    .argument("<query>", "the words to search for (embedded for semantic and hybrid search)")
    .option("--target <name>", "the target to search (default: the only one, when only one is)")
    .addOption(
      new Option("--mode <mode>", "how to rank").choices(searchModes).default("hybrid"),
    )
    .option("--as-user <uuid>", "search as this user (role authenticated, their RLS)", userId)
    .option(
      "--limit <n>",
      `rows to answer at most (${matchCountLimits.min}-${matchCountLimits.max})`,
      matchCount,
      defaultMatchCount,
    )
    .option("--json", "print the answer as JSON (target, mode, model, role, asUser, results)")
    .addOption(providerOption(providerHelp))
    .addHelpText("after", helpAfter)
    .action(async (query: string, options: SearchOptions) => {
      checkQueryText(query);
      const report = await withDatabase(
        options.dbUrl,
        (database) =>
          withConnection(
            database.url,
            database.label,
            (sql) => runSearch(sql, query, options, database.url),
          ),
      );
      console.log(options.json ? JSON.stringify(report, null, 2) : renderSearchReport(report));
      finish(exitCodes.ok);
    });
}
