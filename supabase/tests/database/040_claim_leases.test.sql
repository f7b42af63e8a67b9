-- 040 claim_batch leases rows to one worker at a time; an expired lease makes its rows claimable again;
-- backoff delays retries; batch_size and lease_seconds are held to embeddings.run_option_limits().
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(10);

-- A throwaway target of 5 rows (keys 1..5, content "row <n>"), all queued by the backfill.
select tests.create_target('items', 5);

select tests.claim_into('first_claim', 'items', 3);
select tests.claim_into('second_claim', 'items', 3);

select is(
  (select count(*)::int from first_claim), 3,
  'the first worker leases three rows (its batch size)'
);
select is_empty(
  $$ select row_key from first_claim where content is distinct from 'row ' || row_key $$,
  'the claim returns each row''s text from the content function'
);
select ok(
  (select count(*) = 2 and count(*) filter (where row_key in (select row_key from first_claim)) = 0
   from second_claim),
  'a second worker gets only the two rows not leased'
);
select is(
  (select count(distinct lease_token)::int
   from (select lease_token from first_claim union all select lease_token from second_claim) as t), 2,
  'each claim has its own lease token'
);

-- The first worker dies: its lease runs out.
update embeddings.queue set leased_until = now() - interval '1 second'
  where lease_token = (select lease_token from first_claim limit 1);
select tests.claim_into('third_claim', 'items');
select set_eq(
  'select row_key from third_claim', 'select row_key from first_claim',
  'the rows of the expired lease, and only those, are claimable again'
);

update embeddings.queue set lease_token = null, leased_until = null, next_attempt_at = now() + interval '1 hour'
  where target_id = tests.target_id('items');
select tests.authenticate_as_service_role();
select is_empty(
  $$ select * from embeddings.claim_batch(tests.target_id('items'), 10, 60) $$,
  'rows waiting out a backoff are not claimed'
);

-- The run options' limits, defined once.
select results_eq(
  $$ select name, min_value, max_value from embeddings.run_option_limits() order by name $$,
  $$ values ('batch_size', 1, 1000), ('lease_seconds', 1, 3600), ('max_rows', 1, 1000000),
            ('time_budget_ms', 100, 140000) $$,
  'run_option_limits gives the range of each run option'
);
select throws_ok(
  $$ select * from embeddings.claim_batch(tests.target_id('items'), 0, 60) $$,
  '22023', 'batch_size must be between 1 and 1000, got 0',
  'a batch size of 0 is a clear error'
);
select throws_ok(
  $$ select * from embeddings.claim_batch(tests.target_id('items'), 1001, 60) $$,
  '22023', 'batch_size must be between 1 and 1000, got 1001',
  'a batch size above the limit is a clear error'
);
select throws_ok(
  $$ select * from embeddings.claim_batch(tests.target_id('items'), 10, 0) $$,
  '22023', 'lease_seconds must be between 1 and 3600, got 0',
  'a lease of 0 seconds is a clear error'
);
select tests.clear_authentication();

select * from finish();
rollback;
