-- 037 A statement of 1,000 rows or more notes its keys in a row instead of an entry per row: status,
-- estimate and verify count them as queued, claims move them into the queue as the statement would
-- have queued them (deleted rows and rows embedded since left out, dead entries renewed), TRUNCATE
-- and unregister drop them; a target that adopts vectors notes nothing.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(19);

select tests.create_target('items');
-- The backfill of the empty table is over: what is queued from here on is the triggers' doing.
select is((select backfill_done from embeddings.targets where id = tests.target_id('items')), true,
  'the empty table''s backfill is done');

insert into public.items (id, title) overriding system value
  select g, 'row ' || g from generate_series(1, 25000) as g;
select results_eq(
  $$ select (select count(*) from embeddings.queue where target_id = tests.target_id('items')),
            (select array_agg(cardinality(row_keys) order by id) from embeddings.queued_key_sets
             where target_id = tests.target_id('items')),
            (select count(distinct k) from embeddings.queued_key_sets as s, unnest(s.row_keys) as k
             where s.target_id = tests.target_id('items')) $$,
  $$ values (0::bigint, array[25000], 25000::bigint) $$,
  'a bulk INSERT of 25,000 rows writes no queue entry: its keys, each once, in one row'
);

select results_eq(
  $$ select total_rows, pending, in_flight, dead_lettered from embeddings.status(tests.target_id('items')) $$,
  $$ values (25000::bigint, 25000::bigint, 0::bigint, 0::bigint) $$,
  'status counts the noted keys as pending'
);

select results_eq(
  $$ select queued, not_backfilled from embeddings.estimate_backfill(tests.target_id('items')) $$,
  $$ values (25000::bigint, 0::bigint) $$,
  'estimate_backfill counts the noted keys as queued, once'
);

insert into public.items (id, title) overriding system value
  select g, 'row ' || g from generate_series(30001, 30999) as g;
select is(
  (select count(*)::int from embeddings.queue where target_id = tests.target_id('items')), 999,
  'a statement of 999 rows queues an entry per row'
);

-- Deleted before any claim moved their set: a claim leaves them out of the queue.
delete from public.items where id <= 100;
select is(
  (select count(*)::int from embeddings.claim_batch(tests.target_id('items'), 5, 60)), 5,
  'a claim leases rows while key sets wait'
);
select results_eq(
  $$ select (select array_agg(cardinality(row_keys) order by id) from embeddings.queued_key_sets
             where target_id = tests.target_id('items')),
            (select count(*) from embeddings.queue where target_id = tests.target_id('items')),
            (select count(*) from embeddings.queue where target_id = tests.target_id('items')
               and row_key::bigint <= 100) $$,
  $$ values (array[10000, 5000], (999 + 9900)::bigint, 0::bigint) $$,
  'the claim moved 10,000 keys into the queue, without those of rows deleted since, and left the rest as two sets'
);

-- A dead entry of a row a bulk UPDATE changes: renewed, as the UPDATE would have renewed it.
update embeddings.queue set attempts = 5, dead_at = now(), last_error = 'provider said no'
  where target_id = tests.target_id('items') and row_key in ('101', '102');
update public.items set body = 'edited' where id between 101 and 1200;
select results_eq(
  $$ select pending, dead_lettered, in_flight from embeddings.status(tests.target_id('items')) $$,
  $$ values ((25000 - 100 + 999 - 5)::bigint, 0::bigint, 5::bigint) $$,
  'status counts a dead row that a bulk UPDATE changed as pending, before any claim moved its key'
);
select is(
  (select count(*)::int from embeddings.queued_key_sets where target_id = tests.target_id('items')), 3,
  'a bulk UPDATE of the content notes its 1,100 keys in a set'
);
update public.items set rank = 7 where id between 101 and 5000;
select is(
  (select count(*)::int from embeddings.queued_key_sets where target_id = tests.target_id('items')), 3,
  'a bulk UPDATE of other columns notes nothing'
);

