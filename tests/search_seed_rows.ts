// The search tests' common start: the offline model the local stack's targets are embedded with, loaded once, and the 20 seed rows with a current vector each.
import type postgres from "postgres";
import { readEmbedConfig } from "../supabase/functions/_shared/embed_config.ts";
import { createProvider } from "../supabase/functions/_shared/providers/create_provider.ts";
import type { EmbeddingProvider } from "../supabase/functions/_shared/providers/embedding_provider.ts";
import { embedQueuedRows } from "../tools/eval/corpus.ts";
import { databaseUrl, resetToSeedRows } from "./test_support.ts";

/** The seed rows' target; the search has no default, so every request names it. */
export const seedTarget = "music_knowledge";

let provider: Promise<EmbeddingProvider> | undefined;

/** The offline model, loaded once per test file. */
export function localProvider(): Promise<EmbeddingProvider> {
  provider ??= createProvider(
    readEmbedConfig({ SUPABASE_DB_URL: databaseUrl, EMBEDDING_PROVIDER: "local" }, false)
      .providerSettings,
  );
  return provider;
}

/** Embeds what the target's queue holds, with the offline model. */
export async function embedQueued(sql: postgres.Sql, target = seedTarget): Promise<void> {
  await embedQueuedRows(sql, await localProvider(), target);
}

/** The 20 seed rows, each with a current vector. */
export async function seedEmbedded(sql: postgres.Sql): Promise<void> {
  await resetToSeedRows(sql);
  await embedQueued(sql);
}
