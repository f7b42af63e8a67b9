-- 230 Search (public.search_embeddings): it runs as its caller, so RLS decides (a user finds only
-- their own stories, and of the chunked target stories only their own stories' chunks; anon none,
-- whatever claim.sub a pooled connection kept); it ranks an exact match first in each mode; it never returns a row
-- whose vector is missing, stale, of another model or replaced behind the engine's back; every
-- argument is checked with an error that names it; and it opens nothing of the engine to clients.
begin;
\ir ../fixtures/test_helpers.psql
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(55);

-- =============================================================================================
-- Definitions and privileges
-- =============================================================================================
select ok(
  not (select p.prosecdef from pg_catalog.pg_proc as p where p.oid = 'public.search_embeddings'::regproc),
  'search_embeddings is SECURITY INVOKER: every row it reads is read as the caller'
);
select is(
  array(select r.name from unnest(array['anon', 'authenticated']) as r(name)
        where has_function_privilege(r.name, 'public.search_embeddings'::regproc, 'execute')),
  array['anon', 'authenticated'],
  'anon and authenticated may call search_embeddings'
);
select is_empty(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc as p
     where (p.pronamespace = 'embedding_search'::regnamespace or p.oid = 'public.search_embeddings'::regproc)
       and ((p.prosecdef and p.proname <> 'plan_search') or pg_catalog.obj_description(p.oid, 'pg_proc') is null
            or not coalesce('search_path=""' = any(p.proconfig), false)) $$,
  'no search function but the plan is SECURITY DEFINER; each has a comment and an empty search_path'
);
-- That no search function is executable by PUBLIC is checked with the engine's, in 010.
select is_empty(
  $$ select c.relname from pg_catalog.pg_class as c
     where c.relnamespace = 'embedding_search'::regnamespace and c.relkind in ('r', 'v')
       and pg_catalog.obj_description(c.oid, 'pg_class') is null $$,
  'every table and view of embedding_search has a comment'
);
select ok(
  not has_schema_privilege('anon', 'embeddings', 'usage')
    and not has_schema_privilege('authenticated', 'embeddings', 'usage')
    and not has_table_privilege('anon', 'embedding_search.keyword_sources', 'select'),
  'clients still get nothing in the embeddings schema, nor the keyword settings table'
);
select is(
  (select level from embeddings.doctor() where check_name = 'definer_client_executable'), 'ok',
  'doctor: no SECURITY DEFINER function is callable by clients'
);

-- =============================================================================================
-- A throwaway target: five notes, 4-dimension vectors written by the engine
-- =============================================================================================
select tests.create_target('search_notes', 0, 4);
insert into public.search_notes (id, title, body, rank) values
  (1, 'kick drum compression', 'slow attack so the transient punches', 1),
  (2, 'vocal eq', 'a shelf for air', 1),
  (3, 'reverb sends', 'high-pass the return', 2),
  (4, 'limiter', 'two or three dB of gain reduction', 2),
  (5, 'kick pattern', 'four on the floor', 3);
create policy "search notes are readable" on public.search_notes for select to anon, authenticated using (true);
grant select on public.search_notes to anon, authenticated;
grant execute on function public.search_notes_content(public.search_notes) to anon, authenticated;
create temporary table note_vectors (row_key text primary key, vector jsonb not null);
insert into note_vectors values
  ('1', '[1, 0, 0, 0]'), ('2', '[0, 1, 0, 0]'), ('3', '[0, 0, 1, 0]'), ('4', '[0, 0, 0, 1]'),
  ('5', '[0.8, 0.6, 0, 0]');
create temporary table note_claim as
  select * from embeddings.claim_batch(tests.target_id('search_notes'), 100, 60);
select is(
  (select cardinality(w.written_keys) from embeddings.write_batch(
     tests.target_id('search_notes'), (select c.lease_token from note_claim as c limit 1), 'test-model',
     (select jsonb_agg(tests.batch_item(c.row_key, c.content_hash, v.vector))
      from note_claim as c join note_vectors as v on v.row_key = c.row_key)) as w),
  5, 'the five notes are embedded by the engine (claim_batch, write_batch)'
);
grant select on note_vectors to anon, authenticated;

