// Packs measured pieces into chunks no larger than the size: a chunk ends at the strongest boundary in its second half, and starts by repeating the previous chunk's last words, up to the overlap.
import type { TextMeasure } from "./chunk_text.ts";
import type { Piece } from "./text_pieces.ts";
import { wordStarts } from "./text_units.ts";

export interface PackContext {
  text: string;
  size: number;
  overlap: number;
  measure: TextMeasure;
}

/** A chunk's offsets into the text, end exclusive. */
export interface ChunkSpan {
  start: number;
  end: number;
}

/**
 * How many of pieces[from, fitted) the chunk takes: the cut after the strongest boundary among
 * those that leave the chunk at least half the size (the latest of equals), never right after a
 * heading; when none reaches half, the latest cut.
 */
function bestCut(
  pieces: readonly Piece[],
  from: number,
  fitted: number,
  startSize: number,
  size: number,
): number {
  let best = -1;
  let latest = -1;
  let sum = startSize;
  for (let k = from; k < fitted; k++) {
    sum += pieces[k].size;
    if (pieces[k].keepWithNext) continue;
    latest = k + 1;
    if (sum * 2 >= size && (best === -1 || pieces[k].boundary <= pieces[best - 1].boundary)) {
      best = k + 1;
    }
  }
  if (best !== -1) return best;
  return latest !== -1 ? latest : fitted;
}

/**
 * Where the chunk after [start, end) starts: the earliest word start in it (after `start`, and
 * not before `floor`) from which the rest of the chunk fits the overlap; null when none does.
 * The measure shrinks as the start moves right, so the start is found by halving.
 */
function overlapStart(
  context: PackContext,
  start: number,
  end: number,
  floor: number,
): number | null {
  if (context.overlap <= 0) return null;
  const candidates = wordStarts(context.text, start, end)
    .filter((at) => at > start && at >= floor);
  const fits = (at: number) => context.measure(context.text.slice(at, end)) <= context.overlap;
  let low = 0;
  let high = candidates.length;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (fits(candidates[middle])) high = middle;
    else low = middle + 1;
  }
  return low < candidates.length ? candidates[low] : null;
}

/**
 * The chunks of the text the pieces tile, in order. Every piece is in a chunk but whitespace that
 * fits in no chunk beside text (only when whitespace runs longer than the size); a chunk is no
 * larger than the size unless one piece is (a code point the size cannot hold). The overlap never
 * reaches before `floor` (a section's heading).
 */
export function packPieces(
  context: PackContext,
  pieces: readonly Piece[],
  floor: number,
): ChunkSpan[] {
  const { text, size, measure } = context;
  const spans: ChunkSpan[] = [];
  let from = 0;
  let overlapAt: number | null = null;
  while (from < pieces.length) {
    const start = overlapAt ?? pieces[from].start;
    const startSize = overlapAt === null ? 0 : measure(text.slice(overlapAt, pieces[from].start));
    let fitted = from;
    let sum = startSize;
    while (fitted < pieces.length && sum + pieces[fitted].size <= size) {
      sum += pieces[fitted++].size;
    }
    if (fitted === from && overlapAt !== null) {
      // The next piece does not fit beside the overlap: this chunk repeats nothing.
      overlapAt = null;
      continue;
    }
    let cut = fitted === from
      ? from + 1
      : fitted < pieces.length
      ? bestCut(pieces, from, fitted, startSize, size)
      : fitted;
    // A measure need not add up over pieces (an estimate rounds): the chunk is measured whole.
    while (cut > from + 1 && measure(text.slice(start, pieces[cut - 1].end)) > size) cut--;
    const end = pieces[cut - 1].end;
    if (overlapAt !== null && cut === from + 1 && measure(text.slice(start, end)) > size) {
      overlapAt = null;
      continue;
    }
    from = cut;
    if (!/\S/.test(text.slice(start, end))) {
      // Whitespace that could share no chunk with text (a run longer than the size): left out.
      overlapAt = null;
      continue;
    }
    spans.push({ start, end });
    if (from < pieces.length) overlapAt = overlapStart(context, start, end, floor);
  }
  return spans;
}
