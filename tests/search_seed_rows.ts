// The search tests' common start: the offline model the local stack's targets are embedded with, loaded once; the 20 seed rows with a current vector each; two users' stories (a chunked target).
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

/** Ana's story of the sea: long enough that the chunked target stories cuts it in two chunks. */
export const anaSeaStory = [
  "We left the harbour before dawn, with the tide, and for the first hours the water was flat and grey.",
  "By noon the wind had turned. Sailing through a storm with a broken mast, we reefed what sail we had left and steered by the swell.",
  "The island came up out of the rain the next morning, and we tied up at the old pier, too tired to speak.",
].join("\n\n");

/**
 * Two users, Ana with two stories (a long one about the sea, in several chunks) and Ben with one
 * about the sea, embedded; removed with their stories afterwards. RLS lets each read only their own
 * stories, and so only their chunks.
 */
export async function withTwoUsersStories(
  sql: postgres.Sql,
  work: (ana: string, ben: string) => Promise<void>,
): Promise<void> {
  const ana = "aaaaaaaa-0000-4000-8000-0000000023a1";
  const ben = "bbbbbbbb-0000-4000-8000-0000000023b2";
  await sql`delete from auth.users where id in (${ana}, ${ben})`;
  try {
    await sql`insert into auth.users (id, email) values
      (${ana}, 'ana.search@example.com'), (${ben}, 'ben.search@example.com')`;
    await sql`insert into public.stories (user_id, title, body) values
      (${ana}, 'Ana at sea', ${anaSeaStory}),
      (${ana}, 'Ana on the mountain', 'Climbing in the snow.'),
      (${ben}, 'Ben at sea', 'Sailing to the island with a broken compass.')`;
    await embedQueued(sql, "stories");
    await work(ana, ben);
  } finally {
    await sql`delete from auth.users where id in (${ana}, ${ben})`;
  }
}
