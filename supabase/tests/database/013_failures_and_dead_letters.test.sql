-- Failures count attempts and back off; at max_attempts a row is dead-lettered, visible, and requeued by one call.
begin;
create extension if not exists pgtap with schema extensions;
select plan(8);

create table public.items (id bigint primary key, name text, embedding extensions.vector(3));
create function public.item_content(item public.items) returns text language sql immutable
  as $$ select 'item ' || item.name $$;
insert into public.items values (1, 'poison', null), (2, 'fine', null);
create temporary table registered as
select embeddings.register_target('public.items', 'id', 'public.item_content(public.items)', 'embedding', 'test-model', 3, 2) as id;
grant select on registered to service_role;

set local role service_role;
create temporary table claim_one as select * from embeddings.claim_batch((select id from registered), 10, 60);
create temporary table first_failure as
select * from embeddings.fail_rows((select id from registered), (select lease_token from claim_one limit 1),
  '[{"key": "1", "error": "provider said: input rejected"}]');
reset role;

select is((select retrying_keys from first_failure), array['1'], 'after one failure the row will retry');
select ok(
  (select attempts = 1 and next_attempt_at > now() and lease_token is null from embeddings.queue where row_key = '1'),
  'one attempt counted, retry pushed back, lease released'
);
select ok(
  (select lease_token is not null from embeddings.queue where row_key = '2'),
  'the other row of the batch is untouched by the failure'
);

update embeddings.queue set next_attempt_at = now() where row_key = '1';
set local role service_role;
create temporary table claim_two as select * from embeddings.claim_batch((select id from registered), 10, 60);
create temporary table second_failure as
select * from embeddings.fail_rows((select id from registered), (select lease_token from claim_two limit 1),
  '[{"key": "1", "error": "provider said: input rejected again"}]');
reset role;

select is((select dead_keys from second_failure), array['1'], 'at max_attempts (2) the row is dead-lettered');
select results_eq(
  $$ select dead_lettered, last_error from embeddings.status where target_id = (select id from registered) $$,
  $$ values (1::bigint, 'provider said: input rejected again') $$,
  'the status view shows the dead letter and its last error'
);
set local role service_role;
select is_empty(
  $$ select * from embeddings.claim_batch((select id from registered), 10, 60) where row_key = '1' $$,
  'a dead-lettered row is not claimed'
);
select is(embeddings.requeue_dead((select id from registered)), 1, 'requeue_dead queues it again');
reset role;
select ok(
  (select dead_at is null and attempts = 0 from embeddings.queue where row_key = '1'),
  'with fresh attempts'
);

select * from finish();
rollback;
