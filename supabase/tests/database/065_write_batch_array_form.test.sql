-- 065 write_batch's array form (row_keys, content_hashes, vectors in pgvector's text form), the one
-- the worker calls: it writes and keeps the books like the JSON form, and refuses the same faults,
-- naming the row and the element, before it writes anything.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(14);

-- A throwaway target of 3 rows (integer keys 1 to 3) with a 4-dimension column, claimed by a worker.
select tests.create_target('items', 3, 4, 'integer');
select tests.claim_into('claimed', 'items');

-- write(keys, vectors): write_batch's array form under the claim's lease, each key with its claimed hash.
create function pg_temp.write(row_keys text[], vectors text[]) returns text language sql as $$
  select w.written_keys::text from embeddings.write_batch(
    tests.target_id('items'), (select lease_token from claimed limit 1), 'test-model', row_keys,
    array(select (select c.content_hash from claimed as c where c.row_key = k) from unnest(row_keys) as k),
    vectors) as w
$$;

-- Each faulty batch is refused with its error, naming the row and the element.
select tests.authenticate_as_service_role();
select throws_ok(format('select pg_temp.write(%L, %L)', row_keys, vectors), errcode, message, description)
from (values
  (array['1', '2'], array['[0.1,0.2,0.3,0.4]', '[0.1,NaN,0.3,0.4]'], '22000', 'row 2: embedding element 2 is NaN, not a finite number', 'a NaN element is rejected, naming the row and the element'),
  (array['2'], array['[0.1,0.2,Infinity,0.4]'], '22000', 'row 2: embedding element 3 is Infinity, not a finite number', 'an infinity is rejected, naming the row and the element'),
  (array['2'], array['[0.1,0.2,0.3,1e39]'], '22000', 'row 2: embedding element 4 is 1e39, not a finite number', 'a value beyond a 4-byte float is rejected'),
  (array['3'], array['[0.1,zero,0.3,0.4]'], '22000', 'row 3: embedding element 2 is zero, not a finite number', 'a word where a number belongs is rejected'),
  (array['3'], array['[1e-50,zero,0.3,0.4]'], '22000', 'row 3: embedding element 2 is zero, not a finite number', 'a number too small for a float4 is no fault (pgvector reads it as 0): the fault named is the word after it'),
  ('[0:1]={1,2}'::text[], '[0:1]={"[0.1,0.2,0.3,0.4]","[0.1,0.2,0.3]"}'::text[], '22000', 'row 2: embedding has 3 dimensions, expected 4', 'arrays that do not start at 1 still name the right row'),
  (array['1', '2'], array['[0.1,0.2,0.3,0.4]', '[0.1,0.2,0.3]'], '22000', 'row 2: embedding has 3 dimensions, expected 4', 'a vector of the wrong length is rejected, naming the row'),
  (array['1'], array['[0,0,0,0]'], '22000', 'row 1: embedding is all zeros, which has no cosine direction', 'an all-zero vector is rejected'),
  (array['1'], array[null], '22000', 'row 1: embedding must be an array of 4 numbers, got nothing', 'a missing vector is rejected'),
  (array['1', '2'], array['[0.1,0.2,0.3,0.4]'], '22023', 'row_keys, content_hashes and vectors must be arrays of one length, got 2, 2 and 1 items', 'arrays of different lengths are rejected'),
  (array['1', '1'], array['[0.1,0.2,0.3,0.4]', '[0.1,0.2,0.3,0.4]'], '22023', 'row 1 appears more than once in the batch', 'a row twice in one batch is rejected')
) as faulty(row_keys, vectors, errcode, message, description);
select is(
  (select count(*)::int from public.items where embedding is not null), 0,
  'after every rejected batch, no row has an embedding: a rejected batch writes nothing'
);

select is(
  pg_temp.write(array['1', '2', '3'], array['[0.1,0.2,0.3,0.4]', '[1,0,0,0]', '[0, 0.5, 0, 0.5]']),
  '{1,2,3}',
  'a good batch is written, and written_keys names every row'
);
select tests.clear_authentication();

select results_eq(
  $$ select i.id, i.embedding::text, e.vector_hash = md5(i.embedding::text), q.row_key is null
     from public.items as i
     left join embeddings.embedded_rows as e on e.target_id = tests.target_id('items') and e.row_key = i.id::text
     left join embeddings.queue as q on q.target_id = tests.target_id('items') and q.row_key = i.id::text
     order by i.id $$,
  $$ values (1, '[0.1,0.2,0.3,0.4]', true, true), (2, '[1,0,0,0]', true, true), (3, '[0,0.5,0,0.5]', true, true) $$,
  'the vectors persist, each with its record and no queue entry left'
);

select * from finish();
rollback;
