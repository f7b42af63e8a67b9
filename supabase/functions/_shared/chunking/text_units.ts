// Where the units of a text start: paragraphs, sentences, words, grapheme clusters and code points, as offsets into the whole text (never inside a surrogate pair).

/** The separator between paragraphs: a line break, blank lines, and the whitespace after them. */
const paragraphSeparator = /\n\s*\n\s*/g;

const sentenceSegmenter = new Intl.Segmenter(undefined, { granularity: "sentence" });
const wordSegmenter = new Intl.Segmenter(undefined, { granularity: "word" });
const graphemeSegmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** The paragraphs' starts in [start, end): after each blank line; leading blank lines stay with the first. */
export function paragraphStarts(text: string, start: number, end: number): number[] {
  const starts = [start];
  const part = text.slice(start, end);
  for (const match of part.matchAll(paragraphSeparator)) {
    const next = start + match.index + match[0].length;
    if (match.index > 0 && next < end) starts.push(next);
  }
  return starts;
}

/**
 * The sentences' starts in [start, end). Line breaks are read as spaces (same length, so offsets
 * hold): a hard-wrapped line is not a sentence.
 */
export function sentenceStarts(text: string, start: number, end: number): number[] {
  const part = text.slice(start, end).replace(/[\n\r]/g, " ");
  const starts = [start];
  for (const segment of sentenceSegmenter.segment(part)) {
    if (segment.index > 0) starts.push(start + segment.index);
  }
  return starts;
}

/** The words' starts in [start, end): a word keeps the spaces and punctuation after it. */
export function wordStarts(text: string, start: number, end: number): number[] {
  const starts = [start];
  for (const segment of wordSegmenter.segment(text.slice(start, end))) {
    if (segment.index > 0 && segment.isWordLike) starts.push(start + segment.index);
  }
  return starts;
}

/** The grapheme clusters' starts in [start, end): an emoji with its modifiers is one. */
export function graphemeStarts(text: string, start: number, end: number): number[] {
  const starts: number[] = [];
  for (const segment of graphemeSegmenter.segment(text.slice(start, end))) {
    starts.push(start + segment.index);
  }
  return starts;
}

/** The code points' starts in [start, end): a surrogate pair is one. */
export function codePointStarts(text: string, start: number, end: number): number[] {
  const starts: number[] = [];
  for (let at = start; at < end; at += (text.codePointAt(at) ?? 0) > 0xffff ? 2 : 1) {
    starts.push(at);
  }
  return starts;
}
