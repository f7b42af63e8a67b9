-- 015 What clients can execute: every function anon and authenticated may run in the schemas the
-- kit creates or uses (public, embeddings, embedding_search), written out; a new one nobody meant
-- to grant fails here. Of the engine, only the search and its plan; no `_` step of the search.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(7);

/** The functions of the kit's schemas a role may execute. */
create function pg_temp.client_executable(role_name text)
returns setof regprocedure
language sql stable set search_path = ''
as $$
  select p.oid::pg_catalog.regprocedure
  from pg_catalog.pg_proc as p
  where p.pronamespace in ('public'::regnamespace, 'embeddings'::regnamespace, 'embedding_search'::regnamespace)
    and pg_catalog.has_function_privilege(role_name, p.oid, 'execute')
$$;

select set_eq(
  $$ select f::text from pg_temp.client_executable('anon') as f $$,
  $$ select f::regprocedure::text from unnest(array[
       'public.search_embeddings(text, text, extensions.vector, text, integer, jsonb, double precision, double precision, double precision, integer, text)',
       'embedding_search.plan_search(text, text, extensions.vector, text, integer, jsonb, double precision, double precision, double precision, integer, text)',
       -- The app's: anon may search music_knowledge, which needs its content function.
       'public.music_knowledge_content(public.music_knowledge)']) as f $$,
  'anon may execute exactly the search, its plan and music_knowledge''s content function'
);
select set_eq(
  $$ select f::text from pg_temp.client_executable('authenticated') as f $$,
  $$ select f::regprocedure::text from unnest(array[
       'public.search_embeddings(text, text, extensions.vector, text, integer, jsonb, double precision, double precision, double precision, integer, text)',
       'embedding_search.plan_search(text, text, extensions.vector, text, integer, jsonb, double precision, double precision, double precision, integer, text)',
       -- The app's content functions: users search their stories and profiles too.
       'public.music_knowledge_content(public.music_knowledge)',
       'public.story_content(public.stories)',
       'public.profile_preferences_content(public.profiles)']) as f $$,
  'authenticated may execute exactly the search, its plan and the app''s three content functions'
);
select is_empty(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc as p
     where p.pronamespace in ('embeddings'::regnamespace, 'embedding_search'::regnamespace)
       and p.proname like '\_%'
       and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('authenticated', p.oid, 'execute')) $$,
  'no `_` function of the engine is executable by anon or authenticated'
);

/** Each `_` step of the search called by the current role with null arguments: those not refused with 42501. */
create function pg_temp.steps_not_refused()
returns setof text
language plpgsql set search_path = ''
as $$
declare
  step regprocedure;
begin
  for step in
    select p.oid::regprocedure from pg_catalog.pg_proc as p
    where p.pronamespace = 'embedding_search'::regnamespace and p.proname like '\_%'
  loop
    begin
      execute pg_catalog.format('select %s(%s)', step::regproc,
        (select coalesce(pg_catalog.string_agg('null::' || pg_catalog.format_type(t.type_oid, null), ', '), '')
         from pg_catalog.unnest((select p.proargtypes::oid[] from pg_catalog.pg_proc as p where p.oid = step)) as t(type_oid)));
      return next step::text || ' ran';
    exception when insufficient_privilege then
      null;  -- refused, as it must be
    when others then
      return next step::text || ' failed with ' || sqlstate || ' instead of 42501';
    end;
  end loop;
end;
$$;

set local role anon;
select is_empty($$ select * from pg_temp.steps_not_refused() $$,
  'anon calling any `_` step of the search directly gets permission denied');
select tests.clear_authentication();
select tests.authenticate_as('11111111-1111-4111-8111-111111111115');
select is_empty($$ select * from pg_temp.steps_not_refused() $$,
  'and so does a signed-in user');
select tests.clear_authentication();

-- The engine schemas' default: a function added there later is not executable by PUBLIC (the
-- event trigger of the privileges migration), while one added in public still is.
create function embeddings.added_later() returns integer language sql as $$ select 1 $$;
create function public.added_later_in_public() returns integer language sql as $$ select 1 $$;
select ok(
  not pg_catalog.has_function_privilege('anon', 'embeddings.added_later()'::regprocedure, 'execute'),
  'a function created in embeddings later is not executable by PUBLIC (so not by anon)'
);
select ok(
  pg_catalog.has_function_privilege('anon', 'public.added_later_in_public()'::regprocedure, 'execute'),
  'the event trigger leaves functions in other schemas alone'
);

select * from finish();
rollback;
