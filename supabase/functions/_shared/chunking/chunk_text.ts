// Splits a row's text into the chunks a chunked target embeds: sized by characters or estimated tokens, with overlap, cut at paragraph, sentence or word boundaries where it can, and at markdown headings first.
import { estimateTokens } from "../providers/request_limits.ts";
import { type MarkdownSection, markdownSections } from "./markdown_sections.ts";
import { packPieces } from "./pack_chunks.ts";
import { Boundary, cutIntoPieces, type Piece, type PieceContext } from "./text_pieces.ts";

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
  /**
   * The markdown splitter's heading path of the chunk's section, outermost first (`# Guide`,
   * `## Install`); absent for the recursive splitter. A chunk of a section after its first does not
   * start with the heading: an embedder may prepend these to give it its context.
   */
  headings?: string[];
}

/** Counts a text in the options' unit; for tokens, the provider's estimate. */
export type TextMeasure = (text: string) => number;

/** The measure of each unit when none is given: String.length, or the engine's token estimate. */
export function defaultMeasure(unit: ChunkingOptions["unit"]): TextMeasure {
  return unit === "tokens" ? estimateTokens : (text) => text.length;
}

/** Throws a RangeError naming what is wrong with the options. */
export function checkChunkingOptions(options: ChunkingOptions): void {
  const { unit, size, overlap, splitter } = options;
  if (unit !== "characters" && unit !== "tokens") {
    throw new RangeError(`chunking unit must be characters or tokens, got ${JSON.stringify(unit)}`);
  }
  if (splitter !== "recursive" && splitter !== "markdown") {
    throw new RangeError(
      `chunking splitter must be recursive or markdown, got ${JSON.stringify(splitter)}`,
    );
  }
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`chunking size must be a positive integer, got ${size}`);
  }
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= size) {
    throw new RangeError(`chunking overlap must be an integer from 0 to size - 1, got ${overlap}`);
  }
}

/**
 * A section's pieces: its heading lines (each kept with what follows), then its body, whose first
 * piece is cut small enough to share a chunk with the headings.
 */
function sectionPieces(context: PieceContext, section: MarkdownSection, size: number): Piece[] {
  const headingPieces: Piece[] = [];
  for (const [start, end] of section.headingLines) {
    cutIntoPieces(context, start, end, size, Boundary.paragraph, headingPieces);
  }
  for (const piece of headingPieces) piece.keepWithNext = true;
  const bodyStart = section.headingLines.at(-1)?.[1] ?? section.start;
  const body: Piece[] = [];
  if (bodyStart < section.end) {
    cutIntoPieces(context, bodyStart, section.end, size, Boundary.section, body);
  }
  const headingSize = headingPieces.reduce((sum, piece) => sum + piece.size, 0);
  const first = body[0];
  if (first && headingSize > 0 && headingSize < size && headingSize + first.size > size) {
    const recut: Piece[] = [];
    cutIntoPieces(context, first.start, first.end, size - headingSize, first.boundary, recut);
    body.splice(0, 1, ...recut);
  }
  return [...headingPieces, ...body];
}

/**
 * The chunks of `text`, in order; an empty or blank text has none. Every character is in a chunk;
 * each chunk's text is text.slice(start, end); no chunk measures more than `size` unless it is a
 * single character (code point) that does. Throws a RangeError on invalid options.
 */
export function chunkText(
  text: string,
  options: ChunkingOptions,
  measure: TextMeasure = defaultMeasure(options.unit),
): TextChunk[] {
  checkChunkingOptions(options);
  if (text.trim() === "") return [];
  const markdown = options.splitter === "markdown";
  const sections: MarkdownSection[] = markdown
    ? markdownSections(text)
    : [{ start: 0, end: text.length, headingLines: [], headings: [] }];
  const context = { text, measure, size: options.size, overlap: options.overlap };
  const chunks: TextChunk[] = [];
  for (const section of sections) {
    const pieces = sectionPieces(context, section, options.size);
    const floor = section.headingLines.at(-1)?.[1] ?? section.start;
    for (const { start, end } of packPieces(context, pieces, floor)) {
      chunks.push({
        index: chunks.length,
        start,
        end,
        text: text.slice(start, end),
        ...(markdown ? { headings: section.headings } : {}),
      });
    }
  }
  return chunks;
}