-- The keys a search of the notes answers, in key order: what most checks below compare.
create function pg_temp.note_keys(
  query_text text default null,
  query_embedding extensions.vector default null,
  mode text default 'hybrid',
  match_count integer default 10,
  filters jsonb default '{}',
  match_threshold double precision default null
)
returns text[]
language sql stable set search_path = ''
as $$
  select pg_catalog.array_agg(s.row_key order by s.row_key)
  from public.search_embeddings('search_notes', query_text => note_keys.query_text,
    query_embedding => note_keys.query_embedding, mode => note_keys.mode, match_count => note_keys.match_count,
    filters => note_keys.filters, match_threshold => note_keys.match_threshold) as s
$$;

-- =============================================================================================
-- Ranking, as anon
-- =============================================================================================
set local role anon;
select results_eq(
  $$ select row_key, round(score::numeric, 3), ranked_by from public.search_embeddings('search_notes',
       query_embedding => '[1, 0, 0, 0]', mode => 'semantic', match_count => 3) $$,
  $$ values ('1', 1.000, array['semantic']), ('5', 0.800, array['semantic']), ('2', 0.000, array['semantic']) $$,
  'semantic: the exact vector ranks its row first, scored by cosine similarity'
);
select results_eq(
  $$ select row_key from public.search_embeddings('search_notes', query_text => 'how much gain reduction on the limiter?',
       mode => 'keyword') $$,
  $$ values ('4') $$,
  'keyword: a question in words finds the row holding them (any word; stop words dropped)'
);
select results_eq(
  $$ select row_key, ranked_by, semantic_rank, keyword_rank from public.search_embeddings('search_notes',
       query_text => 'kick', query_embedding => '[0.8, 0.6, 0, 0]', match_count => 3) $$,
  $$ values ('5', array['semantic', 'keyword'], 1, 1), ('1', array['semantic', 'keyword'], 2, 2),
            ('2', array['semantic'], 3, null::integer) $$,
  'hybrid: a row both lists rank first comes first, with the lists that ranked it and its rank in each'
);
select is(pg_temp.note_keys(query_embedding => '[1, 0, 0, 0]', mode => 'semantic', match_threshold => 0.5), array['1', '5'],
  'match_threshold keeps only rows at least that similar');
select is(pg_temp.note_keys(query_embedding => '[1, 0, 0, 0]', mode => 'semantic', filters => '{"rank": [2, 3]}'), array['3', '4', '5'],
  'a list filter keeps rows whose column is any of the values');
select is(pg_temp.note_keys(query_text => 'kick', mode => 'keyword', filters => '{"rank": 1, "body": "slow attack so the transient punches"}'), array['1'],
  'equality filters on several columns all apply');
select is(
  (select row_data from public.search_embeddings('search_notes', query_text => 'limiter', mode => 'keyword')),
  '{"id": 4, "body": "two or three dB of gain reduction", "rank": 2, "title": "limiter"}'::jsonb,
  'each row comes back as JSON, without its vector'
);
select is(
  (select count(*)::integer from public.search_embeddings('search_notes', query_text => 'the and of', mode => 'keyword')),
  0,
  'only stop words: the keyword side finds nothing, without an error'
);
select tests.clear_authentication();

-- =============================================================================================
-- Arguments, as anon: each mistake is an error that names it
-- =============================================================================================
set local role anon;
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick', mode => 'fuzzy') $$,
  '22023', 'mode must be hybrid, semantic or keyword, got fuzzy', 'an unknown mode is refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick', mode => 'keyword', match_count => 0) $$,
  '22023', 'match_count must be between 1 and 100, got 0', 'match_count 0 is refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick', mode => 'keyword', match_count => 101) $$,
  '22023', 'match_count must be between 1 and 100, got 101', 'match_count 101 is refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => '   ', mode => 'keyword') $$,
  '22023', 'keyword search needs query_text: words to look for', 'a whitespace-only query is refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick') $$,
  '22023', 'hybrid search needs query_embedding: the query embedded with the target''s model',
  'hybrid without a query vector is refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_embedding => '[1, 0, 0]', mode => 'semantic') $$,
  '22000', 'query_embedding has 3 dimensions; target search_notes holds 4-dimension vectors of model test-model',
  'a query vector of the wrong size is refused, naming the target''s model');
