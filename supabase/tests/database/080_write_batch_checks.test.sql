-- 080 write_batch writes only content that did not change, only under a lease still held, only with the
-- target's model, and records what it embedded.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(11);

-- A throwaway target with text keys; rows a, b and c (content: their title) are queued as inserted.
select tests.create_target('items', 0, 3, 'text');
insert into public.items (id, title) values ('a', 'alpha'), ('b', 'beta'), ('c', 'gamma');
select tests.authenticate_as_service_role();
create temporary table claimed as select * from embeddings.claim_batch(tests.target_id('items'), 10, 60);
create temporary table batch as
select jsonb_agg(tests.batch_item(row_key, content_hash, tests.one_hot(3, 1)) order by row_key) as items,
       (array_agg(lease_token))[1] as lease
from claimed;
select tests.clear_authentication();

-- Row b changes while the worker embeds it.
update public.items set title = 'beta two' where id = 'b';

select tests.authenticate_as_service_role();
select throws_ok(
  $$ select * from embeddings.write_batch(tests.target_id('items'), (select lease from batch), 'another-model',
       (select items from batch)) $$,
  '22023', 'target items embeds with model test-model; refusing vectors of model another-model',
  'vectors of another model are refused'
);
create temporary table outcome as
select * from embeddings.write_batch(tests.target_id('items'), (select lease from batch), 'test-model',
  (select items from batch));
select tests.clear_authentication();

select is((select written_keys from outcome), array['a', 'c'], 'unchanged rows are written');
select is((select stale_keys from outcome), array['b'], 'the row whose content changed is refused as stale');
select is(
  (select embedding from public.items where id = 'b'), null,
  'the stale row keeps no old vector'
);
select ok(
  (select lease_token is null and last_error like 'content changed%'
   from embeddings.queue where target_id = tests.target_id('items') and row_key = 'b'),
  'the stale row stays queued, its lease released'
);
select is_empty(
  $$ select 1 from embeddings.queue where target_id = tests.target_id('items') and row_key in ('a', 'c') $$,
  'written rows leave the queue'
);
select is(
  (select content_hash from embeddings.embedded_rows where target_id = tests.target_id('items') and row_key = 'a'),
  md5('alpha'),
  'the record holds the hash of the content that was embedded'
);
select is(
  (select model from embeddings.embedded_rows where target_id = tests.target_id('items') and row_key = 'c'),
  'test-model',
  'and the model'
);

-- A lease that was lost (expired and taken by another worker) cannot write.
select tests.claim_into('stale_claim', 'items');
update embeddings.queue set lease_token = gen_random_uuid()
  where target_id = tests.target_id('items') and row_key = 'b';
select tests.authenticate_as_service_role();
select is(
  (select lost_keys from embeddings.write_batch(tests.target_id('items'), (select lease_token from stale_claim),
    'test-model', jsonb_build_array(tests.batch_item('b', md5('beta two'), tests.one_hot(3, 2)))
  )),
  array['b'],
  'a write under a lost lease is reported lost and writes nothing'
);
select throws_ok(
  $$ select * from embeddings.write_batch(tests.target_id('items'), gen_random_uuid(), 'test-model',
       '[{"key": "a", "content_hash": "x", "embedding": [1, 2]}]') $$,
  '22000', 'row a: embedding has 2 dimensions, expected 3',
  'dimensions are checked against the target'
);
select tests.clear_authentication();
select is(
  (select embedding from public.items where id = 'b'), null,
  'row b still has no vector'
);

select * from finish();
rollback;
