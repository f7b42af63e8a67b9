// The chunked-search tests' common start: a throwaway chunked target of long stories under per-user RLS (as the app's stories), two users' stories chunked by chunkText, embedded by the offline model and written by write_chunks as service_role.
import type postgres from "postgres";
import { chunkText } from "../supabase/functions/_shared/chunking/chunk_text.ts";
import { localProvider } from "./search_seed_rows.ts";

export const chunkedTarget = "long_stories";

const ana = "aaaaaaaa-0000-4000-8000-0000000022a1";
const ben = "bbbbbbbb-0000-4000-8000-0000000022b2";

/** Ana's story: the storm is in its third paragraph, far from its start. */
export const anaStory = {
  title: "Ana's crossing",
  body: [
    "We left the harbour before dawn, with coffee, bread and a radio that only spoke in static.",
    "For two days the wind was kind. We read, slept on deck and counted the ships on the horizon.",
    "On the third night a storm broke over us. Waves came over the bow and the mast cracked in the gale.",
    "By morning the sea was flat again and we drifted home under a borrowed sail.",
  ].join("\n\n"),
};

/** Ben's story: a storm at sea too, which Ana must never see. */
export const benStory = {
  title: "Ben's island",
  body: [
    "The island was two hours away by boat, and the ferry had stopped for the winter.",
    "Halfway there a storm caught us at sea; the waves were higher than the boat and the compass spun.",
  ].join("\n\n"),
};

async function createTarget(sql: postgres.Sql, model: string, dimensions: number): Promise<void> {
  await sql.unsafe(`
    create table public.${chunkedTarget} (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references auth.users (id) on delete cascade,
      title text not null,
      body text not null
    );
    alter table public.${chunkedTarget} enable row level security;
    revoke all on public.${chunkedTarget} from anon, authenticated;
    grant select on public.${chunkedTarget} to authenticated;
    create policy "users read their own long stories" on public.${chunkedTarget} for select
      to authenticated using ((select auth.uid()) = user_id);
    create function public.${chunkedTarget}_content(story public.${chunkedTarget}) returns text
      language sql immutable set search_path = '' as $$ select story.title || E'\\n\\n' || story.body $$;
    revoke execute on function public.${chunkedTarget}_content(public.${chunkedTarget}) from public, anon;
    grant execute on function public.${chunkedTarget}_content(public.${chunkedTarget}) to authenticated;`);
  await sql`
    select embeddings.register_target(${`public.${chunkedTarget}`}::regclass, 'id',
      ${`public.${chunkedTarget}_content(public.${chunkedTarget})`}::regprocedure, null, ${model},
      ${dimensions}, target_name => ${chunkedTarget},
      chunking => '{"unit": "characters", "size": 120, "overlap": 0, "splitter": "recursive"}')`;
}

interface ClaimedRow {
  row_key: string;
  content: string;
  content_hash: string;
  lease_token: string;
}

/** Claims every queued row, chunks and embeds it, and writes the chunks, as the worker would. */
async function chunkQueuedRows(sql: postgres.Sql): Promise<number> {
  const provider = await localProvider();
  return await sql.begin(async (tx) => {
    await tx`set local role service_role`;
    const [{ id }] = await tx<{ id: string }[]>`
      select t.id from embeddings.targets as t where t.name = ${chunkedTarget}`;
    const claimed = await tx<ClaimedRow[]>`
      select * from embeddings.claim_batch(${id}, 100, 60)`;
    const options = { unit: "characters", size: 120, overlap: 0, splitter: "recursive" } as const;
    const chunked = claimed.map((row) => chunkText(row.content, options));
    const vectors = await provider.embed(chunked.flat().map((chunk) => chunk.text));
    const [written] = await tx<{ written_keys: string[] }[]>`
      select w.written_keys from embeddings.write_chunks(${id}, ${claimed[0].lease_token}::uuid,
        ${provider.model}, ${claimed.map((row) => row.row_key)}::text[],
        ${claimed.map((row) => row.content_hash)}::text[],
        ${chunked.flatMap((chunks, row) => chunks.map(() => row + 1))}::integer[],
        ${chunked.flat().map((chunk) => chunk.start)}::integer[],
        ${chunked.flat().map((chunk) => chunk.end)}::integer[],
        ${chunked.flat().map((chunk) => chunk.text)}::text[],
        ${vectors.map((vector) => `[${vector.join(",")}]`)}::text[]) as w`;
    return written.written_keys.length;
  });
}

/**
 * Ana and Ben, one long story each in a chunked target of the offline model, chunked (120
 * characters) and written; removed with the target afterwards. RLS lets each read only their own.
 */
export async function withChunkedStories(
  sql: postgres.Sql,
  work: (users: { ana: string; ben: string }) => Promise<void>,
): Promise<void> {
  const provider = await localProvider();
  const cleanUp = async () => {
    await sql`select embeddings.unregister_target(t.id) from embeddings.targets as t where t.name = ${chunkedTarget}`;
    await sql.unsafe(`drop table if exists public.${chunkedTarget} cascade`);
    await sql`delete from auth.users where id in (${ana}, ${ben})`;
  };
  await cleanUp();
  try {
    await sql`insert into auth.users (id, email) values
      (${ana}, 'ana.chunks@example.com'), (${ben}, 'ben.chunks@example.com')`;
    await createTarget(sql, provider.model, provider.dimensions);
    await sql`insert into ${sql("public")}.${sql(chunkedTarget)} (user_id, title, body) values
      (${ana}, ${anaStory.title}, ${anaStory.body}), (${ben}, ${benStory.title}, ${benStory.body})`;
    const written = await chunkQueuedRows(sql);
    if (written !== 2) throw new Error(`write_chunks wrote ${written} of the 2 stories`);
    await work({ ana, ben });
  } finally {
    await cleanUp();
  }
}
