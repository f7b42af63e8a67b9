-- 237 A chunked target's chunk view follows its chunk table: made at registration, still there after
-- the table is altered, gone with it at unregistration (which the view does not block), made again
-- for a model of other dimensions (a change of the column's type the view does not block either);
-- a long target name gets a view name within 63 bytes; another role's DDL is not disturbed; nor is
-- the drop of a chunked target's source table.
begin;
\ir ../fixtures/test_helpers.psql
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(14);

create table public.view_notes (id bigint primary key, title text not null);
insert into public.view_notes values (1, 'one'), (2, 'two');
create function public.view_notes_content(note public.view_notes) returns text
  language sql immutable set search_path = '' as $$ select note.title $$;
select embeddings.register_target('public.view_notes', 'id', 'public.view_notes_content(public.view_notes)', null,
  'test-model', 3, target_name => 'view_notes', chunking => '{"size": 100}');
select is(
  (select t.chunk_view::text from embedding_search.targets as t where t.target_name = 'view_notes'),
  'embedding_search.chunks_view_notes', 'registration made the chunk view'
);
select has_view('embedding_search', 'chunks_view_notes', 'the view is in embedding_search');

-- A change of the chunk table: the view stays (DDL in embedding_chunks makes missing views only).
alter table embedding_chunks.view_notes add column note text;
select has_view('embedding_search', 'chunks_view_notes', 'after an ALTER TABLE of the chunk table, the view is there');
select ok(
  has_table_privilege('authenticated', 'embedding_search.chunks_view_notes', 'select')
    and not has_table_privilege('authenticated', 'embedding_chunks.view_notes', 'select')
    and obj_description('embedding_search.chunks_view_notes'::regclass, 'pg_class') like 'The chunks of chunked target view_notes%',
  'made again with its grant (the view, never the table) and its comment'
);

-- A model of other dimensions alters the chunk table's vector column: the view does not block it.
select lives_ok(
  $$ select embeddings.set_target_model(tests.target_id('view_notes'), 'test-model-4', 4) $$,
  'set_target_model to 4 dimensions alters the chunk table''s column though a view reads it'
);
select is(
  (select a.atttypmod from pg_attribute as a
   where a.attrelid = 'embedding_search.chunks_view_notes'::regclass and a.attname = 'embedding'),
  4, 'and the view made again reads the 4-dimension column'
);
insert into embedding_chunks.view_notes (row_key, chunk_index, start_offset, end_offset, chunk_text, content_hash, model, embedding)
  select p.id::text, 0, 0, 3, 'row', md5(public.view_notes_content(p)), 'test-model-4', '[1, 0, 0, 0]'
  from public.view_notes as p;
select results_eq(
  $$ select row_key, chunk from public.search_embeddings('view_notes', query_embedding => '[1, 0, 0, 0]', mode => 'semantic')
     order by row_key $$,
  $$ values ('1', 'row'), ('2', 'row') $$,
  'a search of the new model''s chunks reads them through it'
);

-- Unregistration drops the chunk table: the view goes with it.
select lives_ok($$ select embeddings.unregister_target(tests.target_id('view_notes')) $$,
  'unregister_target drops the chunk table though a view read it');
select hasnt_view('embedding_search', 'chunks_view_notes', 'and the chunk view is gone');

-- A target name of 60 bytes: its view name is chunks_ and the md5 of it.
select tests.create_table('view_notes_with_a_long_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 0, 3);
alter table public.view_notes_with_a_long_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx drop column embedding;
select embeddings.register_target('public.view_notes_with_a_long_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'id',
  'public.view_notes_with_a_long_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_content(public.view_notes_with_a_long_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx)',
  null, 'test-model', 3, target_name => 'view_notes_with_a_long_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  chunking => '{"size": 100}');
select is(
  (select t.chunk_view::text from embedding_search.targets as t
   where t.target_name = 'view_notes_with_a_long_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'),
  'embedding_search.chunks_' || md5('view_notes_with_a_long_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'),
  'a target name too long for chunks_<name> gets chunks_<md5 of the name>'
);

-- Another role's DDL: the event triggers leave it alone.
set local role authenticated;
select lives_ok(
  $$ create temporary table scratch (id integer); alter table scratch add column note text; drop table scratch $$,
  'a client creating, altering and dropping its own temporary table is not disturbed'
);
reset role;
select has_view('embedding_search', 'chunks_' || md5('view_notes_with_a_long_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'),
  'and the chunk views are still there');

-- The source table of a chunked target dropped (its row type, which the content function names,
-- with it): the views' triggers read no target's table, so they do not stand in the way.
select lives_ok(
  $$ drop table public.view_notes_with_a_long_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx cascade $$,
  'dropping a chunked target''s source table is not blocked'
);
select throws_ok(
  $$ select * from public.search_embeddings('view_notes_with_a_long_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
       query_embedding => '[1, 0, 0]', mode => 'semantic') $$,
  '55000', null, 'and a search of that target says it cannot be searched'
);

select * from finish();
rollback;
