-- 192 A model change of a chunked target: the new version is chunked, with its own chunk table of
-- the new dimensions and its own chunk view; the triggers queue both versions; switch and rollback
-- move the chunk tables with the names, so search of the target answers from the current version's
-- chunks at every step, and each chunk view reads the table of its own name (pg_depend); finish
-- drops the old chunk table and its view, and a rollback before a switch the new one's; start
-- refuses a taken chunk table name and a name too long for the versions' chunk tables.
begin;
\ir ../fixtures/test_helpers.psql
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(27);

-- =============================================================================================
-- A chunked target of 3 dimensions, each row one chunk of its whole text
-- =============================================================================================
create table public.mc_stories (id bigint primary key, title text not null);
create function public.mc_stories_content(story public.mc_stories) returns text
  language sql immutable set search_path = '' as $$ select story.title $$;
insert into public.mc_stories values (1, 'kick drum tuning'), (2, 'vocal chain');
select embeddings.register_target('public.mc_stories', 'id', 'public.mc_stories_content(public.mc_stories)', null,
  'test-model', 3, target_name => 'mc_stories', chunking => '{"size": 100}');

/**
 * Claims every queued row of a version and writes it with write_chunks as one chunk: row n's vector
 * one_hot(dimensions, n); the old model's chunk is the whole text, the new model's its first 4
 * characters, so the chunk a search returns says which version answered. Returns the keys written.
 */
create function pg_temp.write_version(version_name text, model text, dimensions integer) returns text[]
language plpgsql as $$
declare
  written text[];
begin
  with claimed as (
    select * from embeddings.claim_batch(tests.target_id(version_name), 100, 60)
  ),
  batch as (
    select (array_agg(c.lease_token))[1] as lease_token,
           jsonb_agg(jsonb_build_object('key', c.row_key, 'content_hash', c.content_hash, 'chunks', jsonb_build_array(
             jsonb_build_object('start', 0,
               'end', case when model = 'test-model' then length(c.content) else 4 end,
               'text', case when model = 'test-model' then c.content else left(c.content, 4) end,
               'embedding', tests.one_hot(dimensions, c.row_key::integer))))) as items
    from claimed as c
  )
  select w.written_keys into written
  from batch as b cross join lateral embeddings.write_chunks(tests.target_id(version_name), b.lease_token, model, b.items) as w;
  return written;
end;
$$;

/** Each chunked target's name and whether its chunk view reads (pg_depend) the chunk table of that name. */
create function pg_temp.views_follow() returns table (target_name text, reads_own_table boolean)
language sql as $$
  select v.target_name, exists (
    select 1 from pg_depend as d join pg_rewrite as r on r.oid = d.objid
    where d.classid = 'pg_rewrite'::regclass and r.ev_class = v.chunk_view
      and d.refclassid = 'pg_class'::regclass and d.refobjid = v.chunk_table)
  from embedding_search.chunk_views as v where v.target_name like 'mc_stories%' order by v.target_name
$$;

/** The dimensions of a chunk table's embedding column. */
create function pg_temp.chunk_dimensions(table_name text) returns integer
language sql as $$
  select a.atttypmod from pg_attribute as a
  where a.attrelid = format('embedding_chunks.%I', table_name)::regclass and a.attname = 'embedding'
$$;

select is(pg_temp.write_version('mc_stories', 'test-model', 3), array['1', '2'], 'the old version has its two rows');

-- =============================================================================================
-- start: a chunked shadow of the new dimensions, queued by the triggers
-- =============================================================================================
select lives_ok(
  $$ select embeddings.start_model_change(tests.target_id('mc_stories'), 'model-b', 5) $$,
  'start accepts a chunked target'
);
select is(
  (select t.chunking from embeddings.targets as t where t.name = 'mc_stories__next'),
  (select t.chunking from embeddings.targets as t where t.name = 'mc_stories'),
  'the new version is chunked with the target''s options'
);
select is(pg_temp.chunk_dimensions('mc_stories__next'), 5, 'its own chunk table, embedding_chunks.mc_stories__next, holds 5 dimensions');
select results_eq(
  $$ select * from pg_temp.views_follow() $$,
  $$ values ('mc_stories', true), ('mc_stories__next', true) $$,
  'each version has a chunk view, reading the table of its name'
);
insert into public.mc_stories values (3, 'reverb send');
update public.mc_stories set title = 'kick drum tuning, low' where id = 1;
select results_eq(
  $$ select t.name, array_agg(q.row_key order by q.row_key) from embeddings.queue as q
     join embeddings.targets as t on t.id = q.target_id where t.name like 'mc_stories%' group by t.name order by t.name $$,
  $$ values ('mc_stories', array['1', '3']), ('mc_stories__next', array['1', '2', '3']) $$,
  'a new row and an edited one are queued for both versions'
);
select is(pg_temp.write_version('mc_stories', 'test-model', 3), array['1', '3'], 'the old version writes its two queued rows');
select is(pg_temp.write_version('mc_stories__next', 'model-b', 5), array['1', '2', '3'], 'the new version writes all three');
select is(
  (select count(*)::integer from embedding_chunks.mc_stories__next where model = 'model-b'), 3,
  'into its own chunk table'
);

