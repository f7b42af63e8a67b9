-- A worker that stops early hands its rows back: claimable at once, no attempt counted, other leases untouched.
begin;
create extension if not exists pgtap with schema extensions;
select plan(6);

create table public.items (id bigint generated always as identity primary key, name text,
  embedding extensions.vector(3));
create function public.item_content(item public.items) returns text language sql immutable
  as $$ select 'item ' || item.name $$;
insert into public.items (name) select 'n' || i from generate_series(1, 4) as i;
create temporary table registered as
select embeddings.register_target('public.items', 'id', 'public.item_content(public.items)', 'embedding', 'test-model', 3) as id;
grant select on registered to service_role;

set local role service_role;
create temporary table mine as select * from embeddings.claim_batch((select id from registered), 3, 300);
create temporary table theirs as select * from embeddings.claim_batch((select id from registered), 3, 300);
select is(
  embeddings.release_batch((select id from registered), (select lease_token from mine limit 1), array['1']),
  1, 'releasing one key of a lease releases one row'
);
select is(
  embeddings.release_batch((select id from registered), (select lease_token from mine limit 1)),
  2, 'releasing the rest of the lease releases the other two'
);
select is(
  embeddings.release_batch((select id from registered), gen_random_uuid()),
  0, 'a lease that holds nothing releases nothing'
);
reset role;

select ok(
  (select bool_and(attempts = 0 and lease_token is null and dead_at is null)
   from embeddings.queue where target_id = (select id from registered) and row_key in ('1', '2', '3')),
  'released rows count no attempt and hold no lease'
);
select ok(
  (select lease_token = (select lease_token from theirs limit 1)
   from embeddings.queue where target_id = (select id from registered) and row_key = '4'),
  'another worker''s lease is untouched'
);
set local role service_role;
select is(
  (select array_agg(row_key order by row_key) from embeddings.claim_batch((select id from registered), 10, 60)),
  array['1', '2', '3'], 'released rows are claimable again at once'
);
reset role;

select * from finish();
rollback;
