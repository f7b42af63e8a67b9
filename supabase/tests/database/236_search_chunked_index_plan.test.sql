-- 236 The semantic side of a chunked target uses the chunk table's HNSW index: on 5,000 rows of four
-- chunks each (20,000 chunks), the planner serves it, through the chunk view, with an index scan
-- ordered by cosine distance. When RLS hides 49 rows in 50 the index is used all the same and the
-- answer is still full (pgvector's iterative scan goes on past ef_search), one result per row.
begin;
\ir ../fixtures/test_helpers.psql
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(5);

-- 5,000 rows with no vector column: a chunked target's vectors are in its chunk table.
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
-- anon may search (the plan needs only its grants); a user reads one row in fifty.
grant select on public.chunk_plan to anon, authenticated;
grant execute on function public.chunk_plan_content(public.chunk_plan) to anon, authenticated;
create policy "users read one row in fifty" on public.chunk_plan for select to authenticated using (id % 50 = 0);
analyze public.chunk_plan, embedding_chunks.chunk_plan;

select is((select count(*)::integer from embedding_chunks.chunk_plan), 20000, '20,000 chunks of 5,000 rows');

/** EXPLAIN of a side's SQL, with the parameters the search binds to its first round. */
create function pg_temp.explained(side_sql text, query extensions.vector) returns setof text
language plpgsql set search_path = '' as $$
begin
  return query execute 'explain ' || side_sql
    using query, null::tsquery, null::double precision, 40, '{}'::jsonb, 0::bigint;
end;
$$;
/** The plan of the semantic side exactly as search_embeddings runs it, for that query vector. */
create function pg_temp.semantic_plan(query extensions.vector) returns setof text
language sql set search_path = '' as $$
  select pg_temp.explained((embedding_search.plan_search('chunk_plan', null, query, 'semantic', 20, '{}', null,
    1, 4, 2, 'any')).semantic_sql, query)
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
select results_eq(
  $$ with answer as (
       select * from public.search_embeddings('chunk_plan', query_embedding => '[0.1, 0.2, 0.3]',
         mode => 'semantic', match_count => 20))
     select count(distinct a.row_key)::integer, count(*)::integer,
            count(*) filter (where a.row_key::bigint % 50 <> 0)::integer,
            coalesce(bool_and(a.similarity >= b.similarity), true)
     from answer as a left join answer as b on b.semantic_rank = a.semantic_rank + 1 $$,
  $$ values (20, 20, 0, true) $$,
  'with 49 rows in 50 hidden by RLS the search still answers the 20 rows asked for, each once, '
  'all of them rows the policy lets the user read, best chunk first'
);
select tests.clear_authentication();

select * from finish();
rollback;
