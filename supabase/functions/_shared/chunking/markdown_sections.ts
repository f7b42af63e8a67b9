// Finds a markdown text's sections: each heading (ATX `#`, or setext underlined) starts one, outside fenced code; each section knows its heading path.

/** A section [start, end): its heading lines first (one, or several when a heading had no text of its own), then its body. */
export interface MarkdownSection {
  start: number;
  end: number;
  /** Each heading line with the blank lines after it, [start, end); empty for text before any heading. */
  headingLines: [number, number][];
  /** The headings that enclose the section, outermost first, as `## Title`. */
  headings: string[];
}

interface Heading {
  /** Where its line (a setext heading: its text line) starts. */
  start: number;
  /** Where the line after it starts. */
  lineEnd: number;
  level: number;
  title: string;
}

interface Line {
  start: number;
  /** The line's text, without its line break (\n or \r\n). */
  body: string;
  /** Where the next line starts. */
  next: number;
}

const atxHeading = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const setextUnderline = /^ {0,3}(=+|-+)[ \t]*$/;
const fenceLine = /^ {0,3}(`{3,}|~{3,})/;
const blank = (body: string) => body.trim() === "";

/** The lines of the text from `from` on. */
function* lines(text: string, from = 0): Generator<Line> {
  for (let start = from; start < text.length;) {
    const newline = text.indexOf("\n", start);
    const next = newline === -1 ? text.length : newline + 1;
    // A CRLF line's body ends before its \r.
    const body = text.slice(start, newline === -1 ? text.length : newline).replace(/\r$/, "");
    yield { start, body, next };
    start = next;
  }
}

/** The headings of the text in order, skipping fenced code. */
function findHeadings(text: string): Heading[] {
  const headings: Heading[] = [];
  let fence: string | null = null;
  // The line before, when it could be a setext heading's text: after a blank line or a heading.
  let candidate: Line | null = null;
  let previousBlank = true;
  for (const line of lines(text)) {
    const fenceMatch = fenceLine.exec(line.body);
    if (fence !== null) {
      if (fenceMatch && fenceMatch[1][0] === fence[0] && fenceMatch[1].length >= fence.length) {
        fence = null;
      }
      previousBlank = false;
      candidate = null;
      continue;
    }
    const atx = atxHeading.exec(line.body);
    const underline = setextUnderline.exec(line.body);
    if (fenceMatch) {
      fence = fenceMatch[1];
    } else if (atx) {
      headings.push({
        start: line.start,
        lineEnd: line.next,
        level: atx[1].length,
        title: (atx[2] ?? "").trim(),
      });
    } else if (underline && candidate) {
      const level = underline[1][0] === "=" ? 1 : 2;
      headings.push({
        start: candidate.start,
        lineEnd: line.next,
        level,
        title: candidate.body.trim(),
      });
    }
    const isHeading = headings.at(-1)?.lineEnd === line.next;
    candidate = !isHeading && !fenceMatch && !blank(line.body) && previousBlank ? line : null;
    previousBlank = blank(line.body) || isHeading;
  }
  return headings;
}

/** Where the blank lines after `from` end. */
function afterBlankLines(text: string, from: number): number {
  let at = from;
  for (const line of lines(text, from)) {
    if (!blank(line.body)) break;
    at = line.next;
  }
  return at;
}

/**
 * The sections of a markdown text, in order, tiling it. A section with no text of its own (a
 * heading right before another) joins the next, so a heading is never alone in a chunk when its
 * section has text; whitespace before the first heading joins it too.
 */
export function markdownSections(text: string): MarkdownSection[] {
  const sections: MarkdownSection[] = [];
  const path: { level: number; heading: string }[] = [];
  const headings = findHeadings(text);
  if (headings.length === 0 || headings[0].start > 0) {
    sections.push({
      start: 0,
      end: headings[0]?.start ?? text.length,
      headingLines: [],
      headings: [],
    });
  }
  headings.forEach((heading, i) => {
    while (path.length > 0 && path[path.length - 1].level >= heading.level) path.pop();
    path.push({ level: heading.level, heading: `${"#".repeat(heading.level)} ${heading.title}` });
    const end = headings[i + 1]?.start ?? text.length;
    const linesEnd = Math.min(afterBlankLines(text, heading.lineEnd), end);
    sections.push({
      start: heading.start,
      end,
      headingLines: [[heading.start, linesEnd]],
      headings: path.map((entry) => entry.heading),
    });
  });
  return joinEmptySections(text, sections);
}

/** Sections with nothing but headings and whitespace, joined to the section after them. */
function joinEmptySections(text: string, sections: MarkdownSection[]): MarkdownSection[] {
  const joined: MarkdownSection[] = [];
  let pending: MarkdownSection | null = null;
  for (const section of sections) {
    const current: MarkdownSection = pending
      ? {
        ...section,
        start: pending.start,
        headingLines: [...pending.headingLines, ...section.headingLines],
      }
      : section;
    if (current.headingLines.length > 0) {
      current.headingLines[0] = [current.start, current.headingLines[0][1]];
    }
    const bodyStart = current.headingLines.at(-1)?.[1] ?? current.start;
    pending = null;
    if (!/\S/.test(text.slice(bodyStart, current.end)) && section !== sections.at(-1)) {
      pending = current;
    } else {
      joined.push(current);
    }
  }
  return joined;
}
