// `deno task eval --long`: builds the long documents, measures every chunking setting with the local model in memory, and prints the table and the chunk size it picks.
import { LocalSentenceEncoderProvider } from "../../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { buildLongDocuments, defaultShape, type LongDocumentSet } from "./long_documents.ts";
import {
  evaluateLongDocuments,
  type LongResult,
  longSettings,
  pickDefaultSize,
} from "./long_eval.ts";
import { readQuestionSet } from "./question_set.ts";
import { readCorpusTexts } from "./seed_rows.ts";
import { formatCount } from "../cli/text_table.ts";

export interface LongEvalOptions {
  /** The question set's file; the default set when absent. */
  questions?: string;
  /** The documents' layout seed. */
  seed: number;
  json: boolean;
}

/** One line saying what was measured: documents, lengths, where the answers lie, questions, model. */
export function describeSet(set: LongDocumentSet, model: string, seed: number): string {
  const lengths = set.documents.map((document) => document.text.length);
  const answers = set.documents.map((document) => document.answerStart);
  return `${set.documents.length} documents of ${formatCount(Math.min(...lengths))}-${
    formatCount(Math.max(...lengths))
  } characters, each answer at ${formatCount(Math.min(...answers))}-${
    formatCount(Math.max(...answers))
  }; ${set.questions.length} questions; model ${model}; layout seed ${seed}`;
}

function tableRow(result: LongResult): string {
  const { mrrAt10, recallAt5, hitAt1 } = result.scores;
  const cells = [mrrAt10, recallAt5, hitAt1].map((value) => value.toFixed(3));
  return `| ${result.setting.label} | ${result.units} | ${cells.join(" | ")} |`;
}

/** Runs the long-document eval and prints it; the exit code. */
export async function runLongEval(options: LongEvalOptions): Promise<number> {
  try {
    const questionSet = await readQuestionSet(options.questions ?? undefined);
    const provider = new LocalSentenceEncoderProvider();
    const shape = {
      ...defaultShape,
      seed: options.seed,
      answerAfter: provider.inputLimit.maxCharacters,
    };
    const set = buildLongDocuments(questionSet, await readCorpusTexts(questionSet), shape);
    const summary = describeSet(set, provider.model, options.seed);
    if (!options.json) console.log(`${summary}\n`);
    const results = await evaluateLongDocuments(
      provider,
      set,
      longSettings(),
      (result) => console.error(`eval --long: ${result.setting.label} measured`),
    );
    const chosen = pickDefaultSize(results);
    const size = chosen.setting.chunking!.size;
    if (options.json) {
      console.log(JSON.stringify({ summary, results, defaultSize: size }, null, 2));
      return 0;
    }
    console.log(
      "| setting (characters: size / overlap) | units embedded | MRR@10 | recall@5 | hit@1 |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: |");
    for (const result of results) console.log(tableRow(result));
    console.log(
      `\ndefault chunk size by this measurement: ${size} characters (${chosen.setting.label}: the best recursive MRR@10, ${
        chosen.scores.mrrAt10.toFixed(3)
      }; ties go to the larger size)`,
    );
    return 0;
  } catch (error) {
    console.error(`eval --long: ${(error as Error).message}`);
    return 1;
  }
}
