-- 060 write_batch rejects wrong dimensions, NaN, non-numbers, zero vectors and malformed batches with an
-- error naming the row, and a rejected batch writes nothing.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(11);

-- A throwaway target of 2 rows (integer keys 1 and 2) with a 384-dimension column, claimed by a worker.
select tests.create_target('items', 2, 384, 'integer');
select tests.claim_into('claimed', 'items');

-- item(key, embedding): the claimed row's batch item; write(items): write_batch under the claim's lease.
create function pg_temp.item(row_key text, embedding jsonb) returns jsonb language sql as $$
  select tests.batch_item(c.row_key, c.content_hash, embedding) from claimed as c where c.row_key = item.row_key
$$;
create function pg_temp.write(items jsonb) returns setof text language sql as $$
  select w.written_keys::text from embeddings.write_batch(
    tests.target_id('items'), (select lease_token from claimed limit 1), 'test-model', items) as w
$$;

select tests.authenticate_as_service_role();
select throws_ok(
  format($$ select pg_temp.write(%L) $$, jsonb_build_array(
    pg_temp.item('1', tests.vector_json(384)), pg_temp.item('2', tests.vector_json(383)))),
  '22000', 'row 2: embedding has 383 dimensions, expected 384',
  'a 383-dimension vector is rejected, naming the row'
);
select throws_ok(
  format($$ select pg_temp.write(%L) $$, jsonb_build_array(pg_temp.item('2', tests.vector_json(512)))),
  '22000', 'row 2: embedding has 512 dimensions, expected 384',
  'a 512-dimension vector is rejected, naming the row'
);
select throws_ok(
  format($$ select pg_temp.write(%L) $$, jsonb_build_array(
    pg_temp.item('1', tests.vector_json(384)),
    pg_temp.item('2', jsonb_set(tests.vector_json(384), '{8}', '"NaN"')))),
  '22000', 'row 2: embedding element 9 is "NaN", not a finite number',
  'a NaN element is rejected, naming the row and the element'
);
select throws_ok(
  format($$ select pg_temp.write(%L) $$, jsonb_build_array(
    pg_temp.item('2', jsonb_set(tests.vector_json(384), '{2}', 'null')))),
  '22000', 'row 2: embedding element 3 is null, not a finite number',
  'a null element (what JSON makes of NaN) is rejected'
);
select throws_ok(
  format($$ select pg_temp.write(%L) $$, jsonb_build_array(
    pg_temp.item('2', jsonb_set(tests.vector_json(384), '{4}', '1e39')))),
  '22000', 'row 2: embedding element 5 is 1000000000000000000000000000000000000000, not a finite number',
  'a value beyond a 4-byte float (Infinity once stored) is rejected'
);
select throws_ok(
  format($$ select pg_temp.write(%L) $$, jsonb_build_array(pg_temp.item('2', tests.vector_json(384, 0)))),
  '22000', 'row 2: embedding is all zeros, which has no cosine direction',
  'an all-zero vector is rejected'
);
select throws_ok(
  $$ select pg_temp.write('[{"key": 7, "content_hash": "x", "embedding": []}]') $$,
  '22023', null,
  'a key that is not a string is rejected'
);
select throws_ok(
  $$ select pg_temp.write('{"key": "x"}') $$,
  '22023', null,
  'a batch that is not an array is rejected'
);
select throws_ok(
  format($$ select pg_temp.write(%L) $$, jsonb_build_array(
    pg_temp.item('1', tests.vector_json(384)), pg_temp.item('1', tests.vector_json(384)))),
  '22023', 'row 1 appears more than once in the batch',
  'a row twice in one batch is rejected'
);
select tests.clear_authentication();

select is(
  (select count(*)::int from public.items where embedding is not null), 0,
  'after every rejected batch, no row has an embedding: a rejected batch writes nothing'
);

-- The control: the good item that rode along in the rejected batches is written on its own.
select tests.authenticate_as_service_role();
select is(
  (select pg_temp.write(jsonb_build_array(pg_temp.item('1', tests.vector_json(384))))),
  '{1}',
  'the same good item alone is written: the batches above failed only for their bad vectors'
);
select tests.clear_authentication();

select * from finish();
rollback;
