// Builds the long-document eval's documents: one per corpus row, 9,000-15,000 characters of titled filler sections in markdown, with the row's text placed past the model's input limit; a question's relevant documents are those holding its rows.
import { mulberry32 } from "../../supabase/functions/_shared/providers/seeded_projection.ts";
import { type FillerSection, fillerSections } from "./filler_sections.ts";
import type { QuestionSet } from "./question_set.ts";

export interface LongDocument {
  /** The document's key in rankings: `doc-<row topic>`. */
  key: string;
  /** The corpus row whose text it holds. */
  rowId: string;
  text: string;
  /** Where the row's text is in `text`, [start, end). */
  answerStart: number;
  answerEnd: number;
}

export interface LongQuestion {
  question: string;
  /** The keys of the documents holding a row that answers it. */
  relevant: Set<string>;
}

export interface LongDocumentSet {
  documents: LongDocument[];
  questions: LongQuestion[];
}

export interface LongDocumentShape {
  seed: number;
  minLength: number;
  maxLength: number;
  /** The row's text starts at or after this offset: the local model's input limit. */
  answerAfter: number;
}

export const defaultShape: LongDocumentShape = {
  seed: 22,
  minLength: 9_000,
  maxLength: 15_000,
  answerAfter: 8_000,
};

/** The filler sections in a seeded order, repeating (reshuffled) as long as asked. */
function* shuffledSections(next: () => number): Generator<FillerSection> {
  for (;;) {
    const order = [...fillerSections];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    yield* order;
  }
}

/** One document: filler sections up to its length, the row's text after a section past the limit. */
function buildDocument(
  index: number,
  answer: string,
  shape: LongDocumentShape,
): { text: string; answerStart: number } {
  const next = mulberry32(shape.seed * 1_000 + index);
  // The last section and the row's text may add up to about 500 characters past `length`.
  const length = shape.minLength + Math.floor(next() * (shape.maxLength - 500 - shape.minLength));
  const parts = [`# Notebook ${index + 1}\n\n`];
  let size = parts[0].length;
  /** The offsets where a section ends: where the row's text may go. */
  const sectionEnds: number[] = [];
  for (const section of shuffledSections(next)) {
    if (size + answer.length + 2 >= length && sectionEnds.some((end) => end >= shape.answerAfter)) {
      break;
    }
    const part = `## ${section.title}\n\n${section.text}\n\n`;
    parts.push(part);
    size += part.length;
    sectionEnds.push(size);
  }
  const eligible = sectionEnds.filter((end) => end >= shape.answerAfter);
  const answerStart = eligible[Math.floor(next() * eligible.length)];
  const text = parts.join("");
  return {
    text: `${text.slice(0, answerStart)}${answer}\n\n${text.slice(answerStart)}`.trimEnd(),
    answerStart,
  };
}

/** The documents (one per corpus row, in the corpus' order) and the questions against them. */
export function buildLongDocuments(
  set: QuestionSet,
  rowTexts: ReadonlyMap<string, string>,
  shape: LongDocumentShape = defaultShape,
): LongDocumentSet {
  const documents = set.corpus.map((row, index): LongDocument => {
    const answer = rowTexts.get(row.id);
    if (answer === undefined) throw new Error(`no text for corpus row ${row.id} (${row.topic})`);
    const { text, answerStart } = buildDocument(index, answer, shape);
    return {
      key: `doc-${row.topic}`,
      rowId: row.id,
      text,
      answerStart,
      answerEnd: answerStart + answer.length,
    };
  });
  const keyOfRow = new Map(documents.map((document) => [document.rowId, document.key]));
  const questions = set.questions.map((entry) => ({
    question: entry.question,
    relevant: new Set(entry.relevant.map((row) => keyOfRow.get(row.id)!)),
  }));
  return { documents, questions };
}
