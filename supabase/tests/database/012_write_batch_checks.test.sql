-- write_batch writes only unchanged content under a held lease with the target's model, and records what it embedded.
begin;
create extension if not exists pgtap with schema extensions;
select plan(11);

create table public.items (id text primary key, name text, embedding extensions.vector(3));
create function public.item_content(item public.items) returns text language sql immutable
  as $$ select 'item ' || item.name $$;
insert into public.items (id, name) values ('a', 'alpha'), ('b', 'beta'), ('c', 'gamma');
create temporary table registered as
select embeddings.register_target('public.items', 'id', 'public.item_content(public.items)', 'embedding', 'test-model', 3) as id;
grant select on registered to service_role;

set local role service_role;
create temporary table claimed as select * from embeddings.claim_batch((select id from registered), 10, 60);
reset role;

-- Row b changes while the worker embeds it.
update public.items set name = 'beta two' where id = 'b';

create temporary table batch as
select jsonb_agg(jsonb_build_object('key', row_key, 'content_hash', content_hash,
  'embedding', jsonb_build_array(1, 0, 0)) order by row_key) as items,
  (select lease_token from claimed limit 1) as lease
from claimed;
grant select on batch to service_role;

set local role service_role;
select throws_ok(
  $$ select * from embeddings.write_batch((select id from registered), (select lease from batch), 'another-model', (select items from batch)) $$,
  '22023', 'target items embeds with model test-model; refusing vectors of model another-model',
  'vectors of another model are refused'
);
create temporary table outcome as
select * from embeddings.write_batch((select id from registered), (select lease from batch), 'test-model', (select items from batch));
reset role;

select is((select written_keys from outcome), array['a', 'c'], 'unchanged rows are written');
select is((select stale_keys from outcome), array['b'], 'the row whose content changed is refused as stale');
select is(
  (select embedding from public.items where id = 'b'), null,
  'the stale row keeps no old vector'
);
select ok(
  (select lease_token is null and last_error like 'content changed%' from embeddings.queue where row_key = 'b'),
  'the stale row stays queued, its lease released'
);
select is_empty(
  $$ select 1 from embeddings.queue where row_key in ('a', 'c') $$,
  'written rows leave the queue'
);
select is(
  (select content_hash from embeddings.embedded_rows where row_key = 'a'), md5('item alpha'),
  'the record holds the hash of the content that was embedded'
);
select is(
  (select model from embeddings.embedded_rows where row_key = 'c'), 'test-model',
  'and the model'
);

-- A lease that was lost (expired and taken by another worker) cannot write.
set local role service_role;
create temporary table stale_claim as select * from embeddings.claim_batch((select id from registered), 10, 60);
reset role;
update embeddings.queue set lease_token = gen_random_uuid() where row_key = 'b';
set local role service_role;
select is(
  (select lost_keys from embeddings.write_batch((select id from registered), (select lease_token from stale_claim),
    'test-model', jsonb_build_array(jsonb_build_object('key', 'b', 'content_hash', md5('item beta two'),
      'embedding', jsonb_build_array(0, 1, 0))))),
  array['b'],
  'a write under a lost lease is reported lost and writes nothing'
);
select throws_ok(
  $$ select * from embeddings.write_batch((select id from registered), gen_random_uuid(), 'test-model',
       '[{"key": "a", "content_hash": "x", "embedding": [1, 2]}]') $$,
  '22000', 'row a: embedding has 2 dimensions, expected 3',
  'dimensions are checked against the target'
);
reset role;
select is(
  (select embedding from public.items where id = 'b'), null,
  'row b still has no vector'
);

select * from finish();
rollback;
