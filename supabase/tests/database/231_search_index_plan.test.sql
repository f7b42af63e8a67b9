-- 231 Search uses the vector index: on a throwaway table of 20,000 rows with an HNSW index, the
-- planner serves the semantic side with an index scan, and the currency check reads the engine's
-- records by primary key. When RLS hides most rows and the index is used all the same, the answer
-- is still full: the HNSW scan goes on past ef_search until enough visible rows are found
-- (pgvector's iterative scan, which the search turns on for itself).
begin;
\ir ../fixtures/test_helpers.psql
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(9);

select setseed(0.231);
select tests.create_table('search_plan', 20000, 3);
update public.search_plan
  set embedding = array[random() - 0.5, random() - 0.5, random() - 0.5]::real[]::extensions.vector;
create index search_plan_embedding_hnsw on public.search_plan using hnsw (embedding extensions.vector_cosine_ops);
-- Registered after the vectors are in, and their vectors adopted as the target's model: every
-- row is current, as if the engine had embedded it.
select embeddings.register_target('public.search_plan', 'id',
  'public.search_plan_content(public.search_plan)', 'embedding', 'plan-model', 3, 5, 'search_plan');
select is(
  embeddings.set_target_options(tests.target_id('search_plan'), adopt_existing_vectors => true),
  20000, 'the 20,000 vectors are recorded as the target''s model'
);
create policy "anon reads every row" on public.search_plan for select to anon using (true);
create policy "users read one row in fifty" on public.search_plan for select to authenticated using (id % 50 = 0);
grant select on public.search_plan to anon, authenticated;
grant execute on function public.search_plan_content(public.search_plan) to anon, authenticated;
analyze public.search_plan;
analyze embeddings.embedded_rows;

/** The plan of the semantic side exactly as search_embeddings runs it (its first round), for that query vector. */
create function pg_temp.semantic_plan(query extensions.vector)
returns setof text
language plpgsql set search_path = ''
as $$
declare
  plan embedding_search.search_plan;
  line text;
begin
  plan := embedding_search.plan_search('search_plan', null, query, 'semantic', 20, '{}', null, 1, 4, 2, 'any');
  for line in execute 'explain ' || plan.semantic_sql
    using query, null::tsquery, null::double precision, 40, '{}'::jsonb, plan.target_id
  loop
    return next line;
  end loop;
end;
$$;

/** The plan of the currency check for a few keys, as _current_candidates runs it. */
create function pg_temp.currency_plan(keys text[])
returns setof text
language plpgsql set search_path = ''
as $$
declare
  line text;
begin
  for line in execute
    'explain select v.row_key from embedding_search.current_vectors as v where v.target_id = $1 and v.row_key = any ($2)'
    using (select t.target_id from embedding_search.targets as t where t.target_name = 'search_plan'), keys
  loop
    return next line;
  end loop;
end;
$$;

set local role anon;
select ok(
  exists (select 1 from pg_temp.semantic_plan('[0.1, 0.2, 0.3]') as line
          where line like '%Index Scan using search_plan_embedding_hnsw on search_plan%'),
  'as anon, the semantic side is an Index Scan using the HNSW index'
);
select ok(
  exists (select 1 from pg_temp.semantic_plan('[0.1, 0.2, 0.3]') as line
          where line like '%Order By: (embedding %<=>%'),
  'ordered by cosine distance to the query, as the index serves it'
);
select ok(
  exists (select 1 from pg_temp.currency_plan(array['50', '100', '150']) as line
          where line like '%Index Scan using embedded_rows_pkey%'),
  'the currency check reads the engine''s records by primary key (target, key), not the whole target'
);

select tests.clear_authentication();

-- A user who may read one row in fifty; the index is used even so (seq scans off, as the planner
-- chooses on tables too large to scan).
set local enable_seqscan = off;
select tests.authenticate_as('00000000-0000-4000-8000-000000000231');
create temporary table plan_answer as
  select * from public.search_embeddings('search_plan', query_embedding => '[0.1, 0.2, 0.3]',
    mode => 'semantic', match_count => 20);
select is((select count(*)::integer from plan_answer), 20,
  'with 49 rows in 50 hidden by RLS, the search still answers the 20 rows asked for');
select is((select count(*)::integer from plan_answer where row_key::bigint % 50 <> 0), 0,
  'and every one of them is a row the policy lets the user read');
select ok(
  (select bool_and(a.similarity >= b.similarity)
   from plan_answer as a join plan_answer as b on b.semantic_rank = a.semantic_rank + 1),
  'best first: each row is at least as similar as the next'
);
-- The same index scan without pgvector's iterative scan stops after ef_search (40) candidates.
set local hnsw.iterative_scan = off;
select cmp_ok(
  (select count(*)::integer from (
     select t.id from public.search_plan as t
     where t.embedding is not null
     order by t.embedding operator(extensions.<=>) '[0.1, 0.2, 0.3]'::extensions.vector limit 20) as nearest),
  '<', 20,
  'whereas a plain ORDER BY <=> LIMIT 20 through the index (Supabase''s match_documents) answers fewer'
);
select ok(
  exists (select 1 from pg_temp.semantic_plan('[0.1, 0.2, 0.3]') as line
          where line like '%Index Scan using search_plan_embedding_hnsw%'),
  'and both went through the HNSW index'
);
select tests.clear_authentication();

select * from finish();
rollback;
