// Makes the rows a search is measured or tested on searchable: loads the seed rows when missing and embeds what is queued, with the same worker the embed function runs.
import type { Sql } from "../../supabase/functions/_shared/database.ts";
import { PostgresTargetQueue } from "../../supabase/functions/_shared/postgres_target_queue.ts";
import type { EmbeddingProvider } from "../../supabase/functions/_shared/providers/embedding_provider.ts";
import { defaultRunOptions } from "../../supabase/functions/_shared/run_options.ts";
import { runWorker } from "../../supabase/functions/_shared/worker.ts";
import type { WorkerReport } from "../../supabase/functions/_shared/worker_report.ts";
import { seedSqlFile } from "../stack/local_stack_settings.ts";
import { searchableCorpusRows } from "./evaluate.ts";
import type { QuestionSet } from "./question_set.ts";

/** Embeds every queued row of the target (as service_role, through the engine's API); throws unless all went through. */
export async function embedQueuedRows(
  sql: Sql,
  provider: EmbeddingProvider,
  target: string,
): Promise<WorkerReport> {
  const report = await runWorker(new PostgresTargetQueue(sql), provider, {
    ...defaultRunOptions,
    target,
  });
  if (!report.ok) throw new Error(`embedding ${target} failed: ${report.message}`);
  return report;
}

/** Makes every corpus row searchable: loads the seed rows and embeds what is queued. */
export async function ensureCorpus(
  sql: Sql,
  set: QuestionSet,
  provider: EmbeddingProvider,
  probe: readonly number[],
): Promise<void> {
  if (await searchableCorpusRows(sql, set, probe) === set.corpus.length) return;
  console.error(`eval: loading ${seedSqlFile} and embedding target ${set.target}...`);
  await sql.file(seedSqlFile);
  await embedQueuedRows(sql, provider, set.target);
  const searchable = await searchableCorpusRows(sql, set, probe);
  if (searchable !== set.corpus.length) {
    throw new Error(
      `only ${searchable} of the ${set.corpus.length} corpus rows have a current vector after embedding; has their text changed from supabase/seed.sql?`,
    );
  }
}
