-- 173 A chunked row's chunks follow the row: a DELETE's sweep removes them, a changed key drops the old
-- key's, a TRUNCATE empties the chunk table; status counts rows and chunks; set_target_chunking queues
-- every row again with the old chunks kept until replaced, and refuses a whole-row target;
-- set_target_model to other dimensions remakes the chunk table.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(22);

-- A chunked target of 4 rows (bigint keys 1-4), chunks of vector(3); every row written as two chunks.
select tests.create_table('docs', 4, 3, 'bigint');
alter table public.docs drop column embedding;
select embeddings.register_target('public.docs', 'id', 'public.docs_content(public.docs)', null, 'test-model', 3,
  target_name => 'docs', chunking => '{"size": 100}');
-- write_all(claim): every claimed row written as two chunks [0,2) and [2,4) under the claim's lease.
create function pg_temp.write_all(claim text, model text default 'test-model', vector text default '[1,2,2]')
returns text[] language plpgsql as $$
declare
  keys text[];
  hashes text[];
  lease uuid;
  written text[];
begin
  execute format('select array_agg(row_key order by row_key), array_agg(content_hash order by row_key),
                         (array_agg(lease_token))[1] from %I', claim) into keys, hashes, lease;
  perform tests.authenticate_as_service_role();
  select w.written_keys into written from embeddings.write_chunks(tests.target_id('docs'), lease, model,
    keys, hashes,
    array(select r from generate_series(1, cardinality(keys)) as r, generate_series(1, 2) as c order by r, c),
    array(select s from generate_series(1, cardinality(keys)), unnest(array[0, 2]) as s),
    array(select e from generate_series(1, cardinality(keys)), unnest(array[2, 4]) as e),
    array(select 'ch' from generate_series(1, cardinality(keys) * 2)),
    array(select vector from generate_series(1, cardinality(keys) * 2))) as w;
  perform tests.clear_authentication();
  return written;
end;
$$;
select tests.claim_into('first_claim', 'docs');
select is(pg_temp.write_all('first_claim'), '{1,2,3,4}'::text[], 'the 4 rows are written');
select results_eq($$ select total_rows, embedded, chunks, pending from embeddings.status where name = 'docs' $$,
  $$ values (4::bigint, 4::bigint, 8::bigint, 0::bigint) $$, 'status: 4 rows, 4 embedded, 8 chunks, none pending');

-- DELETE: the sweep removes the deleted row's chunks with its books.
delete from public.docs where id = 4;
select is((select count(*)::int from embedding_chunks.docs where row_key = '4'), 2, 'a DELETE leaves the chunks for the sweep');
select ok(embeddings._sweep_deleted_rows(tests.target_id('docs')) > 0, 'the sweep removes something');
select is((select count(*)::int from embedding_chunks.docs where row_key = '4'), 0, 'the deleted row''s chunks are gone');
select results_eq($$ select total_rows, embedded, chunks from embeddings.status where name = 'docs' $$,
  $$ values (3::bigint, 3::bigint, 6::bigint) $$, 'status counts the 3 rows left and their 6 chunks');

-- A changed key: the old key's chunks go at once, the new key is queued.
update public.docs set id = 30 where id = 3;
select is((select count(*)::int from embedding_chunks.docs where row_key = '3'), 0, 'a changed key drops the old key''s chunks');
select results_eq($$ select embedded, chunks, pending from embeddings.status where name = 'docs' $$,
  $$ values (2::bigint, 4::bigint, 1::bigint) $$, 'status: 2 embedded, 4 chunks, the new key pending');

-- A text change: the row is no longer embedded until written again; its chunks stay meanwhile.
update public.docs set body = 'new' where id = 2;
select results_eq($$ select embedded, chunks, pending from embeddings.status where name = 'docs' $$,
  $$ values (1::bigint, 4::bigint, 2::bigint) $$, 'a changed text: embedded 1, its chunks still counted, pending 2');

-- The estimate of a chunked target's pending rows: their whole text, never cut to max_characters.
select results_eq(
  $$ select rows_to_embed, characters from embeddings.estimate_backfill(tests.target_id('docs'), max_characters => 3) $$,
  $$ values (2::bigint, (length('row 2: new') + length('row 3'))::bigint) $$,
  'estimate_backfill counts a chunked target''s whole text, never cut');

-- set_target_chunking: every row queued again; the old chunks stay until replaced.
select tests.claim_into('second_claim', 'docs');
select is(pg_temp.write_all('second_claim'), '{2,30}'::text[], 'the pending rows are written');
select is(embeddings.set_target_chunking(tests.target_id('docs'), '{"size": 300, "splitter": "markdown"}'),
  '{"unit": "characters", "size": 300, "overlap": 45, "splitter": "markdown"}'::jsonb,
  'set_target_chunking returns the completed chunking');
select results_eq($$ select embedded, chunks, pending from embeddings.status where name = 'docs' $$,
  $$ values (3::bigint, 6::bigint, 3::bigint) $$, 'every row is queued again, its chunks still there and searchable');
select throws_ok(
  format($$ select embeddings.set_target_chunking(%s, '{}') $$, tests.target_id('music_knowledge')), '22023',
  format('target music_knowledge embeds one vector per row in column embedding, not chunks: to chunk its rows, select embeddings.unregister_target(%s); then register the table again with chunking',
    tests.target_id('music_knowledge')),
  'set_target_chunking refuses a whole-row target, saying what to do');

-- A batch in flight when the chunking changes was cut the old way: its lease is taken back.
select tests.claim_into('cut_the_old_way', 'docs', 1);
select embeddings.set_target_chunking(tests.target_id('docs'), '{"size": 300, "overlap": 10, "splitter": "markdown"}');
select is(pg_temp.write_all('cut_the_old_way'), '{}'::text[], 'a batch claimed before the change is not written');
select tests.claim_into('third_claim', 'docs');
select is(pg_temp.write_all('third_claim'), '{1,2,30}'::text[], 'the queued rows are chunked again');
select results_eq($$ select embedded, chunks, pending from embeddings.status where name = 'docs' $$,
  $$ values (3::bigint, 6::bigint, 0::bigint) $$, 'their new chunks replaced the old ones');

-- set_target_model to other dimensions: the chunk table is remade for them, every row queued.
select embeddings.set_target_model(tests.target_id('docs'), 'bigger-model', 5);
select col_type_is('embedding_chunks', 'docs', 'embedding', 'extensions', 'vector(5)',
  'a model of other dimensions remakes the chunk table''s column');
select is((select count(*)::int from embedding_chunks.docs), 0, 'and its chunks of the old dimensions are gone');
select is((select embeddings._broken_reason(t) from embeddings.targets as t where t.name = 'docs'), null,
  'the target is whole');

-- TRUNCATE empties the chunk table.
select tests.claim_into('fourth_claim', 'docs');
select is(pg_temp.write_all('fourth_claim', 'bigger-model', '[1,2,2,0,1]'), '{1,2,30}'::text[],
  'the rows are written with the new model''s vectors');
truncate public.docs;
select is((select count(*)::int from embedding_chunks.docs), 0, 'TRUNCATE of the table empties its chunk table');

select * from finish();
rollback;