-- verify reads the noted keys as queued (it moves nothing: it never holds entries while it reads).
select is_empty(
  $$ select problem from embeddings.verify(tests.target_id('items'), fix => true) where row_count > 0 $$,
  'verify, even with fix, finds no row missing a vector or dead: the noted keys are queued'
);
select is(
  (select count(*)::int from embeddings.queued_key_sets where target_id = tests.target_id('items')), 3,
  'verify leaves the sets for the claims'
);
select embeddings._move_queued_key_sets(t) from embeddings.targets as t where t.id = tests.target_id('items');
select results_eq(
  $$ select (select count(*) from embeddings.queued_key_sets where target_id = tests.target_id('items')),
            (select count(*) from embeddings.queue where target_id = tests.target_id('items')),
            (select count(*) from embeddings.queue where target_id = tests.target_id('items')
               and row_key in ('101', '102') and attempts = 0 and dead_at is null and last_error is null) $$,
  $$ values (0::bigint, (25000 - 100 + 999)::bigint, 2::bigint) $$,
  'every set moved: one entry per row, the dead ones renewed'
);
-- A row embedded since its key was noted (its entry written and gone, its record of the text it
-- holds now, its vector there) has nothing left to do: the move leaves it out.
delete from embeddings.queue where target_id = tests.target_id('items') and row_key = '1200';
update public.items set body = 'edited again' where id between 1200 and 2200;
update public.items set embedding = '[1,0,0]' where id = 1200;
insert into embeddings.embedded_rows (target_id, row_key, model, content_hash)
  select tests.target_id('items'), i.id::text, 'test-model', md5(public.items_content(i))
  from public.items as i where i.id = 1200;
delete from embeddings.queue where target_id = tests.target_id('items') and row_key = '1200';
select embeddings._move_queued_key_sets(t) from embeddings.targets as t where t.id = tests.target_id('items');
select is(
  (select count(*)::int from embeddings.queue where target_id = tests.target_id('items') and row_key = '1200'), 0,
  'a noted key whose record already holds its row''s text (embedded since) is not queued again'
);

-- A target that adopts vectors queues a bulk UPDATE's keys at once: a vector set after it must
-- find no noted key to queue again.
select tests.create_target('adopting');
select embeddings.set_target_options(tests.target_id('adopting'), adopt_existing_vectors => true);
insert into public.adopting (id, title) overriding system value
  select g, 'row ' || g from generate_series(1, 1500) as g;
update public.adopting set body = 'edited';
select results_eq(
  $$ select (select count(*) from embeddings.queued_key_sets where target_id = tests.target_id('adopting')),
            (select count(*) from embeddings.queue where target_id = tests.target_id('adopting')) $$,
  $$ values (0::bigint, 1500::bigint) $$,
  'a target that adopts vectors notes nothing: its bulk statements queue entries'
);

-- Sets of deleted rows only, then a set of live rows: the claim goes on to the live set.
delete from embeddings.queue where target_id = tests.target_id('items');
insert into public.items (id, title) overriding system value
  select g, 'gone ' || g from generate_series(40001, 41000) as g;
delete from public.items where id between 40001 and 41000;
insert into public.items (id, title) overriding system value
  select g, 'kept ' || g from generate_series(50001, 51000) as g;
select results_eq(
  $$ select count(*), count(*) filter (where c.row_key::bigint between 50001 and 51000)
     from embeddings.claim_batch(tests.target_id('items'), 2, 60) as c $$,
  $$ values (2::bigint, 2::bigint) $$,
  'a claim that moves a set of deleted rows goes on to the next set'
);

insert into public.items (id, title) overriding system value
  select g, 'more ' || g from generate_series(60001, 62000) as g;
truncate public.items;
select is(
  (select count(*)::int from embeddings.queued_key_sets where target_id = tests.target_id('items')), 0,
  'TRUNCATE drops the noted keys with the queue'
);

insert into public.items (id, title) overriding system value
  select g, 'more ' || g from generate_series(1, 2000) as g;
select embeddings.unregister_target(tests.target_id('items'));
select is_empty(
  $$ select 1 from embeddings.queued_key_sets $$,
  'unregister_target drops its noted keys'
);

select is(
  (select count(*)::int from pg_catalog.pg_policies where schemaname = 'embeddings' and tablename = 'queued_key_sets'), 0,
  'the key sets have RLS and no policy: only service_role reads them'
);

select * from finish();
rollback;