select throws_ok(
  $$ select * from public.search_embeddings('no_such_target', query_text => 'kick', mode => 'keyword') $$,
  'P0002', 'no embedding target named no_such_target', 'an unknown target is refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick', mode => 'keyword', filters => '{"genre": "house"}') $$,
  '42703', 'cannot filter on genre: public.search_notes has no such column', 'an unknown filter column is refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick', mode => 'keyword', filters => '{"embedding": "[1,0,0,0]"}') $$,
  '22023', 'cannot filter on embedding: it is a vector or tsvector column', 'a filter on the vector is refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick', mode => 'keyword', filters => '{"rank": {"gt": 1}}') $$,
  '22023', 'filter on rank must be a string, number, boolean, null or a list of them, got an object',
  'a filter value that is an object is refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick', mode => 'keyword', filters => '{"rank": "high"}') $$,
  '22P02', null, 'a filter value of the wrong type is refused by its cast');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick', mode => 'keyword', filters => '["rank"]') $$,
  '22023', 'filters must be a JSON object of column names to values, got array', 'filters that are not an object are refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_embedding => '[1, 0, 0, 0]', mode => 'semantic', match_threshold => 1.5) $$,
  '22023', 'match_threshold is a cosine similarity between -1 and 1, got 1.5', 'a threshold outside -1..1 is refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick', query_embedding => '[1, 0, 0, 0]',
       semantic_weight => 0, keyword_weight => 0) $$,
  '22023', 'semantic_weight and keyword_weight must be between 0 and 1000 and not both 0, got 0 and 0',
  'weights that are both 0 are refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick', query_embedding => '[1, 0, 0, 0]', rrf_k => -1) $$,
  '22023', 'rrf_k must be between 0 and 1000, got -1', 'a negative k is refused');
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick', mode => 'keyword', keyword_match => 'some') $$,
  '22023', 'keyword_match must be any, all or websearch, got some', 'an unknown keyword_match is refused');
select tests.clear_authentication();

-- =============================================================================================
-- Only current vectors: never a row without its vector, stale, of another model, or replaced
-- =============================================================================================
-- Row 2's text changes: its vector now embeds old text (the row is queued again).
update public.search_notes set title = 'vocal air' where id = 2;
-- Row 3's record says another model made its vector.
update embeddings.embedded_rows set model = 'other-model'
  where target_id = tests.target_id('search_notes') and row_key = '3';
-- Row 4's vector is replaced with the triggers off (a restore): the record no longer vouches for it.
set local session_replication_role = replica;
update public.search_notes set embedding = '[0, 0, 0.6, 0.8]' where id = 4;
set local session_replication_role = origin;
-- Row 6 is new and not embedded yet; row 7 holds a vector nobody recorded.
insert into public.search_notes (id, title, rank) values (6, 'kick and vocal and reverb and limiter', 1);
set local session_replication_role = replica;
insert into public.search_notes (id, title, rank, embedding) values (7, 'kick vocal reverb limiter', 1, '[0.5, 0.5, 0.5, 0.5]');
set local session_replication_role = origin;

set local role anon;
select is(pg_temp.note_keys(query_embedding => '[0.5, 0.5, 0.5, 0.5]', mode => 'semantic', match_count => 100), array['1', '5'],
  'semantic: only rows 1 and 5 are current; stale text (2), another model (3), a replaced vector (4), no vector (6), an unrecorded vector (7) never come back');
select is(pg_temp.note_keys(query_text => 'kick vocal air reverb limiter', mode => 'keyword', match_count => 100), array['1', '5'],
  'keyword: the same rows only, however well the others match the words');
select is(pg_temp.note_keys(query_text => 'kick vocal air reverb limiter', query_embedding => '[0, 1, 0, 0]', match_count => 100), array['1', '5'],
  'hybrid: the same rows only');
