// Reads and checks the labelled question set: every question has words and at least one relevant row, and every relevant row is in the corpus.

export interface LabelledRow {
  id: string;
  topic: string;
}

export interface LabelledQuestion {
  question: string;
  relevant: LabelledRow[];
}

export interface QuestionSet {
  target: string;
  /** The rows searched: the search is restricted to them. */
  corpus: LabelledRow[];
  questions: LabelledQuestion[];
}

const defaultQuestionFile = new URL("./music_questions.json", import.meta.url);

function isRow(value: unknown): value is LabelledRow {
  const row = value as Partial<LabelledRow> | null;
  return typeof row === "object" && row !== null && typeof row.id === "string" &&
    typeof row.topic === "string";
}

/** The set in `text` (the file's JSON), or an error naming what is wrong. */
export function parseQuestionSet(text: string): QuestionSet {
  const raw = JSON.parse(text) as Partial<QuestionSet>;
  if (typeof raw.target !== "string") throw new Error("the question set names no target");
  if (!Array.isArray(raw.corpus) || !raw.corpus.every(isRow) || raw.corpus.length === 0) {
    throw new Error("the question set's corpus must be a list of {id, topic}");
  }
  const corpus = new Map(raw.corpus.map((row) => [row.id, row.topic]));
  if (!Array.isArray(raw.questions) || raw.questions.length === 0) {
    throw new Error("the question set has no questions");
  }
  raw.questions.forEach((entry, index) => {
    const label = `question ${index + 1}`;
    if (typeof entry?.question !== "string" || entry.question.trim() === "") {
      throw new Error(`${label} has no words`);
    }
    if (!Array.isArray(entry.relevant) || entry.relevant.length === 0) {
      throw new Error(`${label} (${entry.question}) names no relevant row`);
    }
    for (const row of entry.relevant) {
      if (!isRow(row) || corpus.get(row.id) !== row.topic) {
        throw new Error(`${label} (${entry.question}): ${JSON.stringify(row)} is not a corpus row`);
      }
    }
  });
  return { target: raw.target, corpus: raw.corpus, questions: raw.questions };
}

export async function readQuestionSet(
  file: string | URL = defaultQuestionFile,
): Promise<QuestionSet> {
  return parseQuestionSet(await Deno.readTextFile(file));
}

/**
 * The set cut to its first `count` corpus rows: each question keeps the relevant rows among them,
 * and a question left with none is dropped. For small runs (a test's two or three documents).
 */
export function firstCorpusRows(set: QuestionSet, count: number): QuestionSet {
  if (!Number.isInteger(count) || count < 1) throw new Error(`need 1 or more rows, got ${count}`);
  const corpus = set.corpus.slice(0, count);
  const kept = new Set(corpus.map((row) => row.id));
  const questions = set.questions
    .map((entry) => ({ ...entry, relevant: entry.relevant.filter((row) => kept.has(row.id)) }))
    .filter((entry) => entry.relevant.length > 0);
  if (questions.length === 0) throw new Error(`no question is answered by the first ${count} rows`);
  return { target: set.target, corpus, questions };
}
