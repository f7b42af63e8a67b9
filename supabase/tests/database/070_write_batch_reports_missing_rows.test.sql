-- 070 Keys whose row was deleted, or that the lease does not hold, are reported back as lost, never
-- counted as written.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(6);

-- A throwaway target of 3 rows with uuid keys 00000000-0000-4000-8000-00000000000<n>, claimed by a worker.
select tests.create_target('items', 3, 3, 'uuid');
select tests.claim_into('claimed', 'items');

-- Row 3 is deleted while its batch is being embedded; a fourth key (99) was never claimed.
delete from public.items where id = '00000000-0000-4000-8000-000000000003';

select tests.authenticate_as_service_role();
create temporary table outcome as
select * from embeddings.write_batch(tests.target_id('items'), (select lease_token from claimed limit 1), 'test-model',
  (select jsonb_agg(tests.batch_item(row_key, content_hash, tests.vector_json(3)))
   from (select row_key, content_hash from claimed
         union all select '00000000-0000-4000-8000-000000000099', 'x') as k));
select tests.clear_authentication();

select is(
  (select written_keys from outcome),
  array['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'],
  'the two existing rows are reported written'
);
select is(
  (select lost_keys from outcome),
  array['00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000099'],
  'the deleted row and the unclaimed key are reported lost'
);
select is(
  (select count(*)::int from public.items where embedding is not null), 2,
  'reading back: exactly 2 rows have an embedding'
);
select results_eq(
  $$ select pending, in_flight from embeddings.status(tests.target_id('items')) $$,
  $$ values (0::bigint, 0::bigint) $$,
  'the deleted row left no work behind (its entry waits for the sweep, counted nowhere)'
);

select tests.authenticate_as_service_role();
select is(
  (select cardinality(written_keys) from embeddings.write_batch(tests.target_id('items'),
     gen_random_uuid(), 'test-model', '[]'::jsonb)),
  0,
  'an empty batch writes nothing and says so'
);
select is(
  (select count(*)::int from embeddings.claim_batch(tests.target_id('items'), 10, 60)), 0,
  'nothing is left to claim'
);
select tests.clear_authentication();

select * from finish();
rollback;
