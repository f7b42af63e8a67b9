-- 030 The queue trigger: inserts and content changes queue a row once; other updates do not; deletes
-- leave no work and no record behind.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(6);

-- A throwaway target (bigint identity key); its content is title, or "title: body". rank is not content.
select tests.create_target('items');

insert into public.items (title, body, rank) values ('lamp', 'brass', 10), ('desk', 'oak', 90);
select is(
  (select array_agg(row_key order by row_key) from embeddings.queue where target_id = tests.target_id('items')),
  array['1', '2'],
  'inserted rows are queued by their key'
);

delete from embeddings.queue where target_id = tests.target_id('items');
update public.items set rank = 12 where id = 1;
select is_empty(
  $$ select 1 from embeddings.queue where target_id = tests.target_id('items') $$,
  'an update that leaves the content as it was (rank) queues nothing'
);

update public.items set body = 'polished brass' where id = 1;
update public.items set body = 'antique brass' where id = 1;
select is(
  (select count(*)::int from embeddings.queue where target_id = tests.target_id('items') and row_key = '1'), 1,
  'two content changes queue the row once'
);

update embeddings.queue set attempts = 4, dead_at = now(), last_error = 'old failure'
  where target_id = tests.target_id('items');
update public.items set title = 'floor lamp' where id = 1;
select ok(
  (select attempts = 0 and dead_at is null and last_error is null
   from embeddings.queue where target_id = tests.target_id('items') and row_key = '1'),
  'a content change gives a dead-lettered row fresh attempts'
);

delete from public.items where id = 1;
select is_empty(
  $$ select 1 from embeddings.queue where target_id = tests.target_id('items') and row_key = '1' $$,
  'a deleted row leaves no queue entry'
);
insert into embeddings.embedded_rows (target_id, row_key, model, content_hash)
  values (tests.target_id('items'), '2', 'test-model', 'x');
delete from public.items where id = 2;
select is_empty(
  $$ select 1 from embeddings.embedded_rows where target_id = tests.target_id('items') and row_key = '2' $$,
  'nor an embedding record'
);

select * from finish();
rollback;
