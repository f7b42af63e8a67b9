-- 110 The backfill queues a large table in chunks of 10,000; a claim keeps queuing chunks while the
-- backfill runs, even past a chunk that held nothing to embed; changing the model queues every row again
-- and counts only new vectors.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(12);

-- A throwaway target of 25,000 rows (keys 1..25000) with model-a.
select tests.create_target('items', 25000, 3, 'bigint', 'model-a');

select is(
  (select count(*)::int from embeddings.queue where target_id = tests.target_id('items')), 10000,
  'registration queues only the first chunk of 10000 rows'
);
select ok(
  (select not backfill_done and backfill_after = '10000' from embeddings.targets where id = tests.target_id('items')),
  'and remembers where it stopped'
);
select is(embeddings.queue_backfill_chunk(tests.target_id('items')), 10000,
  'the next chunk (10000 unless given) queues 10000 more');
select is(embeddings.queue_backfill_chunk(tests.target_id('items')), 5000, 'the last chunk queues the rest');
select ok(
  (select backfill_done from embeddings.targets where id = tests.target_id('items')),
  'and the backfill is done'
);

-- Pretend every row was embedded with model-a, then switch models.
delete from embeddings.queue where target_id = tests.target_id('items');
insert into embeddings.embedded_rows (target_id, row_key, model, content_hash)
  select tests.target_id('items'), i::text, 'model-a', 'h' from generate_series(1, 25000) as i;
select throws_ok(
  $$ select embeddings.set_target_model(tests.target_id('items'), 'model-b', 768) $$,
  '22023', 'column public.items.embedding holds vector(3) but model model-b makes 768 dimensions',
  'a model whose dimensions do not fit the column is refused'
);
select embeddings.set_target_model(tests.target_id('items'), 'model-b', 3);
select is(
  (select embedded from embeddings.status where target_id = tests.target_id('items')), 0::bigint,
  'after the switch no row counts as embedded: model-a vectors are not model-b vectors'
);
select is(
  (select count(*)::int from embeddings.queue where target_id = tests.target_id('items')), 10000,
  'and the rows are queued again, chunk by chunk'
);

-- Rows 1..10000 turn out to be embedded with model-b already: the backfill starts over with an empty queue.
delete from embeddings.queue where target_id = tests.target_id('items');
update embeddings.embedded_rows set model = 'model-b'
  where target_id = tests.target_id('items') and row_key::bigint <= 10000;
update embeddings.targets set backfill_after = null, backfill_done = false where id = tests.target_id('items');
select tests.claim_into('claimed', 'items', 5);
select ok(
  (select count(*) = 5 and bool_and(row_key::bigint between 10001 and 20000) from claimed),
  'a claim whose first chunk held nothing to embed queues the next chunk and comes back with 5 rows of it'
);
select ok(
  (select not backfill_done and backfill_after = '20000' from embeddings.targets where id = tests.target_id('items')),
  'the backfill cursor moved past both chunks'
);
select is_empty(
  $$ select 1 from embeddings.queue where target_id = tests.target_id('items') and row_key::bigint <= 10000 $$,
  'and no row already embedded with the current model was queued'
);

-- The column's owner gave it other dimensions first: the model of those dimensions is taken.
update public.items set embedding = null;
alter table public.items alter column embedding type extensions.vector(4);
select lives_ok(
  $$ select embeddings.set_target_model(tests.target_id('items'), 'model-c', 4) $$,
  'a whole-row target takes a model of the dimensions its column was altered to'
);

select * from finish();
rollback;
