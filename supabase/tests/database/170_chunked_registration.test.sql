-- 170 Registering a chunked target: its chunking checked and completed, no vector column, its chunk
-- table created (RLS on, service_role only: anon and authenticated can neither read nor write it),
-- chunk_table names it, write_batch refuses it, unregistering drops it.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(27);

-- A table of 3 rows whose chunks will hold vector(3): no vector column of its own.
select tests.create_table('docs', 3, 3, 'bigint');
alter table public.docs drop column embedding;
create function pg_temp.register(chunking jsonb, embedding_column name default null, target_name text default 'docs')
returns bigint language sql as $$
  select embeddings.register_target('public.docs', 'id', 'public.docs_content(public.docs)', embedding_column,
    'test-model', 3, target_name => target_name, chunking => chunking)
$$;

-- The chunking option
select is(embeddings._check_chunking('{}'),
  '{"unit": "characters", "size": 300, "overlap": 45, "splitter": "recursive"}'::jsonb,
  'an empty chunking takes every default: characters, 300, overlap 45, recursive');
select is(embeddings._check_chunking('{"size": 400}') -> 'overlap', '60'::jsonb,
  'a size given without an overlap gets 15% of it as overlap');
select is(embeddings._check_chunking('{"unit": "tokens", "size": 256, "overlap": 32, "splitter": "markdown"}'),
  '{"unit": "tokens", "size": 256, "overlap": 32, "splitter": "markdown"}'::jsonb,
  'options given are kept');
select throws_ok($$ select embeddings._check_chunking('{"size": 500, "overlap": 500}') $$, '22023',
  'chunking overlap must be a whole number of characters from 0 to less than the size (500), got 500',
  'an overlap as large as the size is refused');
select throws_ok($$ select embeddings._check_chunking('{"unit": "words"}') $$, '22023',
  'chunking unit must be "characters" or "tokens", got "words"', 'an unknown unit is refused');
select throws_ok($$ select embeddings._check_chunking('{"chunk_size": 500}') $$, '22023',
  'chunking has no option chunk_size: its options are unit, size, overlap and splitter', 'an unknown option is named');
select throws_ok($$ select embeddings._check_chunking('{"size": 10.5}') $$, '22023',
  'chunking size must be a whole number of characters between 16 and 100000, got 10.5', 'a fractional size is refused');

-- Registration
select throws_ok($$ select pg_temp.register('{}', 'title') $$, '22023', null,
  'chunking with an embedding column is refused');
select throws_ok(
  $$ select embeddings.register_target('public.docs', 'id', 'public.docs_content(public.docs)', null, 'test-model', 3) $$,
  '22023', 'embedding_column is null: name the vector column, or pass chunking to keep chunks in a chunk table',
  'no column and no chunking is refused');
select lives_ok($$ select pg_temp.register('{"size": 800}') $$, 'a chunked target registers with no vector column');
select results_eq(
  $$ select embedding_column::text, chunking from embeddings.targets where name = 'docs' $$,
  $$ values (null::text, '{"unit": "characters", "size": 800, "overlap": 120, "splitter": "recursive"}'::jsonb) $$,
  'its registry row has no column and the completed chunking');
select is(embeddings.chunk_table(tests.target_id('docs')), 'embedding_chunks.docs'::regclass,
  'chunk_table names its chunk table');
select columns_are('embedding_chunks', 'docs', array['row_key', 'chunk_index', 'start_offset', 'end_offset',
  'chunk_text', 'content_hash', 'model', 'embedding', 'embedded_at'], 'the chunk table has the contract''s columns');
select col_type_is('embedding_chunks', 'docs', 'embedding', 'extensions', 'vector(3)', 'of the model''s dimensions');
select col_is_pk('embedding_chunks', 'docs', array['row_key', 'chunk_index'], 'keyed by row and chunk index');
select ok((select relrowsecurity from pg_class where oid = 'embedding_chunks.docs'::regclass), 'RLS is on');
select is((select pg_get_userbyid(relowner)::text from pg_class where oid = 'embedding_chunks.docs'::regclass),
  'postgres', 'owned by postgres');
select ok(
  exists (select 1 from pg_indexes where schemaname = 'embedding_chunks' and tablename = 'docs'
          and indexdef like '%USING hnsw (embedding%vector_cosine_ops)%'),
  'an HNSW index serves cosine search');
select is(
  (select array_agg(format('%s %s', r, p) order by r, p) from unnest(array['anon', 'authenticated', 'public']) as r,
     unnest(array['select', 'insert', 'update', 'delete']) as p
   where has_table_privilege(r, 'embedding_chunks.docs', p)
      or (r <> 'public' and has_schema_privilege(r, 'embedding_chunks', 'usage'))),
  null, 'anon, authenticated and PUBLIC can neither use the schema nor read or write the chunk table');
select ok(
  has_table_privilege('service_role', 'embedding_chunks.docs', 'select, insert, update, delete')
    and has_schema_privilege('service_role', 'embedding_chunks', 'usage'),
  'service_role may read and write it');
select is((select pending from embeddings.status where name = 'docs'), 3::bigint, 'its 3 rows are queued');
set local role authenticated;
select throws_ok($$ select count(*) from embedding_chunks.docs $$, '42501', null,
  'authenticated reading the chunk table: permission denied');
select throws_ok(
  $$ insert into embedding_chunks.docs values ('1', 0, 0, 1, 'x', 'x', 'test-model', '[1,0,0]', now()) $$, '42501', null,
  'authenticated writing the chunk table: permission denied');
reset role;
set local role anon;
select throws_ok($$ delete from embedding_chunks.docs $$, '42501', null, 'anon deleting from it: permission denied');
reset role;

-- write_batch refuses it
select throws_ok(
  format($$ select * from embeddings.write_batch(%s, gen_random_uuid(), 'test-model', '{}'::text[], '{}'::text[], '{}'::text[]) $$,
    tests.target_id('docs')),
  '22023', 'target docs is chunked: its rows have no vector column; write their chunks with embeddings.write_chunks',
  'write_batch refuses a chunked target, naming write_chunks');
select is(embeddings.chunk_table(tests.target_id('music_knowledge')), null, 'a whole-row target has no chunk table');

-- Unregistering drops the chunk table
select embeddings.unregister_target(tests.target_id('docs'));
select is(to_regclass('embedding_chunks.docs'), null, 'unregister_target drops the chunk table');

select * from finish();
rollback;
