// `deno task eval --long --database`: opens the database (--db-url, SUPABASE_DB_URL or the embedded one), builds the long documents, measures them through the engine and prints chunked against whole per search mode.
import { chooseProvider, routerFor } from "../cli/provider_choice.ts";
import { closeConnection } from "../cli/close_connection.ts";
import { connectForCli } from "../cli/cli_connection.ts";
import { progressMode } from "../cli/backfill_progress.ts";
import { withDatabase } from "../cli/database_session.ts";
import {
  type DatabaseEvalReport,
  type DatabaseResult,
  evaluateThroughDatabase,
} from "./long_database_eval.ts";
import type { Tuning } from "./evaluate.ts";
import { buildLongDocuments, defaultShape } from "./long_documents.ts";
import { describeSet } from "./long_report.ts";
import { firstCorpusRows, readQuestionSet } from "./question_set.ts";
import { readCorpusTexts } from "./seed_rows.ts";

export interface LongDatabaseOptions {
  /** The question set's file; the default set when absent. */
  questions?: string;
  /** The documents' layout seed. */
  seed: number;
  /** Only the first N corpus rows' documents (and the questions they answer); all when absent. */
  documents?: number;
  /** Progress of the backfills on stderr: none, or a line every few seconds. */
  quiet: boolean;
  /** The search's knobs; left out, public.search_embeddings' defaults. */
  tuning?: Tuning;
  /** Hears the one-line description of what is measured, and each result as it comes. */
  onSummary?: (summary: string) => void;
  onResult?: (result: DatabaseResult) => void;
}

export interface LongDatabaseOutcome extends DatabaseEvalReport {
  summary: string;
}

/** Builds the documents and measures them in the database at `databaseUrl` with the local model. */
export async function measureLongDocumentsInDatabase(
  databaseUrl: string,
  options: LongDatabaseOptions,
): Promise<LongDatabaseOutcome> {
  const allQuestions = await readQuestionSet(options.questions ?? undefined);
  const questionSet = options.documents === undefined
    ? allQuestions
    : firstCorpusRows(allQuestions, options.documents);
  const providerSpec = chooseProvider("local", databaseUrl);
  // The one provider the spec names (the local model): the questions are embedded with it.
  const router = routerFor(providerSpec);
  const provider = await router.provider(router.entries[0]);
  const limit = provider.inputLimit?.maxCharacters ?? defaultShape.answerAfter;
  const shape = { ...defaultShape, seed: options.seed, answerAfter: limit };
  const set = buildLongDocuments(questionSet, await readCorpusTexts(questionSet), shape);
  const summary = describeSet(set, provider.model, options.seed);
  options.onSummary?.(summary);
  const sql = connectForCli(databaseUrl);
  try {
    const report = await evaluateThroughDatabase({
      sql,
      databaseUrl,
      providerSpec,
      provider,
      set,
      progress: options.quiet ? "none" : "lines",
      tuning: options.tuning,
      onResult: options.onResult,
    });
    return { summary, ...report };
  } finally {
    await closeConnection(sql);
  }
}

function tableRow(result: DatabaseResult): string {
  const { mrrAt10, recallAt5, hitAt1 } = result.scores;
  const cells = [mrrAt10, recallAt5, hitAt1].map((value) => value.toFixed(3));
  return `| ${result.target} | ${result.mode} | ${result.units} | ${cells.join(" | ")} | ${
    result.meanAnswerRows.toFixed(1)
  } |`;
}

/** The measured table, as markdown. */
export function renderDatabaseTable(outcome: LongDatabaseOutcome): string {
  const chunking = outcome.chunking === null
    ? "none"
    : `${outcome.chunking.splitter} ${outcome.chunking.size} / ${outcome.chunking.overlap} ${outcome.chunking.unit}`;
  return [
    `${outcome.summary}; chunked target's chunking (the engine's default): ${chunking}`,
    "",
    "| target | mode | vectors | MRR@10 | recall@5 | hit@1 | rows per answer |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...outcome.results.map(tableRow),
  ].join("\n");
}

export interface LongDatabaseEvalOptions {
  dbUrl?: string;
  questions?: string;
  seed: number;
  json: boolean;
  tuning: Tuning;
}

/** Runs the database path and prints it; the exit code. */
export async function runLongDatabaseEval(options: LongDatabaseEvalOptions): Promise<number> {
  try {
    const outcome = await withDatabase(
      options.dbUrl,
      (database) =>
        measureLongDocumentsInDatabase(database.url, {
          questions: options.questions,
          seed: options.seed,
          quiet: progressMode(options.json) === "none",
          tuning: options.tuning,
          onSummary: (summary) => console.error(`eval --long --database: ${summary}`),
          onResult: (result) =>
            console.error(`eval --long --database: ${result.target} ${result.mode} measured`),
        }),
    );
    console.log(options.json ? JSON.stringify(outcome, null, 2) : renderDatabaseTable(outcome));
    return 0;
  } catch (error) {
    console.error(`eval --long --database: ${(error as Error).message}`);
    return 1;
  }
}
