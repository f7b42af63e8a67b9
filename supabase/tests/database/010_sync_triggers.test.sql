-- Inserts and content changes queue a row once; other updates do not; deletes leave no work behind.
begin;
create extension if not exists pgtap with schema extensions;
select plan(6);

create table public.items (id bigint generated always as identity primary key, name text, notes text,
  price numeric, embedding extensions.vector(3));
create function public.item_content(item public.items) returns text language sql immutable
  as $$ select item.name || ' ' || coalesce(item.notes, '') $$;
create temporary table registered as
select embeddings.register_target('public.items', 'id', 'public.item_content(public.items)', 'embedding', 'test-model', 3) as id;

insert into public.items (name, notes, price) values ('lamp', 'brass', 10), ('desk', 'oak', 90);
select is(
  (select array_agg(row_key order by row_key) from embeddings.queue where target_id = (select id from registered)),
  array['1', '2'],
  'inserted rows are queued by their key'
);

delete from embeddings.queue;
update public.items set price = 12 where id = 1;
select is_empty(
  $$ select 1 from embeddings.queue $$,
  'an update that leaves the content as it was (price) queues nothing'
);

update public.items set notes = 'polished brass' where id = 1;
update public.items set notes = 'antique brass' where id = 1;
select is(
  (select count(*)::int from embeddings.queue where row_key = '1'), 1,
  'two content changes queue the row once'
);

update embeddings.queue set attempts = 4, dead_at = now(), last_error = 'old failure';
update public.items set name = 'floor lamp' where id = 1;
select ok(
  (select attempts = 0 and dead_at is null and last_error is null from embeddings.queue where row_key = '1'),
  'a content change gives a dead-lettered row fresh attempts'
);

delete from public.items where id = 1;
select is_empty(
  $$ select 1 from embeddings.queue where row_key = '1' $$,
  'a deleted row leaves no queue entry'
);
insert into embeddings.embedded_rows (target_id, row_key, model, content_hash)
  values ((select id from registered), '2', 'test-model', 'x');
delete from public.items where id = 2;
select is_empty(
  $$ select 1 from embeddings.embedded_rows where row_key = '2' $$,
  'nor an embedding record'
);

select * from finish();
rollback;
