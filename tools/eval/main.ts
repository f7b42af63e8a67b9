// `deno task eval`: measures search quality on the labelled music questions: MRR@10, recall@5 and hit@1 of keyword, semantic and hybrid search, with the model the target's vectors were made with.
import { Command, CommanderError } from "npm:commander@14.0.3";
import { connectDatabase, type Sql } from "../../supabase/functions/_shared/database.ts";
import { readEmbedConfig } from "../../supabase/functions/_shared/embed_config.ts";
import { createProvider } from "../../supabase/functions/_shared/providers/create_provider.ts";
import { checkSearchTarget } from "../../supabase/functions/_shared/search/search_target.ts";
import { withDatabase } from "../cli/database_session.ts";
import { ensureCorpus } from "./corpus.ts";
import { embedQuestions, evaluateModes, type Tuning } from "./evaluate.ts";
import type { ModeScores } from "./metrics.ts";
import { defaultShape } from "./long_documents.ts";
import { runLongEval } from "./long_report.ts";
import { runLongDatabaseEval } from "./long_database_report.ts";
import { readQuestionSet } from "./question_set.ts";

export const usage =
  `usage: deno task eval [--db-url URL] [--questions FILE] [--provider local|openai]
         [--rrf-k N] [--semantic-weight W] [--keyword-weight W] [--keyword-match any|all|websearch]
         [--sweep] [--json]
       deno task eval --long [--seed N] [--questions FILE] [--json]
       deno task eval --long --database [--db-url URL] [--seed N] [--questions FILE] [--json]
         [--rrf-k N] [--semantic-weight W] [--keyword-weight W] [--keyword-match any|all|websearch]
Asks every labelled question (tools/eval/music_questions.json) of public.search_embeddings as the
anon role, in keyword, semantic and hybrid mode, restricted to the set's corpus rows, and prints
MRR@10, recall@5 and hit@1 of each. The questions are embedded with the provider (default: the
offline model), which must be the target's model. Corpus rows missing or without a current vector
are loaded from supabase/seed.sql and embedded first. --sweep prints hybrid search under a grid of
settings instead. The database URL defaults to SUPABASE_DB_URL, then the embedded database.
--long needs no database: it builds one long document per corpus row (9,000-15,000 characters, the
row's text past the local model's input limit), embeds them in memory with the local model whole
and chunked at several sizes, and prints MRR@10, recall@5 and hit@1 of each (docs/chunking.md).
--long --database measures the same documents through the engine: loads them into a table
(public.eval_long_documents), registers it as a chunked target (the engine's default chunking) and
a whole-row target, embeds both with the command line's backfill and the local model, asks every
question of public.search_embeddings on each target in keyword, semantic and hybrid mode, and
prints the scores (the tuning flags as for the music questions); the table and targets are removed
at the end, also on failure.`;

const keywordMatches = ["any", "all", "websearch"] as const;

