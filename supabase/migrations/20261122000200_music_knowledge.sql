-- =============================================================================================
-- APP: music_knowledge, the seed's knowledge base, as an embedding target
-- =============================================================================================
-- Text columns, a 384-dimension embedding (gte-small's size), full-text search, row-level
-- security that lets clients read but never write, the text each row embeds, and its registration.

-- =============================================================================================
-- Table and indexes
-- =============================================================================================

/** Music production knowledge: a topic, its category, a suggestion and its embedding. */
create table public.music_knowledge (
  id uuid primary key default gen_random_uuid(),
  topic text not null,
  category text not null,
  suggestion text not null,
  confidence double precision not null default 0.5
    check (confidence >= 0 and confidence <= 1),
  embedding extensions.vector(384),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  fts tsvector generated always as (
    to_tsvector(
      'english'::regconfig,
      coalesce(topic, '') || ' ' || coalesce(category, '') || ' ' || coalesce(suggestion, '')
    )
  ) stored
);
comment on table public.music_knowledge is
  'Music production knowledge: a topic, its category and a suggestion, with a 384-dimension embedding filled by the embedding worker.';
comment on column public.music_knowledge.embedding is
  'Embedding of public.music_knowledge_content(row), written only by the embedding worker through embeddings.write_batch.';
comment on column public.music_knowledge.fts is
  'Full-text search vector of topic, category and suggestion (English), kept by Postgres.';

create trigger music_knowledge_set_updated_at
  before update of topic, category, suggestion, confidence on public.music_knowledge
  for each row execute function public.set_updated_at();

-- Vector search (cosine) and full-text search; the engine's queue knows which rows wait.
create index music_knowledge_embedding_hnsw_idx
  on public.music_knowledge using hnsw (embedding extensions.vector_cosine_ops);
create index music_knowledge_fts_idx
  on public.music_knowledge using gin (fts);

-- =============================================================================================
-- Row-level security: anyone may read; no client role may insert, update or delete.
-- Table privileges are revoked as well, so a client write fails loudly instead of silently
-- matching 0 rows (the seed's "20/20 succeeded" with nothing stored).
-- =============================================================================================
alter table public.music_knowledge enable row level security;

revoke insert, update, delete, truncate on public.music_knowledge from anon, authenticated;
grant select on public.music_knowledge to anon, authenticated;

create policy "Anyone can read music knowledge"
  on public.music_knowledge for select
  to anon, authenticated
  using (true);
comment on policy "Anyone can read music knowledge" on public.music_knowledge is
  'Music knowledge is public reference material; writes go through the service role only.';

-- =============================================================================================
-- The text a row embeds, defined once, beside its table
-- =============================================================================================

/** "<topic with spaces> (<category>): <suggestion>" */
create or replace function public.music_knowledge_content(knowledge public.music_knowledge)
returns text
language sql immutable set search_path = ''
-- A begin atomic body: PostgreSQL records the columns it reads, so the sync trigger compares
-- those instead of calling this function on both versions of every updated row.
begin atomic
  select replace(knowledge.topic, '_', ' ') || ' (' || knowledge.category || '): '
    || knowledge.suggestion;
end;
comment on function public.music_knowledge_content(public.music_knowledge) is
  'The text embedded for a music_knowledge row: "<topic with spaces> (<category>): <suggestion>". Change it here and re-embed.';
revoke execute on function public.music_knowledge_content(public.music_knowledge) from public, anon, authenticated;
-- The search reads each row's text as its caller to tell a current vector from a stale one: a pure
-- function of a row the caller already holds, so it goes to every role that may read the table.
grant execute on function public.music_knowledge_content(public.music_knowledge) to anon, authenticated, service_role;

-- =============================================================================================
-- Registration (the default model: gte-small on Supabase; see embeddings.default_model)
-- =============================================================================================
select embeddings.register_target(
  'public.music_knowledge', 'id', 'public.music_knowledge_content(public.music_knowledge)',
  'embedding', embeddings.default_model(), 384);

-- Keyword search reads the fts column (built with the english configuration), not the content text.
insert into embedding_search.keyword_sources (target_name, tsvector_column, text_search_config)
  values ('music_knowledge', 'fts', 'english')
  on conflict (target_name) do nothing;