-- =============================================================================================
-- Search answers from the current version at every step
-- =============================================================================================
select results_eq(
  $$ select row_key, chunk from public.search_embeddings('mc_stories', query_embedding => '[1, 0, 0]', mode => 'semantic')
     order by similarity desc, row_key limit 1 $$,
  $$ values ('1', 'kick drum tuning, low') $$,
  'before the switch, search of mc_stories returns the old version''s chunk'
);
select throws_ok(
  $$ select * from public.search_embeddings('mc_stories', query_embedding => '[1, 0, 0, 0, 0]', mode => 'semantic') $$,
  null, null, 'and refuses a query of the new model''s size'
);
select lives_ok($$ select embeddings.switch_model_change(tests.target_id('mc_stories')) $$, 'switch');
select results_eq(
  $$ select row_key, chunk from public.search_embeddings('mc_stories', query_embedding => '[0, 1, 0, 0, 0]', mode => 'semantic')
     order by similarity desc, row_key limit 1 $$,
  $$ values ('2', 'voca') $$,
  'after the switch, search of mc_stories returns the new version''s chunk'
);
select results_eq(
  $$ select pg_temp.chunk_dimensions('mc_stories'), pg_temp.chunk_dimensions('mc_stories__previous') $$,
  $$ values (5, 3) $$,
  'the chunk tables moved with the names: embedding_chunks.mc_stories is the new one, mc_stories__previous the old'
);
select results_eq(
  $$ select * from pg_temp.views_follow() $$,
  $$ values ('mc_stories', true), ('mc_stories__previous', true) $$,
  'each chunk view reads the table of its own name (none kept the other''s by OID)'
);
select results_eq(
  $$ select i.indexrelid::regclass::text from pg_index as i
     where i.indrelid in ('embedding_chunks.mc_stories'::regclass, 'embedding_chunks.mc_stories__previous'::regclass)
     order by 1 $$,
  $$ values ('embedding_chunks.mc_stories__previous_hnsw_idx'), ('embedding_chunks.mc_stories__previous_pkey'),
            ('embedding_chunks.mc_stories_hnsw_idx'), ('embedding_chunks.mc_stories_pkey') $$,
  'their indexes took the names too'
);
update public.mc_stories set title = 'vocal chain, warm' where id = 2;
select is(pg_temp.write_version('mc_stories', 'model-b', 5), array['2'], 'after the switch, the new version (by its id) writes an edited row');
select results_eq(
  $$ select (select count(*)::integer from embedding_chunks.mc_stories where row_key = '2' and chunk_text = 'voca' and model = 'model-b'),
            (select count(*)::integer from embedding_chunks.mc_stories__previous where model = 'model-b') $$,
  $$ values (1, 0) $$,
  'into the chunk table of its new name'
);

select lives_ok($$ select embeddings.rollback_model_change(tests.target_id('mc_stories')) $$, 'rollback after the switch');
select results_eq(
  $$ select row_key, chunk from public.search_embeddings('mc_stories', query_embedding => '[1, 0, 0]', mode => 'semantic')
     order by similarity desc, row_key limit 1 $$,
  $$ values ('1', 'kick drum tuning, low') $$,
  'after the rollback, search of mc_stories returns the old version''s chunk again'
);
select results_eq(
  $$ select * from pg_temp.views_follow() $$,
  $$ values ('mc_stories', true), ('mc_stories__next', true) $$,
  'and each chunk view reads the table of its own name again'
);

-- =============================================================================================
-- finish drops the old chunk table; a rollback before the switch drops the new one
-- =============================================================================================
select embeddings.switch_model_change(tests.target_id('mc_stories'), force => true);
select lives_ok($$ select embeddings.finish_model_change(tests.target_id('mc_stories')) $$, 'finish');
select results_eq(
  $$ select to_regclass('embedding_chunks.mc_stories__previous'), to_regclass('embedding_search.chunks_mc_stories__previous'),
            pg_temp.chunk_dimensions('mc_stories') $$,
  $$ values (null::regclass, null::regclass, 5) $$,
  'finish dropped the old chunk table and its view; mc_stories keeps the new one'
);
select results_eq(
  $$ select row_key, chunk from public.search_embeddings('mc_stories', query_embedding => '[0, 0, 1, 0, 0]', mode => 'semantic')
     order by similarity desc, row_key limit 1 $$,
  $$ values ('3', 'reve') $$,
  'search of mc_stories answers from the new chunks'
);
select embeddings.start_model_change(tests.target_id('mc_stories'), 'model-c', 2);
select embeddings.rollback_model_change(tests.target_id('mc_stories'));
select results_eq(
  $$ select to_regclass('embedding_chunks.mc_stories__next'), to_regclass('embedding_search.chunks_mc_stories__next') $$,
  $$ values (null::regclass, null::regclass) $$,
  'a rollback before the switch dropped the new version''s chunk table and its view'
);

-- =============================================================================================
-- Refusals
-- =============================================================================================
create table embedding_chunks.mc_stories__previous (id integer);
select throws_ok(
  $$ select embeddings.start_model_change(tests.target_id('mc_stories'), 'model-c', 2) $$,
  '23505', 'table embedding_chunks.mc_stories__previous exists, and the old version''s chunk table needs that name at the switch: drop it first',
  'start refuses when the old chunk table''s name at the switch is taken'
);
select embeddings.register_target('public.mc_stories', 'id', 'public.mc_stories_content(public.mc_stories)', null,
  'test-model', 3, target_name => 'mc_stories_with_a_name_of_forty_three_bytes', chunking => '{}');
select throws_like(
  $$ select embeddings.start_model_change(tests.target_id('mc_stories_with_a_name_of_forty_three_bytes'), 'model-c', 2) $$,
  '%its chunk tables take the names mc_stories_with_a_name_of_forty_three_bytes__next and mc_stories_with_a_name_of_forty_three_bytes__previous, which must fit 52 bytes',
  'start refuses a chunked target whose old chunk table''s name would pass 52 bytes'
);

select * from finish();
rollback;
