// `deno task cli backfill --estimate`: what a backfill would send to the provider and what it costs, read from embeddings.estimate_backfill, calling no provider.
import { InvalidArgumentError } from "npm:commander@14.0.3";
import { openAiInputLimit } from "../../supabase/functions/_shared/providers/openai_compatible_provider.ts";
import { type ProviderSpec, routerFor } from "./provider_choice.ts";
import type { ServiceRoleSql } from "./service_role_session.ts";
import { formatCount, formatTable } from "./text_table.ts";

/** One target's line of embeddings.estimate_backfill; counts are null for a broken target. */
export interface TargetEstimate {
  targetId: number;
  name: string;
  model: string;
  queued: number | null;
  notBackfilled: number | null;
  withoutText: number | null;
  rowsToEmbed: number | null;
  characters: number | null;
  estimatedTokens: number | null;
  price: number | null;
  broken: string | null;
  /** Each of its texts counts at most this many characters: its provider cuts longer ones (null: no cut). */
  maxCharactersPerText: number | null;
}

export interface BackfillEstimate {
  targets: TargetEstimate[];
  total: { rowsToEmbed: number; characters: number; estimatedTokens: number; price: number | null };
  pricePerMillion: number | null;
  /** The cut of the targets an OpenAI-compatible provider embeds (null: none is), as each target's. */
  maxCharactersPerText: number | null;
  /** The engine's rule (null when no target was read). */
  charactersPerToken: number | null;
}

/** --price-per-million: a price per million tokens, zero or more. */
export function pricePerMillion(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError("must be a price per million tokens, zero or more");
  }
  return value;
}

/** A target as the estimate routes it to its provider. */
export interface EstimatedTarget {
  id: number;
  name: string;
  model: string;
  dimensions: number;
}

/** The characters of each text a target's provider is sent at most (null: the whole text). */
export type EstimateCut = (target: EstimatedTarget) => number | null;

/**
 * Each target's cut, by the provider that embeds its model: an OpenAI-compatible endpoint gets texts
 * cut to its input limit (and bills what it gets); the local models and gte-small cost nothing per
 * token, and a target no provider serves is skipped, so theirs is not counted.
 */
export function estimateCutFor(provider: ProviderSpec): EstimateCut {
  if (provider.kind !== "configured") return () => null;
  const router = routerFor(provider);
  return (target) => {
    const route = router.route(target);
    return route.ok && route.entry.name === "openai" ? openAiInputLimit.maxCharacters : null;
  };
}

/** bigint and numeric columns arrive as text; null stays null. */
function count(value: string | null): number | null {
  return value === null ? null : Number(value);
}

/** One target's line of embeddings.estimate_backfill, its texts cut at `maxCharacters`. */
async function readTargetEstimate(
  sql: ServiceRoleSql,
  targetId: number,
  price: number | null,
  maxCharacters: number | null,
): Promise<{ estimate: TargetEstimate; charactersPerToken: number | null }> {
  const [row] = await sql<Record<string, string | null>[]>`
    select e.target_id::text, e.name, e.model, e.queued::text, e.not_backfilled::text,
           e.without_text::text, e.rows_to_embed::text, e.characters::text,
           e.estimated_tokens::text, e.price::text, e.characters_per_token::text, e.broken
    from embeddings.estimate_backfill(${targetId}::bigint, ${price}::numeric,
      ${maxCharacters}::integer) as e`;
  const estimate: TargetEstimate = {
    targetId: Number(row.target_id),
    name: row.name ?? "",
    model: row.model ?? "",
    queued: count(row.queued),
    notBackfilled: count(row.not_backfilled),
    withoutText: count(row.without_text),
    rowsToEmbed: count(row.rows_to_embed),
    characters: count(row.characters),
    estimatedTokens: count(row.estimated_tokens),
    price: count(row.price),
    broken: row.broken,
    maxCharactersPerText: maxCharacters,
  };
  return { estimate, charactersPerToken: count(row.characters_per_token) };
}

/** Reads the estimate of each of `targets`, in order, each cut as its provider cuts it. */
export async function readBackfillEstimate(
  sql: ServiceRoleSql,
  targets: readonly EstimatedTarget[],
  price: number | null,
  cutFor: EstimateCut,
): Promise<BackfillEstimate> {
  const estimates: TargetEstimate[] = [];
  let charactersPerToken: number | null = null;
  for (const target of targets) {
    const read = await readTargetEstimate(sql, target.id, price, cutFor(target));
    estimates.push(read.estimate);
    charactersPerToken ??= read.charactersPerToken;
  }
  const sum = (pick: (target: TargetEstimate) => number | null) =>
    estimates.reduce((total, target) => total + (pick(target) ?? 0), 0);
  return {
    targets: estimates,
    total: {
      rowsToEmbed: sum((target) => target.rowsToEmbed),
      characters: sum((target) => target.characters),
      estimatedTokens: sum((target) => target.estimatedTokens),
      price: price === null ? null : Number(sum((target) => target.price).toFixed(6)),
    },
    pricePerMillion: price,
    maxCharactersPerText: estimates.find((target) => target.maxCharactersPerText !== null)
      ?.maxCharactersPerText ?? null,
    charactersPerToken,
  };
}

function cell(value: number | null): string {
  return value === null ? "-" : formatCount(value);
}

function money(value: number | null): string {
  // Small prices keep three significant digits: 0.000132, not 0.0001.
  if (value === null) return "-";
  return value >= 1 || value === 0 ? value.toFixed(2) : String(Number(value.toPrecision(3)));
}

/** The estimate as a table, a total line and what the figures mean. */
export function renderBackfillEstimate(estimate: BackfillEstimate): string {
  const header = [
    "target",
    "model",
    "queued",
    "not backfilled",
    "no text",
    "rows to embed",
    "characters",
    "est. tokens",
    "price",
  ];
  const rows = estimate.targets.map((target) => [
    target.name,
    target.model,
    cell(target.queued),
    cell(target.notBackfilled),
    cell(target.withoutText),
    cell(target.rowsToEmbed),
    cell(target.characters),
    cell(target.estimatedTokens),
    money(target.price),
  ]);
  const { total } = estimate;
  rows.push([
    "total",
    "",
    "",
    "",
    "",
    formatCount(total.rowsToEmbed),
    formatCount(total.characters),
    formatCount(total.estimatedTokens),
    money(total.price),
  ]);
  const lines = formatTable(header, rows, { rightAligned: [2, 3, 4, 5, 6, 7, 8] });
  for (const target of estimate.targets) {
    if (target.broken) lines.push(`  ${target.name} is broken, not counted: ${target.broken}`);
  }
  lines.push(
    `  Estimated, no provider called: tokens at ${estimate.charactersPerToken} characters a token, per row${
      estimate.maxCharactersPerText === null
        ? ""
        : `; each text of a target the openai provider embeds counted up to ${
          formatCount(estimate.maxCharactersPerText)
        } characters, where it cuts it`
    }; ${
      estimate.pricePerMillion === null
        ? "add --price-per-million P for the price"
        : `price at ${estimate.pricePerMillion} per million tokens`
    }.`,
  );
  return lines.join("\n");
}