function numberFlag(values: Record<string, unknown>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(value)) {
    throw new Error(`--${name} must be a number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function tuningFrom(values: Record<string, unknown>): Tuning {
  const keywordMatch = values["keyword-match"];
  if (
    keywordMatch !== undefined &&
    !(keywordMatches as readonly unknown[]).includes(keywordMatch)
  ) {
    throw new Error(`--keyword-match must be one of ${keywordMatches.join(", ")}`);
  }
  return {
    rrfK: numberFlag(values, "rrf-k"),
    semanticWeight: numberFlag(values, "semantic-weight"),
    keywordWeight: numberFlag(values, "keyword-weight"),
    keywordMatch: keywordMatch as Tuning["keywordMatch"],
  };
}

function formatScores(scores: ModeScores): string {
  return [scores.mrrAt10, scores.recallAt5, scores.hitAt1]
    .map((value) => value.toFixed(3).padStart(8))
    .join("  ");
}

function describe(tuning: Tuning): string {
  const shown = (value: unknown) => value ?? "default";
  return `rrf_k ${shown(tuning.rrfK)}, weights semantic ${shown(tuning.semanticWeight)} / keyword ${
    shown(tuning.keywordWeight)
  }, keyword_match ${shown(tuning.keywordMatch)}`;
}

/** The settings --sweep tries; what is left out is public.search_embeddings' default (k 2, weights 1 / 4, any word). */
const sweep: readonly { label: string; tuning: Tuning }[] = [
  { label: "default: k 2, semantic 1 / keyword 4, any word (OR)", tuning: {} },
  {
    label: "websearch_to_tsquery (as Supabase's hybrid_search), k 50, 1 / 1",
    tuning: { keywordMatch: "websearch", rrfK: 50, keywordWeight: 1 },
  },
  {
    label: "all words (plainto_tsquery), k 50, 1 / 1",
    tuning: { keywordMatch: "all", rrfK: 50, keywordWeight: 1 },
  },
  { label: "any word, k 50, 1 / 1", tuning: { rrfK: 50, keywordWeight: 1 } },
  { label: "any word, k 60, 1 / 1", tuning: { rrfK: 60, keywordWeight: 1 } },
  { label: "any word, k 1, 1 / 1", tuning: { rrfK: 1, keywordWeight: 1 } },
  { label: "any word, k 50, 1 / 2", tuning: { rrfK: 50, keywordWeight: 2 } },
  { label: "any word, k 1, 1 / 3", tuning: { rrfK: 1, keywordWeight: 3 } },
  { label: "any word, k 5, 1 / 5", tuning: { rrfK: 5, keywordWeight: 5 } },
  { label: "any word, k 60, 1 / 10", tuning: { rrfK: 60, keywordWeight: 10 } },
  { label: "any word, k 2, 2 / 1 (semantic-led)", tuning: { semanticWeight: 2, keywordWeight: 1 } },
];

/** The flags as parseArgs named them (kebab-case), which evaluate() reads. */
type EvalValues = Record<string, string | boolean | undefined>;

/** commander's parse of the flags, with usage (above) as its help; usage errors throw. */
function parseEvalFlags(args: readonly string[]): EvalValues {
  const program = new Command("deno task eval")
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .option("--db-url <url>")
    .option("--questions <file>")
    .option("--provider <name>")
    .option("--rrf-k <n>")
    .option("--semantic-weight <w>")
    .option("--keyword-weight <w>")
    .option("--keyword-match <mode>")
    .option("--sweep")
    .option("--long")
    .option("--database")
    .option("--seed <n>")
    .option("--json");
  program.helpInformation = () => `${usage}\n`;
  const flags = program.parse([...args], { from: "user" }).opts<Record<string, string | boolean>>();
  return {
    "db-url": flags.dbUrl,
    questions: flags.questions,
    provider: flags.provider,
    "rrf-k": flags.rrfK,
    "semantic-weight": flags.semanticWeight,
    "keyword-weight": flags.keywordWeight,
    "keyword-match": flags.keywordMatch,
    sweep: flags.sweep,
    long: flags.long,
    database: flags.database,
    seed: flags.seed,
    json: flags.json,
  };
}

async function main(): Promise<number> {
  let values: EvalValues;
  let tuning: Tuning;
  let seed: number | undefined;
  try {
    values = parseEvalFlags(Deno.args);
    tuning = tuningFrom(values);
    seed = numberFlag(values, "seed");
    if (values.database && !values.long) throw new Error("--database goes with --long");
    if (
      values.long && !values.database && Object.values(tuning).some((value) => value !== undefined)
    ) {
      throw new Error(
        "--long without --database searches nothing: its tuning flags need --database",
      );
    }
    if (
      values.long && (values.sweep || values.provider || (values["db-url"] && !values.database))
    ) {
      throw new Error(
        "--long embeds with the local model (in memory, or in the database with --database): no --sweep or --provider; --db-url only with --database",
      );
    }
  } catch (error) {
    // --help: commander has printed usage.
    if (error instanceof CommanderError && error.exitCode === 0) return 0;
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (values.long && values.database) {
    return await runLongDatabaseEval({
      dbUrl: values["db-url"] as string | undefined,
      questions: values.questions as string | undefined,
      seed: seed ?? defaultShape.seed,
      json: values.json === true,
      tuning,
    });
  }
  if (values.long) {
    return await runLongEval({
      questions: values.questions as string | undefined,
      seed: seed ?? defaultShape.seed,
      json: values.json === true,
    });
  }
  // --db-url, SUPABASE_DB_URL, or the embedded database, as every command of the command line.
  return await withDatabase(
    values["db-url"] as string | undefined,
    (database) => evaluate(values, tuning, database.url),
  );
}

async function evaluate(
  values: EvalValues,
  tuning: Tuning,
  databaseUrl: string,
): Promise<number> {
  const env = {
    ...Deno.env.toObject(),
    SUPABASE_DB_URL: databaseUrl,
    ...(values.provider ? { EMBEDDING_PROVIDER: values.provider as string } : {}),
  };
  let sql: Sql | undefined;
  try {
    const set = await readQuestionSet((values.questions as string | undefined) ?? undefined);
    const config = readEmbedConfig(env, false);
    sql = connectDatabase(config.databaseUrl);
    const checked = await checkSearchTarget(
      sql,
      { role: "anon", claims: { role: "anon" } },
      set.target,
    );
    if (!checked.ok) throw new Error(checked.error);
    const { target } = checked;
    const provider = await createProvider(config.providerSettings);
    if (provider.model !== target.model) {
      throw new Error(
        `target ${target.name} holds vectors of model ${target.model}; this evaluation embeds with ${provider.model} (--provider)`,
      );
    }
    const embeddings = await embedQuestions(provider, set);
    await ensureCorpus(sql, set, provider, embeddings[0]);

    if (values.sweep) {
      const rows = [];
      for (const variant of sweep) {
        const scores = await evaluateModes(sql, set, embeddings, variant.tuning);
        rows.push({ ...variant, scores });
      }
      if (values.json) {
        console.log(JSON.stringify(rows, null, 2));
      } else {
        console.log(
          "| setting | keyword MRR@10 | semantic MRR@10 | hybrid MRR@10 | hybrid recall@5 | hybrid hit@1 |",
        );
        console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
        for (const { label, scores } of rows) {
          const cells = [
            scores.keyword!.mrrAt10,
            scores.semantic!.mrrAt10,
            scores.hybrid!.mrrAt10,
            scores.hybrid!.recallAt5,
            scores.hybrid!.hitAt1,
          ].map((value) => value.toFixed(3));
          console.log(`| ${label} | ${cells.join(" | ")} |`);
        }
      }
      return 0;
    }

    const scores = await evaluateModes(sql, set, embeddings, tuning);
    if (values.json) {
      console.log(
        JSON.stringify({ target: set.target, model: target.model, tuning, scores }, null, 2),
      );
      return 0;
    }
    console.log(
      `${set.target}: ${set.questions.length} questions over ${set.corpus.length} rows; model ${target.model}; ${
        describe(tuning)
      }`,
    );
    console.log(`mode        MRR@10  recall@5     hit@1`);
    for (const mode of ["keyword", "semantic", "hybrid"] as const) {
      console.log(`${mode.padEnd(8)}  ${formatScores(scores[mode]!)}`);
    }
    const best = Math.max(scores.keyword!.mrrAt10, scores.semantic!.mrrAt10);
    console.log(
      `hybrid ${
        scores.hybrid!.mrrAt10 >= best ? "matches or beats" : "is below"
      } the better of keyword and semantic on MRR@10 (${scores.hybrid!.mrrAt10.toFixed(3)} vs ${
        best.toFixed(3)
      })`,
    );
    return 0;
  } catch (error) {
    console.error(`eval: ${(error as Error).message}`);
    return 1;
  } finally {
    await sql?.end({ timeout: 5 });
  }
}

if (import.meta.main) Deno.exit(await main());