select tests.clear_authentication();
-- The engine embeds row 2's new text: it is current again.
create temporary table stale_claim as
  select * from embeddings.claim_batch(tests.target_id('search_notes'), 100, 60) where row_key = '2';
select is(
  (select cardinality(w.written_keys) from embeddings.write_batch(
     tests.target_id('search_notes'), (select c.lease_token from stale_claim as c), 'test-model',
     (select jsonb_agg(tests.batch_item(c.row_key, c.content_hash, '[0, 1, 0, 0]')) from stale_claim as c)) as w),
  1, 'the engine re-embeds row 2'
);
set local role anon;
select is(
  (select row_key from public.search_embeddings('search_notes', query_embedding => '[0, 1, 0, 0]',
     mode => 'semantic', match_count => 1)),
  '2', 'once re-embedded, row 2 comes back first for its vector'
);
select tests.clear_authentication();
select embeddings.set_target_model(tests.target_id('search_notes'), 'next-model', 4);
set local role anon;
select is(
  (select count(*)::integer from public.search_embeddings('search_notes', query_embedding => '[1, 0, 0, 0]',
     mode => 'semantic', match_count => 100)),
  0, 'after a switch to another model, no old vector is returned until re-embedded'
);
select tests.clear_authentication();

-- =============================================================================================
-- RLS decides: stories are per user; anon may not read them at all. Stories are a chunked
-- target: a row is found by its best chunk, and a chunk is visible only when its story is.
-- =============================================================================================
delete from public.stories;
delete from embeddings.queue where target_id = tests.target_id('stories');
select tests.create_user('aaaaaaaa-0000-4000-8000-0000000002a1', 'ana.search@example.com');
select tests.create_user('bbbbbbbb-0000-4000-8000-0000000002b2', 'ben.search@example.com');
insert into public.stories (user_id, title, body) values
  ('aaaaaaaa-0000-4000-8000-0000000002a1', 'Ana at sea', repeat('A story about sailing and storms. ', 20)),
  ('aaaaaaaa-0000-4000-8000-0000000002a1', 'Ana in the hills', 'A story about walking.'),
  ('bbbbbbbb-0000-4000-8000-0000000002b2', 'Ben at sea', 'A story about sailing and rockets.');
select is(
  (select cardinality(written_keys) from tests.claim_and_write(tests.target_id('stories'))),
  3, 'the worker embeds all three stories'
);
create temporary table story_vector as select '[' || pg_catalog.array_to_string(array_fill(0.05, array[384]), ',') || ']' as v;
grant select on story_vector to anon, authenticated;

select tests.authenticate_as('aaaaaaaa-0000-4000-8000-0000000002a1');
select is(
  (select array_agg(row_data ->> 'title' order by row_data ->> 'title') from public.search_embeddings('stories',
     query_embedding => (select v from story_vector)::extensions.vector, mode => 'semantic', match_count => 100)),
  array['Ana at sea', 'Ana in the hills'],
  'semantic: Ana finds her own two stories, not Ben''s'
);
select is(
  (select array_agg(format('%s: %s', row_data ->> 'title',
     chunk = substr((row_data ->> 'title') || E'\n\n' || (row_data ->> 'body'), chunk_start + 1, chunk_end - chunk_start)
       and chunk_index is not null) order by row_data ->> 'title')
   from public.search_embeddings('stories',
     query_embedding => (select v from story_vector)::extensions.vector, mode => 'semantic', match_count => 100)),
  array['Ana at sea: t', 'Ana in the hills: t'],
  'semantic: each of her stories comes with its best chunk, the text at its offsets in that story'
);
select is(
  (select format('%s chunks of %s stories', count(*), count(distinct row_key)) from embedding_search.chunks_stories),
  '4 chunks of 2 stories',
  'the chunks Ana can read are those of her own two stories (three of the long one, one of the short)'
);
select is(
  (select array_agg(row_data ->> 'title') from public.search_embeddings('stories',
     query_text => 'sailing', mode => 'keyword', match_count => 100)),
  array['Ana at sea'],
  'keyword (built from the content function): Ana finds only her own story about sailing'
);
select is(
  (select array_agg(row_data ->> 'title') from public.search_embeddings('stories', query_text => 'rockets',
     query_embedding => (select v from story_vector)::extensions.vector, match_count => 100)
   where 'keyword' = any(ranked_by)),
  null::text[],
  'hybrid: Ben''s story about rockets is not even a keyword candidate for Ana'
);
select is(
  (select count(*)::integer from embedding_search.current_vectors where target_name = 'stories'),
  2, 'the current-vector records Ana can see are those of her own two stories'
);
select tests.clear_authentication();

