// The chunker alone (no database): offsets into the original text, sizes within the limit, overlap starting at a word, every character covered, markdown headings kept with their sections, blank, huge, CJK and emoji texts.
import assert from "node:assert/strict";
import {
  type ChunkingOptions,
  chunkText,
  type TextChunk,
  type TextMeasure,
} from "../supabase/functions/_shared/chunking/chunk_text.ts";
import { mulberry32 } from "../supabase/functions/_shared/providers/seeded_projection.ts";

const length: TextMeasure = (text) => text.length;

function options(overrides: Partial<ChunkingOptions> = {}): ChunkingOptions {
  return { unit: "characters", size: 200, overlap: 30, splitter: "recursive", ...overrides };
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/** The invariants every chunking holds, whatever the text and options. */
function assertChunksOf(
  text: string,
  chunks: readonly TextChunk[],
  chosen: ChunkingOptions,
  measure: TextMeasure = length,
): void {
  const label = (chunk: TextChunk) => `chunk ${chunk.index} [${chunk.start}, ${chunk.end})`;
  chunks.forEach((chunk, i) => {
    assert.equal(chunk.index, i);
    assert.equal(
      chunk.text,
      text.slice(chunk.start, chunk.end),
      `${label(chunk)}: text is a slice`,
    );
    assert.ok(chunk.start < chunk.end, `${label(chunk)} is not empty`);
    assert.match(chunk.text, /\S/, `${label(chunk)} has more than whitespace`);
    for (const at of [chunk.start, chunk.end]) {
      assert.ok(
        !isHighSurrogate(text.charCodeAt(at - 1)),
        `${label(chunk)} splits a pair at ${at}`,
      );
    }
    const oneCodePoint = [...chunk.text].length === 1;
    assert.ok(
      measure(chunk.text) <= chosen.size || oneCodePoint,
      `${label(chunk)} measures ${measure(chunk.text)} > ${chosen.size}`,
    );
    if (i === 0) return;
    const previous = chunks[i - 1];
    assert.ok(chunk.start > previous.start, `${label(chunk)} starts after the one before`);
    assert.ok(chunk.end > previous.end, `${label(chunk)} adds text`);
    const gap = text.slice(previous.end, chunk.start);
    assert.ok(!/\S/.test(gap), `${label(chunk)} leaves out only whitespace`);
    if (chunk.start < previous.end) {
      const repeated = text.slice(chunk.start, previous.end);
      assert.ok(measure(repeated) <= chosen.overlap, `${label(chunk)} repeats ${repeated.length}`);
    }
  });
  if (text.trim() === "") return;
  // Whitespace is left out only when it could share no chunk with text (a run over the size).
  const before = text.slice(0, chunks[0].start);
  const after = text.slice(chunks.at(-1)!.end);
  assert.ok(!/\S/.test(before + after), "every character but whitespace is covered");
  const longest = (runs: RegExp) =>
    Math.max(0, ...(text.match(runs) ?? []).map((run) => run.length));
  if (longest(/\s+/g) + longest(/\S+/g) <= chosen.size / 2 && chosen.unit === "characters") {
    assert.equal(chunks[0].start, 0, "the first chunk starts the text");
    assert.equal(chunks.at(-1)!.end, text.length, "the last chunk ends it");
    chunks.slice(1).forEach((chunk, i) => assert.ok(chunk.start <= chunks[i].end, "no gap"));
  }
}

const vocabulary = [
  "kick",
  "bass",
  "compressor",
  "reverb",
  "the",
  "a",
  "of",
  "sidechain",
  "你好",
  "世界",
  "😀",
  "👨‍👩‍👧",
  "naïve",
  "e\u0301",
  "supercalifragilisticexpialidocious",
  "x".repeat(120),
];
const joiners = [" ", " ", " ", " ", ", ", ". ", "! ", "? ", "\n", "\n\n", "。", "\n\n\n  "];

function randomText(next: () => number, words: number): string {
  const parts: string[] = [];
  for (let i = 0; i < words; i++) {
    parts.push(vocabulary[Math.floor(next() * vocabulary.length)]);
    parts.push(joiners[Math.floor(next() * joiners.length)]);
  }
  return parts.join("");
}

Deno.test("chunkText: a blank or empty text has no chunks", () => {
  for (const text of ["", "   ", "\n\n\t \r\n"]) {
    assert.deepEqual(chunkText(text, options()), []);
    assert.deepEqual(chunkText(text, options({ splitter: "markdown" })), []);
  }
});

Deno.test("chunkText: a text within the size is one chunk, the whole text", () => {
  const text = "  Compress the kick with a slow attack.\n\n";
  assert.deepEqual(chunkText(text, options()), [{ index: 0, start: 0, end: text.length, text }]);
});

Deno.test("chunkText: chunks end at paragraph, then sentence boundaries, and cover the text", () => {
  const paragraph = (n: number) =>
    `Paragraph ${n} opens here. It says a little more about topic ${n}. It ends now.`;
  const text = [1, 2, 3, 4, 5].map(paragraph).join("\n\n");
  const chosen = options({ size: 180, overlap: 0 });
  const chunks = chunkText(text, chosen);
  assertChunksOf(text, chunks, chosen);
  assert.ok(chunks.length > 1);
  for (const chunk of chunks.slice(0, -1)) {
    assert.match(chunk.text, /It ends now\.\n\n$/, `chunk ${chunk.index} ends at a paragraph`);
  }
  // Without overlap the chunks tile the text.
  chunks.slice(1).forEach((chunk, i) => assert.equal(chunk.start, chunks[i].end));

  const sentences = chunkText(paragraph(7).repeat(3), options({ size: 60, overlap: 0 }));
  for (const chunk of sentences.slice(0, -1)) assert.match(chunk.text, /[.!?] $/);
});

Deno.test("chunkText: overlap repeats the previous chunk's last words, within the overlap", () => {
  const text = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
  const chosen = options({ size: 100, overlap: 25 });
  const chunks = chunkText(text, chosen);
  assertChunksOf(text, chunks, chosen);
  chunks.slice(1).forEach((chunk, i) => {
    const previous = chunks[i];
    assert.ok(chunk.start < previous.end, `chunk ${chunk.index} overlaps`);
    assert.equal(text[chunk.start - 1], " ", `chunk ${chunk.index} starts at a word`);
    assert.ok(previous.end - chunk.start >= 15, "the overlap takes as many words as fit");
  });
});

Deno.test("chunkText: a word larger than the size is cut by characters, never elsewhere", () => {
  const long = "a".repeat(95);
  const text = `short words ${long} and more`;
  const chosen = options({ size: 20, overlap: 5 });
  const chunks = chunkText(text, chosen);
  assertChunksOf(text, chunks, chosen);
  assert.ok(chunks.some((chunk) => chunk.text === "a".repeat(20)), "the long word is cut");
});

Deno.test("chunkText: CJK text and emoji are cut between characters, never inside a pair", () => {
  const text = "你好世界。这是一个测试句子，用来检查中文分块。😀👍🏽👨‍👩‍👧 emoji 测试结束！".repeat(12);
  for (const size of [1, 2, 3, 7, 10, 40]) {
    const chosen = options({ size, overlap: Math.floor(size / 3) });
    assertChunksOf(text, chunkText(text, chosen), chosen);
  }
  // The family emoji (one grapheme of eight code units) stays whole when the size allows.
  const family = "👨‍👩‍👧";
  const chunks = chunkText(`${family}${family}${family}`, options({ size: 10, overlap: 0 }));
  assert.deepEqual(chunks.map((chunk) => chunk.text), [family, family, family]);
});

Deno.test("chunkText: random texts of words, CJK, emoji and blank lines keep every invariant", () => {
  const next = mulberry32(22);
  for (let round = 0; round < 60; round++) {
    const text = randomText(next, 20 + Math.floor(next() * 400));
    const size = 5 + Math.floor(next() * 600);
    const chosen = options({
      size,
      overlap: Math.floor(next() * size * 0.4),
      splitter: next() < 0.5 ? "recursive" : "markdown",
    });
    assertChunksOf(text, chunkText(text, chosen), chosen);
  }
});

Deno.test("chunkText: a measure that does not add up over pieces still bounds every chunk", () => {
  // More per character the longer the text: the sum over pieces underestimates the whole.
  const growing: TextMeasure = (text) => Math.ceil(text.length * (1 + text.length / 400));
  const next = mulberry32(7);
  const text = randomText(next, 600);
  const chosen = options({ unit: "tokens", size: 150, overlap: 20 });
  assertChunksOf(text, chunkText(text, chosen, growing), chosen, growing);
});

Deno.test("chunkText: tokens without a measure count the engine's estimate (3 characters)", () => {
  const text = "the kick and the bass ".repeat(100);
  const chunks = chunkText(text, options({ unit: "tokens", size: 30, overlap: 0 }));
  for (const chunk of chunks) assert.ok(chunk.text.length <= 90, `chunk ${chunk.index}`);
  assert.ok(chunks[0].text.length > 60, "a chunk fills most of its 90 characters");
});

Deno.test("chunkText: a 100,000-character text is measured a bounded number of times", () => {
  const next = mulberry32(100_000);
  let text = "";
  while (text.length < 100_000) text += randomText(next, 200);
  let measuredCharacters = 0;
  const counting: TextMeasure = (part) => {
    measuredCharacters += part.length;
    return part.length;
  };
  for (const splitter of ["recursive", "markdown"] as const) {
    measuredCharacters = 0;
    const chosen = options({ size: 1000, overlap: 150, splitter });
    const chunks = chunkText(text, chosen, counting);
    assertChunksOf(text, chunks, chosen);
    // Linear: each character is measured a few times (pieces, then chunks, then overlaps), never
    // once per growing slice (which would be thousands of times the text).
    assert.ok(
      measuredCharacters < 12 * text.length,
      `${splitter}: measured ${measuredCharacters} characters for a text of ${text.length}`,
    );
  }
});

const guide = [
  "Some words before any heading.",
  "",
  "# Mixing guide",
  "",
  "## Kick",
  "",
  "Compress the kick drum with a slow attack and fast release so the transient punches through.",
  "Keep the click around 3 kHz.",
  "",
  "```sh",
  "# a comment in code, not a heading",
  "```",
  "",
  "## Bass",
  "Sidechain the bass to the kick so the low end does not clash on every downbeat.",
  "",
  "Vocals",
  "------",
  "",
  "Cut muddiness around 250 Hz on vocals.",
].join("\n");

Deno.test("chunkText markdown: cuts at headings, keeps each heading with its section", () => {
  const chosen = options({ splitter: "markdown", size: 400, overlap: 40 });
  const chunks = chunkText(guide, chosen);
  assertChunksOf(guide, chunks, chosen);
  assert.deepEqual(chunks.map((chunk) => chunk.headings), [
    [],
    ["# Mixing guide", "## Kick"],
    ["# Mixing guide", "## Bass"],
    ["# Mixing guide", "## Vocals"],
  ]);
  assert.match(chunks[1].text, /^# Mixing guide\n\n## Kick\n/);
  assert.match(chunks[1].text, /# a comment in code, not a heading/);
  assert.match(chunks[2].text, /^## Bass\n/);
  assert.match(chunks[3].text, /^Vocals\n------\n/);
  // Sections are never joined, so no overlap crosses a heading.
  chunks.slice(1).forEach((chunk, i) => assert.equal(chunk.start, chunks[i].end));
});

Deno.test("chunkText markdown: a long section's chunks carry its heading path; none is a bare heading", () => {
  const body = Array.from({ length: 30 }, (_, i) => `Sentence ${i} about the kick drum.`).join(" ");
  const text = `# Drums\n\n## Kick\n\n${body}\n\n## Snare\n\nShort.`;
  const chosen = options({ splitter: "markdown", size: 120, overlap: 20 });
  const chunks = chunkText(text, chosen);
  assertChunksOf(text, chunks, chosen);
  assert.match(chunks[0].text, /^# Drums\n\n## Kick\n\nSentence 0/);
  const kick = chunks.filter((chunk) => chunk.headings?.at(-1) === "## Kick");
  assert.ok(kick.length > 3);
  for (const chunk of kick.slice(1)) assert.match(chunk.text, /^Sentence|^about|^the|^kick|^drum/);
  for (const chunk of chunks) {
    assert.doesNotMatch(
      chunk.text,
      /^(#{1,6} [^\n]*\s*)+$/,
      `chunk ${chunk.index} is a bare heading`,
    );
  }
  assert.deepEqual(chunks.at(-1)?.headings, ["# Drums", "## Snare"]);
  assert.equal(chunks.at(-1)?.text, "## Snare\n\nShort.");
});

Deno.test("chunkText markdown: CRLF line ends find the same sections", () => {
  const crlf = guide.replaceAll("\n", "\r\n");
  const chosen = options({ splitter: "markdown", size: 400, overlap: 40 });
  const chunks = chunkText(crlf, chosen);
  assertChunksOf(crlf, chunks, chosen);
  assert.deepEqual(
    chunks.map((chunk) => chunk.headings),
    chunkText(guide, chosen).map((chunk) => chunk.headings),
  );
});

Deno.test("chunkText: the recursive splitter gives no heading path", () => {
  for (const chunk of chunkText(guide, options({ size: 100 }))) {
    assert.equal(chunk.headings, undefined);
  }
});

Deno.test("chunkText: invalid options are refused, naming the option", () => {
  const text = "some text";
  assert.throws(() => chunkText(text, options({ size: 0 })), /size must be a positive integer/);
  assert.throws(() => chunkText(text, options({ size: 2.5 })), /size/);
  assert.throws(() => chunkText(text, options({ overlap: 200 })), /overlap/);
  assert.throws(() => chunkText(text, options({ overlap: -1 })), /overlap/);
  const bad = { ...options(), splitter: "semantic" } as unknown as ChunkingOptions;
  assert.throws(() => chunkText(text, bad), /splitter/);
});
