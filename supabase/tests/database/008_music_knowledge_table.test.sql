-- The music_knowledge table keeps updated_at and fts current and has its vector and text indexes.
begin;
create extension if not exists pgtap with schema extensions;
select plan(9);

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
  'changing the text moves updated_at to now'
);
select ok(
  (select fts @@ to_tsquery('english', 'high-pass') from public.music_knowledge),
  'fts follows the new text'
);

update public.music_knowledge set updated_at = now() - interval '1 day';
update public.music_knowledge
  set embedding = (select array_agg(0.05)::real[]::extensions.vector from generate_series(1, 384));
select ok(
  (select updated_at < now() - interval '1 hour' from public.music_knowledge),
  'writing only the embedding leaves updated_at alone'
);

select * from finish();
rollback;
