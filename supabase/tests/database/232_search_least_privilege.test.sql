-- 232 The search opens nothing it need not: anon lists only the targets whose table it may read;
-- the plan answers SQL only to a caller that may read the target; and a search clears a
-- request.jwt.claim.sub left at session level on a pooled connection (a user's: 230).
begin;
\ir ../fixtures/test_helpers.psql
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(7);

-- =============================================================================================
-- Listing targets
-- =============================================================================================
select set_eq(
  $$ select target_name from embedding_search.targets $$,
  $$ values ('music_knowledge'), ('stories'), ('profiles') $$,
  'the owner lists every target'
);
set local role anon;
select set_eq(
  $$ select target_name from embedding_search.targets $$,
  $$ values ('music_knowledge') $$,
  'anon lists only music_knowledge: not stories or profiles, whose tables it may not read'
);
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select set_eq(
  $$ select target_name from embedding_search.targets $$,
  $$ values ('music_knowledge'), ('stories'), ('profiles') $$,
  'service_role, which may read the registry itself, lists every target'
);
select tests.clear_authentication();

-- =============================================================================================
-- The plan
-- =============================================================================================
set local role anon;
select throws_ok(
  $$ select embedding_search.plan_search('stories', 'sailing', null, 'keyword', 10, '{}', null, 1, 4, 2, 'any') $$,
  '42501', 'role anon may not read public.stories, so it cannot search target stories',
  'anon asking for the plan of a search of stories is refused, with no SQL'
);
select ok(
  (select p.keyword_sql like '%from public.music_knowledge as t%' and p.semantic_sql is null
   from embedding_search.plan_search('music_knowledge', 'kick', null, 'keyword', 10, '{}', null, 1, 4, 2, 'any') as p),
  'anon gets the plan of a keyword search of music_knowledge: the keyword side''s SQL only'
);
select tests.clear_authentication();

-- =============================================================================================
-- A session-level claim.sub left on the connection
-- =============================================================================================
-- anon has no sub: after a search, the leaked value must not make anon that user either.
set request.jwt.claim.sub = 'bbbbbbbb-0000-4000-8000-000000000232';
select set_config('request.jwt.claims', '{"role": "anon"}', true);
set local role anon;
select lives_ok(
  $$ select * from public.search_embeddings('music_knowledge', query_text => 'kick', mode => 'keyword') $$,
  'anon searches music_knowledge with Ben''s claim.sub left on the session'
);
-- A statement of its own: in the search's, auth.uid() would be evaluated once before it runs.
select is(auth.uid(), null::uuid, 'and after its search auth.uid() is null, not Ben');
select tests.clear_authentication();
reset request.jwt.claim.sub;

select * from finish();
rollback;
