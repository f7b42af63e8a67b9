// Splits a row's text into the chunks a chunked target embeds: sized by characters or estimated tokens, with overlap, cut at paragraph, sentence or word boundaries where it can.

/** A chunked target's chunking, as embeddings.targets.chunking holds it. */
export interface ChunkingOptions {
  /** What `size` and `overlap` count. */
  unit: "characters" | "tokens";
  /** The largest chunk, in `unit`. */
  size: number;
  /** How much of the previous chunk's end a chunk repeats, in `unit`; less than `size`. */
  overlap: number;
  /** `recursive`: paragraphs, then sentences, then words; `markdown`: also keeps a heading with its section. */
  splitter: "recursive" | "markdown";
}

/** One chunk of a row's text; offsets are UTF-16 code units into that text, end exclusive. */
export interface TextChunk {
  index: number;
  start: number;
  end: number;
  text: string;
}

/** Counts a text in the options' unit; for tokens, the provider's estimate. */
export type TextMeasure = (text: string) => number;

const boundaries = [/\n\s*\n/g, /(?<=[.!?])\s+/g, /\s+/g];

/**
 * Where a chunk starting at `start` may end: the last boundary past `after` (the previous chunk's
 * end, so every chunk adds text) that keeps it within `size`.
 */
function chunkEnd(
  text: string,
  start: number,
  after: number,
  size: number,
  measure: TextMeasure,
): number {
  let end = start;
  while (end < text.length && measure(text.slice(start, end + 1)) <= size) end++;
  if (end >= text.length) return text.length;
  for (const boundary of boundaries) {
    let best = -1;
    for (const match of text.slice(start, end).matchAll(boundary)) {
      const boundaryEnd = start + match.index + match[0].length;
      if (match.index > 0 && boundaryEnd > after) best = boundaryEnd;
    }
    if (best > after) return best;
  }
  return Math.max(end, after + 1);
}

/** The chunks of `text`; an empty or blank text has none. */
export function chunkText(
  text: string,
  options: ChunkingOptions,
  measure: TextMeasure = (part) => part.length,
): TextChunk[] {
  const chunks: TextChunk[] = [];
  if (text.trim() === "") return chunks;
  let start = 0;
  let previousEnd = 0;
  while (start < text.length) {
    const end = chunkEnd(text, start, previousEnd, options.size, measure);
    chunks.push({ index: chunks.length, start, end, text: text.slice(start, end) });
    if (end >= text.length) break;
    // The overlap starts at a word: the previous chunk's last words, as many as fit.
    let next = end;
    while (next > start + 1 && measure(text.slice(next - 1, end)) <= options.overlap) next--;
    while (next < end && /\S/.test(text[next - 1] ?? "")) next++;
    start = next;
    previousEnd = end;
  }
  return chunks;
}
