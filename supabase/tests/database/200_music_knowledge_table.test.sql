-- 200 App: the music_knowledge table has its vector and text columns and indexes, and keeps updated_at
-- and fts current.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(10);

select col_type_is('public', 'music_knowledge', 'embedding', 'extensions', 'vector(384)',
  'embedding is vector(384)');
select col_type_is('public', 'music_knowledge', 'id', 'uuid', 'id is a uuid');
select col_is_pk('public', 'music_knowledge', 'id', 'id is the primary key');
select ok(
  (select pg_get_indexdef(indexrelid) like '%USING hnsw (embedding vector_cosine_ops)%'
   from pg_catalog.pg_index where indexrelid = 'public.music_knowledge_embedding_hnsw_idx'::regclass),
  'embedding has an HNSW cosine index'
);
select ok(
  (select pg_get_indexdef(indexrelid) like '%USING gin (fts)%'
   from pg_catalog.pg_index where indexrelid = 'public.music_knowledge_fts_idx'::regclass),
  'fts has a GIN index'
);

select trigger_is('public', 'music_knowledge', 'music_knowledge_set_updated_at', 'public', 'set_updated_at',
  'updated_at is kept by the app''s shared trigger function public.set_updated_at()');

-- One row, written a day ago (the transaction rolls it back).
delete from public.music_knowledge;
insert into public.music_knowledge (id, topic, category, suggestion, updated_at) values
  ('00000000-0000-4000-8000-000000000001', 'reverb_sends', 'mixing', 'Use a send bus.', now() - interval '1 day');

select ok(
  (select fts @@ to_tsquery('english', 'reverb & bus') from public.music_knowledge),
  'fts is filled from the text columns'
);

update public.music_knowledge set suggestion = 'Use a send bus and high-pass the return.';
select ok(
  (select updated_at > now() - interval '1 minute' from public.music_knowledge),
  'changing the text moves updated_at to now (public.set_updated_at)'
);
select ok(
  (select fts @@ to_tsquery('english', 'high-pass') from public.music_knowledge),
  'fts follows the new text'
);

update public.music_knowledge set updated_at = now() - interval '1 day';
update public.music_knowledge set embedding = tests.vector_json(384)::text::extensions.vector;
select ok(
  (select updated_at < now() - interval '1 hour' from public.music_knowledge),
  'writing only the embedding leaves updated_at alone'
);

select * from finish();
rollback;
