-- The seed's music knowledge base: text columns, a 384-dimension embedding (gte-small's size),
-- full-text search, and row-level security that lets clients read but never write.

-- =============================================================================================
-- Table
-- =============================================================================================
create table if not exists public.music_knowledge (
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
  'Music production knowledge: a topic, its category and a suggestion, with a 384-dimension embedding filled by the embed function.';
comment on column public.music_knowledge.embedding is
  'Embedding of embeddings.music_knowledge_content(row); written only through embeddings.write_music_knowledge_embeddings.';
comment on column public.music_knowledge.fts is
  'Full-text search vector of topic, category and suggestion (English), kept by Postgres.';

create or replace trigger music_knowledge_set_updated_at
  before update of topic, category, suggestion, confidence on public.music_knowledge
  for each row execute function embeddings.set_updated_at();

-- =============================================================================================
-- Indexes: vector search (cosine), full-text search, and the backlog of rows without embedding
-- =============================================================================================
create index if not exists music_knowledge_embedding_hnsw_idx
  on public.music_knowledge using hnsw (embedding extensions.vector_cosine_ops);
create index if not exists music_knowledge_fts_idx
  on public.music_knowledge using gin (fts);
create index if not exists music_knowledge_pending_idx
  on public.music_knowledge (id) where embedding is null;

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
