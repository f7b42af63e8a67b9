-- 171 write_chunks persists a claimed batch's chunks (counted back from the chunk table), replaces all of
-- a row's chunks in one call (fewer than before leave none behind), records each row with the md5 of its
-- chunk vectors, is stale-safe (text changed after the claim: not written, queued again), reports a lost
-- lease, and its JSON form writes the same.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(18);

-- A chunked target of 3 rows (bigint keys 1-3, text "row <n>"), chunks of vector(3).
select tests.create_table('docs', 3, 3, 'bigint');
alter table public.docs drop column embedding;
select embeddings.register_target('public.docs', 'id', 'public.docs_content(public.docs)', null, 'test-model', 3,
  target_name => 'docs', chunking => '{"size": 100}');

-- write(claim, chunks): write_chunks of the claimed rows (all of them) under the claim's lease, chunks as
-- (row position, start, end, text, vector) in order.
create function pg_temp.write(claim text, chunk_rows integer[], starts integer[], ends integer[], texts text[], vectors text[])
returns table (written_keys text[], stale_keys text[], lost_keys text[]) language plpgsql as $$
declare
  keys text[];
  hashes text[];
  lease uuid;
begin
  execute format('select array_agg(row_key order by row_key::bigint), array_agg(content_hash order by row_key::bigint),
                         (array_agg(lease_token))[1] from %I', claim)
    into keys, hashes, lease;
  return query select * from embeddings.write_chunks(tests.target_id('docs'), lease, 'test-model', keys, hashes,
    chunk_rows, starts, ends, texts, vectors);
end;
$$;
create function pg_temp.chunks_of(row_key text) returns text[] language sql as $$
  select array_agg(format('%s [%s,%s) %s %s', c.chunk_index, c.start_offset, c.end_offset, c.chunk_text, c.embedding)
                   order by c.chunk_index)
  from embedding_chunks.docs as c where c.row_key = chunks_of.row_key
$$;

select tests.claim_into('first_claim', 'docs');
select tests.authenticate_as_service_role();
create temporary table first_write as
  select * from pg_temp.write('first_claim', array[1, 1, 2, 3], array[0, 2, 0, 0], array[3, 5, 5, 5],
    array['row', 'w 1', 'row 2', 'row 3'], array['[1,0,0]', '[0,1,0]', '[0,0,1]', '[1,1,0]']);
select tests.clear_authentication();

select results_eq($$ select written_keys, stale_keys, lost_keys from first_write $$,
  $$ values ('{1,2,3}'::text[], '{}'::text[], '{}'::text[]) $$, 'all three rows are reported written');
select is((select count(*)::int from embedding_chunks.docs), 4, 'reading the chunk table back: 4 chunks');
select is(pg_temp.chunks_of('1'), array['0 [0,3) row [1,0,0]', '1 [2,5) w 1 [0,1,0]'],
  'row 1 holds its two chunks in order, with their offsets, text and vectors');
select is(
  (select array_agg(distinct c.content_hash) from embedding_chunks.docs as c where c.row_key = '1'),
  array[md5('row 1')], 'each chunk carries the md5 of the whole text it was cut from');
select is(
  (select vector_hash from embeddings.embedded_rows where target_id = tests.target_id('docs') and row_key = '1'),
  md5('[1,0,0],[0,1,0]'), 'the row''s record holds the md5 of its chunk vectors in chunk order');
select is((select count(*)::int from embeddings.queue where target_id = tests.target_id('docs')), 0,
  'the written rows left the queue');
select results_eq($$ select total_rows, embedded, chunks from embeddings.status where name = 'docs' $$,
  $$ values (3::bigint, 3::bigint, 4::bigint) $$, 'status: 3 rows, 3 embedded, 4 chunks');

-- A new text: its row's chunks are replaced in one call, one chunk where there were two.
update public.docs set body = 'a new body' where id = 1;
select tests.claim_into('second_claim', 'docs');
select tests.authenticate_as_service_role();
create temporary table second_write as
  select * from pg_temp.write('second_claim', array[1], array[0], array[15], array['row 1: a new body'], array['[0,0,2]']);
select tests.clear_authentication();
select is((select written_keys from second_write), '{1}'::text[], 'the changed row is written');
select is(pg_temp.chunks_of('1'), array['0 [0,15) row 1: a new body [0,0,2]'],
  'its one new chunk replaced both old ones: none left behind');
select is(
  (select content_hash from embeddings.embedded_rows where target_id = tests.target_id('docs') and row_key = '1'),
  md5('row 1: a new body'), 'its record names the new text');

-- Stale: the text changes after the claim; nothing is written and the row is queued again.
update public.docs set body = 'first' where id = 2;
select tests.claim_into('third_claim', 'docs');
update public.docs set body = 'second' where id = 2;
select tests.authenticate_as_service_role();
create temporary table third_write as
  select * from pg_temp.write('third_claim', array[1], array[0], array[5], array['row 2'], array['[0,1,1]']);
select tests.clear_authentication();
select results_eq($$ select written_keys, stale_keys, lost_keys from third_write $$,
  $$ values ('{}'::text[], '{2}'::text[], '{}'::text[]) $$, 'a row whose text changed after the claim is stale, not written');
select is(pg_temp.chunks_of('2'), array['0 [0,5) row 2 [0,0,1]'], 'its old chunks stay as they were');
select ok(
  (select lease_token is null and last_error like 'content changed%' from embeddings.queue
   where target_id = tests.target_id('docs') and row_key = '2'),
  'it is queued again, without the lease');

-- Lost: a lease that no longer holds the row writes nothing.
select tests.claim_into('fourth_claim', 'docs');
update embeddings.queue set lease_token = gen_random_uuid() where target_id = tests.target_id('docs') and row_key = '2';
select tests.authenticate_as_service_role();
create temporary table fourth_write as
  select * from pg_temp.write('fourth_claim', array[1], array[0], array[8], array['row 2: s'], array['[1,1,1]']);
select tests.clear_authentication();
select results_eq($$ select written_keys, stale_keys, lost_keys from fourth_write $$,
  $$ values ('{}'::text[], '{}'::text[], '{2}'::text[]) $$, 'a row whose lease was lost is reported lost');
select is(pg_temp.chunks_of('2'), array['0 [0,5) row 2 [0,0,1]'], 'and nothing of it is written');

-- A row with no chunks is written with none; the JSON form writes as the array form.
update embeddings.queue set lease_token = null, leased_until = null where target_id = tests.target_id('docs');
select tests.claim_into('fifth_claim', 'docs');
select tests.authenticate_as_service_role();
create temporary table fifth_write as
  select * from embeddings.write_chunks(tests.target_id('docs'), (select lease_token from fifth_claim limit 1),
    'test-model', jsonb_build_array(jsonb_build_object('key', '2', 'content_hash', (select content_hash from fifth_claim),
      'chunks', '[]'::jsonb)));
select tests.clear_authentication();
select is((select written_keys from fifth_write), '{2}'::text[], 'a row of no chunks is written (JSON form)');
select is(pg_temp.chunks_of('2'), null, 'its old chunks are gone and none replace them');
select is(
  (select vector_hash from embeddings.embedded_rows where target_id = tests.target_id('docs') and row_key = '2'),
  md5(''), 'its record says it has no chunks: the md5 of no vectors');

select * from finish();
rollback;
