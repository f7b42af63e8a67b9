-- 235 Search over a chunked target: two users' notes under per-user RLS (as the app's stories), their
-- chunks written by write_chunks. User A's search never returns or reveals user B's chunks, in any
-- mode, nor does reading the chunk view; anon reads no chunk at all; a row comes back once, ranked by
-- its best chunk, with that chunk's text and offsets; a chunk of a text since changed is not returned.
begin;
\ir ../fixtures/test_helpers.psql
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(32);

-- =============================================================================================
-- Two users' notes, a chunked target of 3-dimension vectors
-- =============================================================================================
select tests.create_user('aaaaaaaa-0000-4000-8000-000000000235', 'ana.chunks@example.com');
select tests.create_user('bbbbbbbb-0000-4000-8000-000000000235', 'ben.chunks@example.com');
create table public.chunk_notes (
  id bigint primary key,
  user_id uuid not null,
  title text not null,
  body text not null,
  topic text not null
);
alter table public.chunk_notes enable row level security;
create policy "users read their own notes" on public.chunk_notes for select to authenticated
  using ((select auth.uid()) = user_id);
revoke all on public.chunk_notes from anon, authenticated;
grant select on public.chunk_notes to authenticated;
create function public.chunk_notes_content(note public.chunk_notes) returns text
  language sql immutable set search_path = '' as $$ select note.title || E'\n\n' || note.body $$;
revoke execute on function public.chunk_notes_content(public.chunk_notes) from public, anon;
grant execute on function public.chunk_notes_content(public.chunk_notes) to authenticated;
insert into public.chunk_notes (id, user_id, title, body, topic) values
  (1, 'aaaaaaaa-0000-4000-8000-000000000235', 'Ana at sea', 'Sailing through a storm. The mast broke at dawn.', 'sea'),
  (2, 'aaaaaaaa-0000-4000-8000-000000000235', 'Ana on the hill', 'Climbing in the snow.', 'hill'),
  (3, 'bbbbbbbb-0000-4000-8000-000000000235', 'Ben at sea', 'Sailing to the island. The compass broke.', 'sea');
select embeddings.register_target('public.chunk_notes', 'id', 'public.chunk_notes_content(public.chunk_notes)',
  null, 'test-model', 3, target_name => 'chunk_notes', chunking => '{"size": 100}');

-- Each row's chunks: [start, end) of its text and the vector; the text is cut from the row's text.
create temporary table chunk_plan (row_key text, chunk_start integer, chunk_end integer, embedding text);
insert into chunk_plan values
  ('1', 0, 10, '[0, 1, 0]'),        -- "Ana at sea"
  ('1', 12, 36, '[1, 0.2, 0]'),     -- "Sailing through a storm."
  ('1', 37, 60, '[0, 0, 1]'),
  ('2', 0, 38, '[0, 0.5, 1]'),
  ('3', 0, 10, '[0, 1, 0.1]'),
  ('3', 12, 34, '[1, 0, 0]');       -- "Sailing to the island.": B's, the nearest to [1, 0, 0]
grant select on chunk_plan to service_role;

/** Claims every queued row of chunk_notes and writes its planned chunks with write_chunks (JSON form), as service_role. */
create function pg_temp.write_planned_chunks() returns text[] language plpgsql as $$
declare
  written text[];
begin
  perform tests.authenticate_as_service_role();
  with claimed as (
    select * from embeddings.claim_batch(tests.target_id('chunk_notes'), 100, 60)
  ),
  batch as (
    select (array_agg(c.lease_token))[1] as lease_token,
           jsonb_agg(jsonb_build_object('key', c.row_key, 'content_hash', c.content_hash, 'chunks', (
             select coalesce(jsonb_agg(jsonb_build_object('start', p.chunk_start, 'end', p.chunk_end,
                      'text', substr(c.content, p.chunk_start + 1, p.chunk_end - p.chunk_start),
                      'embedding', p.embedding::jsonb) order by p.chunk_start), '[]')
             from chunk_plan as p where p.row_key = c.row_key))) as items
    from claimed as c
  )
  select w.written_keys into written
  from batch as b cross join lateral embeddings.write_chunks(tests.target_id('chunk_notes'), b.lease_token,
    'test-model', b.items) as w;
  perform tests.clear_authentication();
  return written;
end;
$$;

select is(pg_temp.write_planned_chunks(), array['1', '2', '3'], 'write_chunks wrote the three notes');
select is((select count(*)::integer from embedding_chunks.chunk_notes), 6, 'six chunks, read back from the chunk table');

