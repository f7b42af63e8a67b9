// Retrieval metrics of one ranked answer against the rows labelled relevant: reciprocal rank within the first k, recall within the first k, and their means.

/** 1 / the position of the first relevant row among the first k, or 0 when none is there. */
export function reciprocalRankAt(
  ranked: readonly string[],
  relevant: ReadonlySet<string>,
  k: number,
): number {
  const position = ranked.slice(0, k).findIndex((key) => relevant.has(key));
  return position === -1 ? 0 : 1 / (position + 1);
}

/** The share of the relevant rows found among the first k. */
export function recallAt(
  ranked: readonly string[],
  relevant: ReadonlySet<string>,
  k: number,
): number {
  if (relevant.size === 0) throw new Error("recall needs at least one relevant row");
  const found = new Set(ranked.slice(0, k).filter((key) => relevant.has(key)));
  return found.size / relevant.size;
}

export interface ModeScores {
  /** Mean reciprocal rank over the questions, counting only the first 10 rows. */
  mrrAt10: number;
  /** Mean recall of the first 5 rows. */
  recallAt5: number;
  /** Share of questions whose first row is relevant. */
  hitAt1: number;
}

/** The mean scores of ranked answers, one per question, in the questions' order. */
export function scoreAnswers(
  answers: readonly (readonly string[])[],
  relevant: readonly ReadonlySet<string>[],
): ModeScores {
  if (answers.length !== relevant.length || answers.length === 0) {
    throw new Error(
      `need one answer per question: ${answers.length} answers, ${relevant.length} questions`,
    );
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    mrrAt10: mean(answers.map((ranked, i) => reciprocalRankAt(ranked, relevant[i], 10))),
    recallAt5: mean(answers.map((ranked, i) => recallAt(ranked, relevant[i], 5))),
    hitAt1: mean(answers.map((ranked, i) => reciprocalRankAt(ranked, relevant[i], 1))),
  };
}
