// How the search command shows its answer: a line saying whom it searched as, then the ranked rows as a table (key, score, ranked by, a short excerpt), or all of it as JSON.
import type { SearchHit } from "../../supabase/functions/_shared/search/search_as_caller.ts";
import type { SearchMode } from "../../supabase/functions/_shared/search/search_request.ts";
import { formatTable, plural } from "./text_table.ts";

export interface SearchReport {
  target: string;
  model: string;
  mode: SearchMode;
  query: string;
  /** The role the search ran as: authenticated for --as-user, else service_role. */
  role: "authenticated" | "service_role";
  /** The user's id (the JWT's sub) with --as-user; null as service_role. */
  asUser: string | null;
  count: number;
  results: SearchHit[];
}

/** How long an excerpt may be, in characters, before it is cut with an ellipsis. */
export const excerptLength = 80;

const uuidLike = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const timestampLike = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

/** Whitespace folded to single spaces, cut to `length` characters with an ellipsis. */
export function shorten(text: string, length = excerptLength): string {
  const folded = text.replace(/\s+/g, " ").trim();
  return folded.length <= length ? folded : `${folded.slice(0, length - 1).trimEnd()}…`;
}

/**
 * A line of the hit to recognise it by: the best chunk's text when the target is chunked and a
 * chunk ranked the row, else the row's own text columns (not its key, ids or timestamps), in order.
 */
export function excerptOf(hit: SearchHit): string {
  if (hit.chunk) return shorten(hit.chunk.text);
  const texts = Object.values(hit.row).filter((value): value is string =>
    typeof value === "string" && value !== hit.key && !uuidLike.test(value) &&
    !timestampLike.test(value) && value.trim() !== ""
  );
  return shorten(texts.join(" · "));
}

/** Who the search ran as, in words: the reader must never wonder whether RLS applied. */
export function describeCaller(report: Pick<SearchReport, "role" | "asUser">): string {
  return report.asUser === null
    ? "as service_role (RLS bypassed: every row of the table)"
    : `as user ${report.asUser} (role authenticated: the table's RLS decides which rows)`;
}

function chunkPlace(hit: SearchHit): string {
  return hit.chunk ? `chunk ${hit.chunk.index} [${hit.chunk.start}-${hit.chunk.end})` : "";
}

/** The report as text: a heading line, then one table row per hit, best first. */
export function renderSearchReport(report: SearchReport): string {
  const heading = [
    `search ${report.target} for ${
      JSON.stringify(shorten(report.query, 60))
    } (${report.mode}, model ${report.model}): ${plural(report.count, "result")}`,
    `searched ${describeCaller(report)}`,
  ].join("\n");
  if (report.results.length === 0) return heading;
  const chunked = report.results.some((hit) => hit.chunk);
  const header = ["#", "key", "score", "ranked by", ...(chunked ? ["chunk"] : []), "excerpt"];
  const rows = report.results.map((hit, position) => [
    String(position + 1),
    hit.key,
    hit.score.toFixed(4),
    hit.rankedBy.join("+"),
    ...(chunked ? [chunkPlace(hit)] : []),
    excerptOf(hit),
  ]);
  return [heading, ...formatTable(header, rows, { rightAligned: [0, 2] })].join("\n");
}
