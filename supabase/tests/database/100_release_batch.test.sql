-- 100 release_batch: a worker that stops early hands its rows back, claimable at once, with no attempt
-- counted and other workers' leases untouched.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(6);

-- A throwaway target of 4 rows; one worker leases three ("mine"), another the fourth ("theirs").
select tests.create_target('items', 4);

select tests.claim_into('mine', 'items', 3, 300);
select tests.claim_into('theirs', 'items', 3, 300);
select tests.authenticate_as_service_role();
select is(
  embeddings.release_batch(tests.target_id('items'), (select lease_token from mine limit 1),
    array[(select min(row_key) from mine)]),
  1, 'releasing one key of a lease releases one row'
);
select is(
  embeddings.release_batch(tests.target_id('items'), (select lease_token from mine limit 1)),
  2, 'releasing the rest of the lease releases the other two'
);
select is(
  embeddings.release_batch(tests.target_id('items'), gen_random_uuid()),
  0, 'a lease that holds nothing releases nothing'
);
select tests.clear_authentication();

select ok(
  (select bool_and(attempts = 0 and lease_token is null and dead_at is null)
   from embeddings.queue where target_id = tests.target_id('items') and row_key in (select row_key from mine)),
  'released rows count no attempt and hold no lease'
);
select ok(
  (select lease_token = (select lease_token from theirs limit 1)
   from embeddings.queue where target_id = tests.target_id('items') and row_key = (select row_key from theirs)),
  'another worker''s lease is untouched'
);
select tests.authenticate_as_service_role();
select set_eq(
  $$ select row_key from embeddings.claim_batch(tests.target_id('items'), 10, 60) $$,
  'select row_key from mine',
  'released rows, and only those, are claimable again at once'
);
select tests.clear_authentication();

select * from finish();
rollback;
