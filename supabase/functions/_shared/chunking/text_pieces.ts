// Cuts a stretch of text into measured pieces no larger than a limit, at the strongest boundaries that allow it: paragraphs, then sentences, then words, then characters.
import type { TextMeasure } from "./chunk_text.ts";
import {
  codePointStarts,
  graphemeStarts,
  paragraphStarts,
  sentenceStarts,
  wordStarts,
} from "./text_units.ts";

/** How strong the boundary at a piece's end is: a chunk prefers to end at a stronger (lower) one. */
export const Boundary = {
  section: 0,
  paragraph: 1,
  sentence: 2,
  word: 3,
  character: 4,
} as const;

export type BoundaryStrength = (typeof Boundary)[keyof typeof Boundary];

/** A stretch [start, end) of the text, measured once; pieces tile the text they were cut from. */
export interface Piece {
  start: number;
  end: number;
  /** The measure of text.slice(start, end). */
  size: number;
  /** The boundary at `end`. */
  boundary: BoundaryStrength;
  /** A heading: a chunk never ends right after it when more of its section follows. */
  keepWithNext: boolean;
}

/** A piece that is no heading. */
function piece(start: number, end: number, size: number, boundary: BoundaryStrength): Piece {
  return { start, end, size, boundary, keepWithNext: false };
}

export interface PieceContext {
  text: string;
  measure: TextMeasure;
}

type UnitStarts = (text: string, start: number, end: number) => number[];

/** The levels a too-large stretch is cut at, in order, with the boundary between their units. */
const levels: readonly { starts: UnitStarts; boundary: BoundaryStrength }[] = [
  { starts: paragraphStarts, boundary: Boundary.paragraph },
  { starts: sentenceStarts, boundary: Boundary.sentence },
  { starts: wordStarts, boundary: Boundary.word },
];

/** The units [start, end) of a level; a unit of only whitespace joins a neighbour. */
function units(text: string, starts: number[], end: number): [number, number][] {
  const found: [number, number][] = [];
  let from = starts[0];
  for (let i = 1; i <= starts.length; i++) {
    const to = i < starts.length ? starts[i] : end;
    if (!/\S/.test(text.slice(from, to))) {
      // Whitespace at the end joins the last unit; elsewhere, the next one.
      if (i === starts.length && found.length > 0) found[found.length - 1][1] = end;
      continue;
    }
    found.push([from, to]);
    from = to;
  }
  return found.length === 0 ? [[starts[0], end]] : found;
}

/**
 * The largest index j in (from, stops.length - 1] such that [stops[from], stops[j]) fits the limit,
 * found by doubling then halving the step, with its measure; j = from when not even one unit fits.
 */
function largestFit(
  context: PieceContext,
  stops: readonly number[],
  from: number,
  limit: number,
): { to: number; size: number } {
  const measureTo = (to: number) => context.measure(context.text.slice(stops[from], stops[to]));
  const last = stops.length - 1;
  let good = { to: from, size: 0 };
  let bad = last + 1;
  for (let step = 1; good.to < last; step *= 2) {
    const to = Math.min(from + step, last);
    const size = measureTo(to);
    if (size > limit) {
      bad = to;
      break;
    }
    good = { to, size };
  }
  while (bad - good.to > 1) {
    const to = Math.floor((good.to + bad) / 2);
    const size = measureTo(to);
    if (size > limit) bad = to;
    else good = { to, size };
  }
  return good;
}

/** A stretch [start, end) of the text to cut into pieces of at most `limit`. */
interface Stretch {
  start: number;
  end: number;
  limit: number;
  /** The boundary at `end`, which the last piece keeps. */
  endBoundary: BoundaryStrength;
}

/**
 * A stretch larger than its limit with no word boundary in it, cut by grapheme clusters (a cluster
 * larger than the limit by code points; a code point larger than the limit stays whole).
 */
function cutByCharacters(
  context: PieceContext,
  { start, end, limit, endBoundary }: Stretch,
  out: Piece[],
  byCodePoint = false,
): void {
  const stops = [
    ...(byCodePoint ? codePointStarts : graphemeStarts)(context.text, start, end),
    end,
  ];
  let from = 0;
  while (from < stops.length - 1) {
    const fit = largestFit(context, stops, from, limit);
    if (fit.to === from) {
      const [unitStart, unitEnd] = [stops[from], stops[from + 1]];
      const boundary = unitEnd === end ? endBoundary : Boundary.character;
      if (byCodePoint) {
        const size = context.measure(context.text.slice(unitStart, unitEnd));
        out.push(piece(unitStart, unitEnd, size, boundary));
      } else {
        const unit = { start: unitStart, end: unitEnd, limit, endBoundary: boundary };
        cutByCharacters(context, unit, out, true);
      }
      from++;
      continue;
    }
    const pieceEnd = stops[fit.to];
    const boundary = pieceEnd === end ? endBoundary : Boundary.character;
    out.push(piece(stops[from], pieceEnd, fit.size, boundary));
    from = fit.to;
  }
}

/**
 * Appends to `out` the pieces of [start, end): the whole stretch when it fits the limit, otherwise
 * its units at `level` and below, each cut further only when it is itself too large.
 */
export function cutIntoPieces(
  context: PieceContext,
  start: number,
  end: number,
  limit: number,
  endBoundary: BoundaryStrength,
  out: Piece[],
  level = 0,
  knownSize?: number,
): void {
  const size = knownSize ?? context.measure(context.text.slice(start, end));
  if (size <= limit) {
    out.push(piece(start, end, size, endBoundary));
    return;
  }
  if (level >= levels.length) {
    cutByCharacters(context, { start, end, limit, endBoundary }, out);
    return;
  }
  const { starts, boundary } = levels[level];
  const found = units(context.text, starts(context.text, start, end), end);
  if (found.length === 1) {
    cutIntoPieces(context, start, end, limit, endBoundary, out, level + 1, size);
    return;
  }
  for (const [unitStart, unitEnd] of found) {
    const unitBoundary = unitEnd === end ? endBoundary : boundary;
    cutIntoPieces(context, unitStart, unitEnd, limit, unitBoundary, out, level + 1);
  }
}