select tests.authenticate_as('bbbbbbbb-0000-4000-8000-0000000002b2');
select is(
  (select array_agg(row_data ->> 'title') from public.search_embeddings('stories', query_text => 'sailing',
     query_embedding => (select v from story_vector)::extensions.vector, match_count => 100)),
  array['Ben at sea'],
  'hybrid: Ben finds only his own story'
);
select is(
  (select array_agg(chunk) from public.search_embeddings('stories',
     query_embedding => (select v from story_vector)::extensions.vector, mode => 'semantic', match_count => 100)),
  array['Ben at sea' || E'\n\n' || 'A story about sailing and rockets.'],
  'semantic: Ben''s one result carries his own story''s chunk, none of Ana''s'
);
select tests.clear_authentication();

-- Another client of a pooled connection left Ben's id at session level (rolled back with the
-- test); auth.uid() reads request.jwt.claim.sub before request.jwt.claims.
set request.jwt.claim.sub = 'bbbbbbbb-0000-4000-8000-0000000002b2';
select tests.authenticate_as('aaaaaaaa-0000-4000-8000-0000000002a1');
select is(
  (select array_agg(row_data ->> 'title') from public.search_embeddings('stories', query_text => 'sailing',
     mode => 'keyword', match_count => 100)),
  array['Ana at sea'],
  'with Ben''s claim.sub left on the session, Ana''s search still finds her story, not his: her claims decide'
);
select is(auth.uid(), 'aaaaaaaa-0000-4000-8000-0000000002a1'::uuid,
  'and auth.uid() is Ana for the rest of her transaction');
select tests.clear_authentication();
reset request.jwt.claim.sub;

set local role anon;
select throws_ok(
  $$ select * from public.search_embeddings('stories', query_text => 'sailing', mode => 'keyword') $$,
  '42501', 'role anon may not read public.stories, so it cannot search target stories',
  'anon cannot search stories at all: it may not read the table'
);
select is(
  (select count(*)::integer from embedding_search.current_vectors where target_name = 'stories'),
  0, 'anon sees no current-vector record of any story'
);
select is((select count(*)::integer from embedding_search.chunks_stories), 0, 'nor any chunk of one');
select is(
  (select count(*)::integer from embedding_search.current_vectors where target_name = 'search_notes'),
  0, 'nor of notes whose records are of the old model'
);
select tests.clear_authentication();

-- A content function the caller may not run: the search says which grant it needs.
revoke execute on function public.search_notes_content(public.search_notes) from public, anon;
set local role anon;
select throws_ok(
  $$ select * from public.search_embeddings('search_notes', query_text => 'kick', mode => 'keyword') $$,
  '42501',
  'role anon may not run public.search_notes_content(public.search_notes), which the search needs to tell current vectors from stale ones; fix: grant execute on function public.search_notes_content(public.search_notes) to anon',
  'a content function the caller may not run is named, with the grant that fixes it'
);
select tests.clear_authentication();

-- =============================================================================================
-- The app's target, music_knowledge: searchable by anon through its fts column
-- =============================================================================================
select is(
  (select format('%s %s %s %s', tsvector_column, text_search_config, embedding_type, caller_can_run_content_function::text)
   from embedding_search.targets where target_name = 'music_knowledge'),
  'fts english vector true',
  'music_knowledge''s keyword search reads its fts column (english)'
);
set local role anon;
select lives_ok(
  $$ select * from public.search_embeddings('music_knowledge', query_text => 'kick', mode => 'keyword') $$,
  'anon may search music_knowledge'
);
select tests.clear_authentication();

select * from finish();
rollback;
