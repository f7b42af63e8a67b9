-- Claiming leases rows to one worker at a time; an expired lease makes its rows claimable again; backoff delays retries.
begin;
create extension if not exists pgtap with schema extensions;
select plan(7);

create table public.items (id bigint generated always as identity primary key, name text,
  embedding extensions.vector(3));
create function public.item_content(item public.items) returns text language sql immutable
  as $$ select 'item ' || item.name $$;
insert into public.items (name) select 'n' || i from generate_series(1, 5) as i;
create temporary table registered as
select embeddings.register_target('public.items', 'id', 'public.item_content(public.items)', 'embedding', 'test-model', 3) as id;
grant select on registered to service_role;

set local role service_role;
create temporary table first_claim as select * from embeddings.claim_batch((select id from registered), 3, 60);
create temporary table second_claim as select * from embeddings.claim_batch((select id from registered), 3, 60);
reset role;

select is(
  (select array_agg(row_key order by row_key::int) from first_claim), array['1', '2', '3'],
  'the first worker leases three rows, with their text'
);
select is(
  (select content from first_claim where row_key = '2'), 'item n2',
  'the claim returns the content function''s text'
);
select is(
  (select array_agg(row_key order by row_key::int) from second_claim), array['4', '5'],
  'a second worker gets only rows not leased'
);
select is(
  (select count(distinct lease_token)::int from (select lease_token from first_claim union all select lease_token from second_claim) as t), 2,
  'each claim has its own lease token'
);

-- The first worker dies: its lease runs out.
update embeddings.queue set leased_until = now() - interval '1 second'
  where lease_token = (select lease_token from first_claim limit 1);
set local role service_role;
create temporary table third_claim as select * from embeddings.claim_batch((select id from registered), 10, 60);
reset role;
select is(
  (select array_agg(row_key order by row_key::int) from third_claim), array['1', '2', '3'],
  'rows of an expired lease are claimable again'
);

update embeddings.queue set lease_token = null, leased_until = null, next_attempt_at = now() + interval '1 hour';
set local role service_role;
select is_empty(
  $$ select * from embeddings.claim_batch((select id from registered), 10, 60) $$,
  'rows waiting out a backoff are not claimed'
);
select throws_ok(
  $$ select * from embeddings.claim_batch((select id from registered), 0, 60) $$,
  '22023', 'batch_size must be between 1 and 1000, got 0',
  'a batch size of 0 is a clear error'
);
reset role;

select * from finish();
rollback;