-- =============================================================================================
-- The chunk table and its view
-- =============================================================================================
select is(
  (select c.relkind::text || ' ' || pg_catalog.pg_get_userbyid(c.relowner) from pg_catalog.pg_class as c
   where c.oid = 'embedding_search.chunks_chunk_notes'::regclass),
  'v postgres', 'the target has its chunk view, embedding_search.chunks_chunk_notes, owned by postgres'
);
select ok(
  (select 'security_barrier=true' = any (c.reloptions) from pg_catalog.pg_class as c
   where c.oid = 'embedding_search.chunks_chunk_notes'::regclass),
  'the chunk view is a security barrier'
);
select ok(
  not has_table_privilege('anon', 'embedding_chunks.chunk_notes', 'select')
    and not has_table_privilege('authenticated', 'embedding_chunks.chunk_notes', 'select')
    and not has_schema_privilege('anon', 'embedding_chunks', 'usage')
    and not has_schema_privilege('authenticated', 'embedding_chunks', 'usage'),
  'clients get no privilege on the chunk table or its schema'
);

set local role anon;
select throws_ok($$ select count(*) from embedding_chunks.chunk_notes $$, '42501', null,
  'anon reading the chunk table is refused');
select is((select count(*)::integer from embedding_search.chunks_chunk_notes), 0,
  'anon reads no chunk through the view (it may not read chunk_notes)');
select throws_ok(
  $$ select * from public.search_embeddings('chunk_notes', query_embedding => '[1, 0, 0]', mode => 'semantic') $$,
  '42501', 'role anon may not read public.chunk_notes, so it cannot search target chunk_notes',
  'anon searching the chunked target is refused'
);
select tests.clear_authentication();

select tests.authenticate_as('aaaaaaaa-0000-4000-8000-000000000235');
select throws_ok($$ select count(*) from embedding_chunks.chunk_notes $$, '42501', null,
  'a user reading the chunk table is refused');
select set_eq($$ select row_key from embedding_search.chunks_chunk_notes $$, array['1', '1', '1', '2'],
  'Ana reads through the view the chunks of her own notes only');
select is_empty(
  $$ select 1 from embedding_search.chunks_chunk_notes as c where c.row_key = '3' or c.chunk_text like '%island%' $$,
  'not one of Ben''s, whatever she asks of the view'
);
select tests.clear_authentication();

-- =============================================================================================
-- Semantic: rows ranked by their best chunk, one result per row, as the caller
-- =============================================================================================
select tests.authenticate_as('aaaaaaaa-0000-4000-8000-000000000235');
create temporary table ana_semantic as
  select * from public.search_embeddings('chunk_notes', query_embedding => '[1, 0, 0]', mode => 'semantic');
select tests.clear_authentication();
select results_eq(
  $$ select row_key, chunk_index, chunk_start, chunk_end, chunk from ana_semantic order by semantic_rank $$,
  $$ values ('1', 1, 12, 36, 'Sailing through a storm.'), ('2', 0, 0, 38, 'Ana on the hill' || E'\n\n' || 'Climbing in the snow.') $$,
  'Ana''s semantic search: her two notes, once each, each with its best chunk, its place and offsets'
);
select is((select row_data ->> 'title' from ana_semantic where row_key = '1'), 'Ana at sea',
  'the row itself comes back as row_data');
select ok(
  (select abs(similarity - (1 - ('[1, 0.2, 0]'::extensions.vector operator(extensions.<=>) '[1, 0, 0]'))) < 1e-9
   from ana_semantic where row_key = '1'),
  'a chunked row''s similarity is its best chunk''s'
);
select is((select ranked_by from ana_semantic where row_key = '1'), array['semantic'], 'ranked by the semantic side');

select tests.authenticate_as('bbbbbbbb-0000-4000-8000-000000000235');
select results_eq(
  $$ select row_key, chunk_index, chunk, round(similarity::numeric, 6)
     from public.search_embeddings('chunk_notes', query_embedding => '[1, 0, 0]', mode => 'semantic') $$,
  $$ values ('3', 1, 'Sailing to the island.', 1.000000) $$,
  'Ben''s semantic search: his note only, by its chunk that is the query itself'
);
select tests.clear_authentication();

select tests.authenticate_as_service_role();
select results_eq(
  $$ select row_key, chunk_index from public.search_embeddings('chunk_notes', query_embedding => '[1, 0, 0]', mode => 'semantic')
     order by semantic_rank $$,
  $$ values ('3', 1), ('1', 1), ('2', 0) $$,
  'service_role (RLS bypassed): every note once, Ben''s nearest chunk first'
);
select tests.clear_authentication();

