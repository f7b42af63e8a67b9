-- 090 fail_rows counts attempts and backs off; at max_attempts a row is dead-lettered, visible in status,
-- never claimed, and queued again by one requeue_dead call.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(11);

-- A throwaway target of 2 rows (keys 1 and 2) that dead-letters a row after 2 attempts.
select tests.create_target('items', 2, 3, 'bigint', 'test-model', 2);

select tests.authenticate_as_service_role();
select is(
  (select retrying_keys
   from tests.claim_and_fail(tests.target_id('items'), '[{"key": "1", "error": "provider said: input rejected"}]')),
  array['1'], 'after one failure the row will retry'
);
select tests.clear_authentication();
select ok(
  (select attempts = 1 and next_attempt_at > now() and lease_token is null
   from embeddings.queue where target_id = tests.target_id('items') and row_key = '1'),
  'one attempt counted, retry pushed back, lease released'
);
select ok(
  (select lease_token is not null from embeddings.queue where target_id = tests.target_id('items') and row_key = '2'),
  'the other row of the batch is untouched by the failure'
);

update embeddings.queue set next_attempt_at = now() where target_id = tests.target_id('items') and row_key = '1';
select tests.authenticate_as_service_role();
select is(
  (select dead_keys
   from tests.claim_and_fail(tests.target_id('items'), '[{"key": "1", "error": "provider said: input rejected again"}]')),
  array['1'], 'at max_attempts (2) the row is dead-lettered'
);
select tests.clear_authentication();
select results_eq(
  $$ select dead_lettered, last_error from embeddings.status where target_id = tests.target_id('items') $$,
  $$ values (1::bigint, 'provider said: input rejected again') $$,
  'the status view shows the dead letter and its last error'
);
select tests.authenticate_as_service_role();
select is_empty(
  $$ select * from embeddings.claim_batch(tests.target_id('items'), 10, 60) where row_key = '1' $$,
  'a dead-lettered row is not claimed'
);
select is(embeddings.requeue_dead(tests.target_id('items')), 1, 'requeue_dead queues it again');
select tests.clear_authentication();
select ok(
  (select dead_at is null and attempts = 0 from embeddings.queue where target_id = tests.target_id('items')
   and row_key = '1'),
  'with fresh attempts'
);

-- Queue every row again: a second throwaway target, both rows embedded first, then requeue_target.
select tests.create_embedded_target('again', 2);
select is(
  (select embedded from embeddings.status(tests.target_id('again'))), 2::bigint,
  'both rows embedded'
);
select tests.authenticate_as_service_role();
select is(embeddings.requeue_target(tests.target_id('again')), 2,
  'requeue_target queues every row again, as service_role');
select tests.clear_authentication();
select results_eq(
  $$ select embedded, pending from embeddings.status(tests.target_id('again')) $$,
  $$ values (0::bigint, 2::bigint) $$,
  'and nothing counts as embedded until the rows are written again'
);

select * from finish();
rollback;
