-- The backfill queues a large table in chunks; changing the model queues every row again and counts only new vectors.
begin;
create extension if not exists pgtap with schema extensions;
select plan(8);

create table public.items (id bigint primary key, name text, embedding extensions.vector(3));
create function public.item_content(item public.items) returns text language sql immutable
  as $$ select 'item ' || item.name $$;
insert into public.items select i, 'n' || i, null from generate_series(1, 25000) as i;
create temporary table registered as
select embeddings.register_target('public.items', 'id', 'public.item_content(public.items)', 'embedding', 'model-a', 3) as id;

select is(
  (select count(*)::int from embeddings.queue where target_id = (select id from registered)), 10000,
  'registration queues only the first chunk of 10000 rows'
);
select ok(
  (select not backfill_done and backfill_after = '10000' from embeddings.targets where id = (select id from registered)),
  'and remembers where it stopped'
);
select is(embeddings.queue_backfill_chunk((select id from registered), 10000), 10000, 'the next chunk queues 10000 more');
select is(embeddings.queue_backfill_chunk((select id from registered), 10000), 5000, 'the last chunk queues the rest');
select ok(
  (select backfill_done from embeddings.targets where id = (select id from registered)),
  'and the backfill is done'
);

-- Pretend every row was embedded with model-a, then switch models.
delete from embeddings.queue;
insert into embeddings.embedded_rows (target_id, row_key, model, content_hash)
  select (select id from registered), i::text, 'model-a', 'h' from generate_series(1, 25000) as i;
select throws_ok(
  $$ select embeddings.set_target_model((select id from registered), 'model-b', 768) $$,
  '22023', 'column public.items.embedding holds vector(3) but model model-b makes 768 dimensions',
  'a model whose dimensions do not fit the column is refused'
);
select embeddings.set_target_model((select id from registered), 'model-b', 3);
select is(
  (select embedded from embeddings.status where target_id = (select id from registered)), 0::bigint,
  'after the switch no row counts as embedded: model-a vectors are not model-b vectors'
);
select is(
  (select count(*)::int from embeddings.queue where target_id = (select id from registered)), 10000,
  'and the rows are queued again, chunk by chunk'
);

select * from finish();
rollback;
