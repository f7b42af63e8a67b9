-- 030 The queue trigger: inserts and content changes queue a row once; other updates do not; deletes
-- note a sweep that removes their rows' books, which nothing counts meanwhile; a key used again is queued.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(9);

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

-- A DELETE only notes a sweep: its rows' books go with the next one, and nothing counts them meanwhile.
insert into embeddings.embedded_rows (target_id, row_key, model, content_hash)
  values (tests.target_id('items'), '1', 'test-model', 'x'), (tests.target_id('items'), '2', 'test-model', 'x');
delete from public.items where id in (1, 2);
select results_eq(
  $$ select (select count(*) from embeddings.pending_sweeps where target_id = tests.target_id('items')),
            s.total_rows, s.embedded, s.pending
     from embeddings.status(tests.target_id('items')) as s $$,
  $$ values (1::bigint, 0::bigint, 0::bigint, 0::bigint) $$,
  'a DELETE notes a sweep, and status counts neither the deleted rows'' queue entries nor their records'
);

-- A key used again before the sweep starts afresh: no lease, attempts or record of the deleted row.
update embeddings.queue set attempts = 4, dead_at = now(), last_error = 'old failure',
    lease_token = gen_random_uuid(), leased_until = now() + interval '1 hour'
  where target_id = tests.target_id('items');
insert into public.items (id, title) overriding system value values (1, 'new lamp');
select results_eq(
  $$ select q.attempts, q.dead_at, q.lease_token, s.embedded, s.pending,
            exists (select 1 from embeddings.embedded_rows as e
                    where e.target_id = tests.target_id('items') and e.row_key = '1')
     from embeddings.queue as q, embeddings.status(tests.target_id('items')) as s
     where q.target_id = tests.target_id('items') and q.row_key = '1' $$,
  $$ values (0, null::timestamptz, null::uuid, 0::bigint, 1::bigint, false) $$,
  'a key inserted again before the sweep is queued afresh, claimable at once, its old record forgotten'
);

select is(embeddings._sweep_deleted_rows(tests.target_id('items')), 1, 'the sweep removes one record...');
select results_eq(
  $$ select (select array_agg(row_key) from embeddings.queue where target_id = tests.target_id('items')),
            (select count(*) from embeddings.embedded_rows where target_id = tests.target_id('items')),
            (select count(*) from embeddings.pending_sweeps where target_id = tests.target_id('items')) $$,
  $$ values (array['1'], 0::bigint, 0::bigint) $$,
  '...the gone row''s, keeps the entry of the row that is back, and takes the note'
);

delete from public.items where id = 1;
truncate public.items;
select is_empty(
  $$ select 1 from embeddings.pending_sweeps where target_id = tests.target_id('items')
     union all select 1 from embeddings.queue where target_id = tests.target_id('items') $$,
  'a TRUNCATE clears the books and the notes at once'
);

select * from finish();
rollback;
