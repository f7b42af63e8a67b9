// The labelled corpus rows' texts, read from supabase/seed.sql and built as public.music_knowledge_content builds them ("<topic with spaces> (<category>): <suggestion>"), for evaluations that need no database.
import { seedSqlFile } from "../stack/local_stack_settings.ts";
import type { QuestionSet } from "./question_set.ts";

/** One values tuple of the seed's insert: ('id', 'topic', 'category', 'suggestion', confidence). */
const seedTuple = /\('([^']*)', '([^']*)', '([^']*)', '((?:[^']|'')*)', [\d.]+\)/g;

/** The text each seed row embeds, by id. */
export function parseSeedRowTexts(seedSql: string): Map<string, string> {
  const texts = new Map<string, string>();
  for (const [, id, topic, category, suggestion] of seedSql.matchAll(seedTuple)) {
    texts.set(
      id,
      `${topic.replaceAll("_", " ")} (${category}): ${suggestion.replaceAll("''", "'")}`,
    );
  }
  return texts;
}

/** The text of every corpus row of the set, by id; throws naming a row the seed lacks. */
export async function readCorpusTexts(
  set: QuestionSet,
  file: string = seedSqlFile,
): Promise<Map<string, string>> {
  const seedTexts = parseSeedRowTexts(await Deno.readTextFile(file));
  const texts = new Map<string, string>();
  for (const row of set.corpus) {
    const text = seedTexts.get(row.id);
    if (text === undefined) {
      throw new Error(`corpus row ${row.id} (${row.topic}) is not in ${file}`);
    }
    texts.set(row.id, text);
  }
  return texts;
}
