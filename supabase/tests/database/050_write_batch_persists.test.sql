-- 050 A worker's claim + write_batch persists a whole batch: 20 of 20 rows, read back from the table,
-- each row holding its own vector, and the status view agrees.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(8);

-- A throwaway target: 20 rows with uuid keys 00000000-0000-4000-8000-0000000000<nn>, vector(32).
select tests.create_target('items', 20, 32, 'uuid');
select is(
  (select pending from embeddings.status where name = 'items'), 20::bigint,
  'the 20 rows are queued'
);

-- The worker, as service_role: claim, embed row n as the unit vector along dimension n, write.
select tests.authenticate_as_service_role();
create temporary table claimed as select * from embeddings.claim_batch(tests.target_id('items'), 50, 60);
create temporary table batch as
select jsonb_agg(tests.batch_item(c.row_key, c.content_hash, tests.one_hot(32, right(c.row_key, 12)::int))) as items,
       (array_agg(c.lease_token))[1] as lease
from claimed as c;
create temporary table outcome as
select * from embeddings.write_batch(tests.target_id('items'), (select lease from batch), 'test-model',
  (select items from batch));
select tests.clear_authentication();

select is((select cardinality(written_keys) from outcome), 20, 'write_batch reports 20 rows written');
select is((select stale_keys || lost_keys from outcome), '{}'::text[], 'and none stale or lost');
select is(
  (select count(*)::int from public.items where embedding is not null), 20,
  'reading the table back: 20 of 20 rows have an embedding'
);
select is(
  (select array_agg(id::text order by id::text) from public.items where embedding is not null),
  (select written_keys from outcome),
  'exactly the reported keys hold an embedding'
);
select is(
  (select embedding::real[] from public.items where id = '00000000-0000-4000-8000-000000000007'),
  (select array_agg(case when d = 7 then 1 else 0 end order by d)::real[] from generate_series(1, 32) as d),
  'row 7 holds its own vector (dimension 7 set), not another row''s'
);
select results_eq(
  $$ select embedded, pending, in_flight, dead_lettered from embeddings.status where name = 'items' $$,
  $$ values (20::bigint, 0::bigint, 0::bigint, 0::bigint) $$,
  'status: 20 embedded, nothing pending, in flight or dead'
);
select ok(
  (select last_write_at > now() - interval '1 minute' from embeddings.status where name = 'items'),
  'status shows the last successful write'
);

select * from finish();
rollback;