-- =============================================================================================
-- Keyword and hybrid: B's row is never among A's results, nor does it move A's ranks
-- =============================================================================================
select tests.authenticate_as('aaaaaaaa-0000-4000-8000-000000000235');
select set_eq(
  $$ select row_key from public.search_embeddings('chunk_notes', query_text => 'sailing island compass', mode => 'keyword') $$,
  array['1'],
  'Ana''s keyword search for words of Ben''s note finds only her own note that shares one'
);
select is_empty(
  $$ select 1 from public.search_embeddings('chunk_notes', query_text => 'island compass', mode => 'keyword') $$,
  'words only Ben''s note holds: nothing, not a hint of it'
);
select is(
  (select array_agg(chunk) from public.search_embeddings('chunk_notes', query_text => 'sailing', mode => 'keyword')),
  array[null::text], 'a row only the keyword side found has no chunk'
);
create temporary table ana_hybrid as
  select * from public.search_embeddings('chunk_notes', query_text => 'sailing island',
    query_embedding => '[1, 0, 0]', mode => 'hybrid', match_count => 100);
select set_eq($$ select row_key from ana_hybrid $$, array['1', '2'], 'Ana''s hybrid search: her two notes');
select results_eq(
  $$ select row_key, semantic_rank, keyword_rank, chunk_index from ana_hybrid order by score desc $$,
  $$ values ('1', 1, 1, 1), ('2', 2, null, 0) $$,
  'ranks counted among her rows only (Ben''s nearer chunk takes no rank), her best chunk each'
);
select tests.clear_authentication();

select tests.authenticate_as('bbbbbbbb-0000-4000-8000-000000000235');
select set_eq(
  $$ select row_key from public.search_embeddings('chunk_notes', query_text => 'sailing storm mast',
       query_embedding => '[0, 0, 1]', mode => 'hybrid', match_count => 100) $$,
  array['3'],
  'Ben''s hybrid search with Ana''s words and her chunk''s vector: his own note only'
);
select tests.clear_authentication();

-- =============================================================================================
-- Filters, and one result per row however many of its chunks are near
-- =============================================================================================
select tests.authenticate_as_service_role();
select results_eq(
  $$ select row_key from public.search_embeddings('chunk_notes', query_embedding => '[0, 1, 0]', mode => 'semantic',
       filters => '{"topic": "sea"}') order by semantic_rank $$,
  $$ values ('1'), ('3') $$,
  'a filter on the row keeps the rows it names (each once, though each has a chunk at [0, 1, 0])'
);
select is(
  (select count(*)::integer from public.search_embeddings('chunk_notes', query_embedding => '[0.5, 0.5, 0.5]',
     mode => 'semantic', match_count => 100)),
  3, 'six chunks, three rows: three results'
);
select tests.clear_authentication();

-- =============================================================================================
-- Only current chunks: a changed text's chunks are not returned until it is chunked again
-- =============================================================================================
update public.chunk_notes set body = 'Rowing home. The oars held.' where id = 1;
select tests.authenticate_as('aaaaaaaa-0000-4000-8000-000000000235');
select results_eq(
  $$ select row_key from public.search_embeddings('chunk_notes', query_embedding => '[1, 0, 0]', mode => 'semantic') $$,
  $$ values ('2') $$,
  'after note 1''s text changed, its old chunks are not returned (stale): only note 2'
);
select is_empty(
  $$ select 1 from public.search_embeddings('chunk_notes', query_text => 'rowing oars', mode => 'keyword') $$,
  'nor does the keyword side return the row before its new text is chunked'
);
select tests.clear_authentication();
select is((select count(*)::integer from embedding_chunks.chunk_notes where row_key = '1'), 3,
  'the stale chunks are still in the chunk table (the worker replaces them)');

delete from chunk_plan where row_key = '1';
insert into chunk_plan values ('1', 12, 24, '[1, 0, 0]');  -- "Rowing home."
select is(pg_temp.write_planned_chunks(), array['1'], 'note 1 chunked again');
select tests.authenticate_as('aaaaaaaa-0000-4000-8000-000000000235');
select results_eq(
  $$ select row_key, chunk from public.search_embeddings('chunk_notes', query_embedding => '[1, 0, 0]', mode => 'semantic') $$,
  $$ values ('1', 'Rowing home.'), ('2', 'Ana on the hill' || E'\n\n' || 'Climbing in the snow.') $$,
  'once its new chunks are written, note 1 is found again, by its new chunk'
);
select set_eq(
  $$ select row_key from public.search_embeddings('chunk_notes', query_text => 'rowing oars', mode => 'keyword') $$,
  array['1'], 'and by the words of its new text'
);
select tests.clear_authentication();

-- A whole-row target answers no chunk.
select tests.create_embedded_target('plain_notes', 2, 3);
select is(
  (select count(*)::integer from public.search_embeddings('plain_notes', query_embedding => '[0.05, 0.05, 0.05]',
     mode => 'semantic') where chunk is null and chunk_index is null and chunk_start is null and chunk_end is null),
  2, 'a whole-row target''s results have null chunk columns'
);

select * from finish();
rollback;
