-- 236 The semantic side of a chunked target uses the chunk table's HNSW index: on 5,000 rows of four
-- chunks each (20,000 chunks), the planner serves it, through the chunk view, with an index scan
-- ordered by cosine distance. When RLS hides 49 rows in 50 the index is used all the same and the
-- answer is still full (pgvector's iterative scan goes on past ef_search), one result per row.
begin;
\ir ../fixtures/test_helpers.psql
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(7);

select setseed(0.236);
select tests.create_table('chunk_plan', 5000, 3);
alter table public.chunk_plan drop column embedding;
select embeddings.register_target('public.chunk_plan', 'id', 'public.chunk_plan_content(public.chunk_plan)', null,
  'plan-model', 3, target_name => 'chunk_plan', chunking => '{"size": 100}');
-- Chunks written straight into the chunk table as its owner, each cut from its row's text now (so
-- current); the index is built after them, as a backfill with a deferred index would.
drop index embedding_chunks.chunk_plan_hnsw_idx;
insert into embedding_chunks.chunk_plan (row_key, chunk_index, start_offset, end_offset, chunk_text, content_hash, model, embedding)
  select p.id::text, i, 0, 1, 'r', md5(public.chunk_plan_content(p)), 'plan-model',
         array[random() - 0.5, random() - 0.5, random() - 0.5]::real[]::extensions.vector
  from public.chunk_plan as p cross join generate_series(0, 3) as i;
create index chunk_plan_hnsw_idx on embedding_chunks.chunk_plan using hnsw (embedding extensions.vector_cosine_ops);
create policy "anon reads every row" on public.chunk_plan for select to anon using (true);
create policy "users read one row in fifty" on public.chunk_plan for select to authenticated using (id % 50 = 0);
grant select on public.chunk_plan to anon, authenticated;
grant execute on function public.chunk_plan_content(public.chunk_plan) to anon, authenticated;
analyze public.chunk_plan;
analyze embedding_chunks.chunk_plan;

select is((select count(*)::integer from embedding_chunks.chunk_plan), 20000, '20,000 chunks of 5,000 rows');

/** The plan of the semantic side exactly as search_embeddings runs it (its first round), for that query vector. */
create function pg_temp.semantic_plan(query extensions.vector)
returns setof text
language plpgsql set search_path = ''
as $$
declare
  plan embedding_search.search_plan;
  line text;
begin
  plan := embedding_search.plan_search('chunk_plan', null, query, 'semantic', 20, '{}', null, 1, 4, 2, 'any');
  for line in execute 'explain ' || plan.semantic_sql
    using query, null::tsquery, null::double precision, 40, '{}'::jsonb, plan.target_id
  loop
    return next line;
  end loop;
end;
$$;

set local role anon;
select ok(
  exists (select 1 from pg_temp.semantic_plan('[0.1, 0.2, 0.3]') as line
          where line like '%Index Scan using chunk_plan_hnsw_idx on chunk_plan%'),
  'as anon, the semantic side is an Index Scan using the chunk table''s HNSW index'
);
select ok(
  exists (select 1 from pg_temp.semantic_plan('[0.1, 0.2, 0.3]') as line
          where line like '%Order By: (embedding %<=>%'),
  'ordered by cosine distance to the query, as the index serves it'
);
select tests.clear_authentication();

-- A user who may read one row in fifty (400 of the chunks); seq scans off, as the planner
-- chooses on tables too large to scan.
set local enable_seqscan = off;
select tests.authenticate_as('00000000-0000-4000-8000-000000000236');
select ok(
  exists (select 1 from pg_temp.semantic_plan('[0.1, 0.2, 0.3]') as line
          where line like '%Index Scan using chunk_plan_hnsw_idx on chunk_plan%'),
  'as that user, the semantic side goes through the HNSW index too'
);
create temporary table plan_answer as
  select * from public.search_embeddings('chunk_plan', query_embedding => '[0.1, 0.2, 0.3]',
    mode => 'semantic', match_count => 20);
select is((select count(distinct row_key)::integer from plan_answer), 20,
  'with 49 rows in 50 hidden by RLS, the search still answers the 20 rows asked for, each once');
select is((select count(*)::integer from plan_answer where row_key::bigint % 50 <> 0), 0,
  'and every one of them is a row the policy lets the user read');
select ok(
  (select bool_and(a.similarity >= b.similarity)
   from plan_answer as a join plan_answer as b on b.semantic_rank = a.semantic_rank + 1),
  'best first: each row''s best chunk is at least as similar as the next row''s'
);
select tests.clear_authentication();

select * from finish();
rollback;
