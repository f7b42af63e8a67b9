-- 130 The bookkeeping follows the vector column: vectors cleared or written by anyone but the
-- engine are queued again (or adopted), TRUNCATE clears the books, and what the triggers cannot see
-- (replica mode) is found and repaired by embeddings.verify.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(28);

select tests.create_target('items', 6, 3);
select embeddings.set_target_options(tests.target_id('items'), unit_norm => false);
select tests.authenticate_as_service_role();
select * from tests.claim_and_write(tests.target_id('items'));
select tests.clear_authentication();

select results_eq(
  $$ select embedded, pending from embeddings.status(tests.target_id('items')) $$,
  $$ values (6::bigint, 0::bigint) $$,
  'the engine''s own writes leave 6 rows embedded and nothing queued'
);
select ok(
  (select bool_and(vector_hash = md5(i.embedding::text)) from embeddings.embedded_rows as e
   join public.items as i on i.id::text = e.row_key where e.target_id = tests.target_id('items')),
  'each record holds the hash of the vector the engine wrote'
);
select is_empty(
  $$ select * from embeddings.verify(tests.target_id('items')) where row_count > 0 $$,
  'verify finds nothing wrong with a table the engine filled'
);

-- Changes made by someone else.
update public.items set embedding = null where id = 1;
select ok(
  exists (select 1 from embeddings.queue where target_id = tests.target_id('items') and row_key = '1')
    and not exists (select 1 from embeddings.embedded_rows where target_id = tests.target_id('items') and row_key = '1'),
  'a vector set to null: the row is queued again and its record goes'
);
update public.items set embedding = '[1, 0, 0]' where id = 2;
select ok(
  exists (select 1 from embeddings.queue where target_id = tests.target_id('items') and row_key = '2')
    and not exists (select 1 from embeddings.embedded_rows where target_id = tests.target_id('items') and row_key = '2'),
  'a vector written by someone else is not vouched for: queued again, record gone'
);
update public.items set rank = 7 where id = 3;
select ok(
  not exists (select 1 from embeddings.queue where target_id = tests.target_id('items') and row_key = '3'),
  'an update of neither the text nor the vector queues nothing'
);
select results_eq(
  $$ select embedded, pending from embeddings.status(tests.target_id('items')) $$,
  $$ values (4::bigint, 2::bigint) $$,
  'status counts only the vectors the engine wrote, and the two rows to redo'
);

-- A target that adopts vectors imported from elsewhere.
select is(
  embeddings.set_target_options(tests.target_id('items'), adopt_existing_vectors => true), 5,
  'switching adoption on adopts the 5 vectors in the column'
);
select results_eq(
  $$ select embedded, pending from embeddings.status(tests.target_id('items')) $$,
  $$ values (5::bigint, 1::bigint) $$,
  'the imported vector counts as embedded and leaves the queue; the cleared row stays queued'
);
update public.items set embedding = '[0, 1, 0]' where id = 1;
select ok(
  not exists (select 1 from embeddings.queue where target_id = tests.target_id('items') and row_key = '1')
    and (select vector_hash = md5('[0,1,0]') from embeddings.embedded_rows
         where target_id = tests.target_id('items') and row_key = '1'),
  'on an adopting target, a vector written by someone else is recorded, not queued'
);
insert into public.items (title, embedding) values ('imported', '[0, 0, 1]');
select ok(
  exists (select 1 from embeddings.embedded_rows where target_id = tests.target_id('items') and row_key = '7')
    and not exists (select 1 from embeddings.queue where target_id = tests.target_id('items') and row_key = '7'),
  'and so is a row inserted with its vector'
);
select embeddings.set_target_options(tests.target_id('items'), adopt_existing_vectors => false);

-- What triggers cannot see: session_replication_role = replica.
set local session_replication_role = replica;
update public.items set embedding = null where id = 4;
update public.items set embedding = '[0, 0, 1]' where id = 5;
update public.items set title = 'changed behind the triggers' where id = 6;
delete from public.items where id = 3;
set local session_replication_role = origin;
select results_eq(
  $$ select problem, row_count, sample_keys from embeddings.verify(tests.target_id('items'))
     where row_count > 0 order by problem $$,
  $$ values ('missing_vector'::text, 1::bigint, array['4']),
            ('orphan_bookkeeping', 1, array['3']),
            ('stale_vector', 1, array['6']),
            ('unvouched_vector', 1, array['5']) $$,
  'verify names each row the triggers missed: cleared, deleted, text changed, vector replaced'
);
select results_eq(
  $$ select problem, fixed from embeddings.verify(tests.target_id('items'), fix => true)
     where fixed > 0 order by problem $$,
  $$ values ('missing_vector'::text, 1::bigint), ('orphan_bookkeeping', 1), ('stale_vector', 1),
            ('unvouched_vector', 1) $$,
  'verify with fix says what it repaired'
);
select is_empty(
  $$ select * from embeddings.verify(tests.target_id('items')) where row_count > 0 $$,
  'afterwards verify finds nothing: the rows are queued, the orphan bookkeeping gone'
);
select is(
  (select array_agg(row_key order by row_key) from embeddings.queue where target_id = tests.target_id('items')),
  array['4', '5', '6'],
  'the three repaired rows wait in the queue (1 and 2 were adopted earlier)'
);
select tests.authenticate_as_service_role();
select * from tests.claim_and_write(tests.target_id('items'));
select tests.clear_authentication();
select results_eq(
  $$ select total_rows, embedded, pending from embeddings.status(tests.target_id('items')) $$,
  $$ select count(*), count(embedding), 0::bigint from public.items $$,
  'after the next worker round, status agrees with a direct count of the column'
);

-- verify with fix on a target that adopts: a vector replaced behind the triggers is vouched for
-- as it stands, not embedded again.
select embeddings.set_target_options(tests.target_id('items'), adopt_existing_vectors => true);
set local session_replication_role = replica;
update public.items set embedding = '[0, 1, 0]' where id = 2;
set local session_replication_role = origin;
select results_eq(
  $$ select problem, row_count, fixed from embeddings.verify(tests.target_id('items'), fix => true)
     where row_count > 0 $$,
  $$ values ('unvouched_vector'::text, 1::bigint, 1::bigint) $$,
  'on an adopting target, verify with fix finds the replaced vector and fixes it by adoption'
);
select ok(
  not exists (select 1 from embeddings.queue where target_id = tests.target_id('items') and row_key = '2')
    and (select vector_hash = md5('[0,1,0]') from embeddings.embedded_rows
         where target_id = tests.target_id('items') and row_key = '2'),
  'the adopted vector is recorded as the one the row holds, and the row is not queued'
);
select embeddings.set_target_options(tests.target_id('items'), adopt_existing_vectors => false);

-- A DELETE the trigger noted is work the engine still owes, not drift: verify sweeps it first.
delete from public.items where id = 6;
select is_empty(
  $$ select * from embeddings.verify(tests.target_id('items')) where row_count > 0 $$,
  'a row deleted through the triggers is no orphan bookkeeping, though its sweep was pending'
);
select is_empty(
  $$ select 1 from embeddings.embedded_rows where target_id = tests.target_id('items') and row_key = '6'
     union all select 1 from embeddings.pending_sweeps where target_id = tests.target_id('items') $$,
  'verify swept its record and took the note'
);

-- TRUNCATE: queue and records cleared, the backfill restarted.
select tests.create_target('logs', 3, 3);
truncate public.logs;
select results_eq(
  $$ select (select count(*) from embeddings.queue where target_id = tests.target_id('logs')),
            (select count(*) from embeddings.embedded_rows where target_id = tests.target_id('logs')),
            (select backfill_done from embeddings.targets where id = tests.target_id('logs')) $$,
  $$ values (0::bigint, 0::bigint, false) $$,
  'TRUNCATE leaves no queue entry or record, and the backfill starts again'
);

-- Everything verify can report, and a broken target reported rather than raised.
select results_eq(
  $$ select problem from embeddings.verify_checks() $$,
  $$ values ('broken_target'::text), ('missing_vector'), ('unvouched_vector'), ('other_model_vector'),
            ('stale_vector'), ('wrong_dimensions'), ('non_finite'), ('off_unit_norm'), ('missing_chunks'),
            ('other_model_chunks'), ('stale_chunks'), ('orphan_bookkeeping'), ('orphan_chunks'), ('dead_lettered') $$,
  'verify_checks lists every problem verify looks for'
);
select is(
  (select count(*)::int from embeddings.verify(tests.target_id('logs'))), 14,
  'verify answers one row per check for a target, problems or not'
);
select results_eq(
  $$ select v.problem from embeddings.verify(tests.target_id('logs')) with ordinality as v(
       target_id, target, problem, description, row_count, sample_keys, fixed, n) order by v.n $$,
  $$ select problem from embeddings.verify_checks() $$,
  'in the order of verify_checks'
);
drop function public.logs_content(public.logs);
select results_eq(
  $$ select row_count, sample_keys from embeddings.verify(tests.target_id('logs')) where problem = 'broken_target' $$,
  $$ values (1::bigint, array[format('content function public.logs_content(public.logs) does not exist; fix: create it again, or select embeddings.unregister_target(%s);', tests.target_id('logs'))]) $$,
  'a target whose content function is gone is reported broken, with the reason'
);
select ok(
  (select count(*) from embeddings.verify() where target = 'items') = 14,
  'and the other targets are still verified'
);
select tests.create_target('norms', 1, 3);
select tests.authenticate_as_service_role();
select * from tests.claim_and_write(tests.target_id('norms'));
select tests.clear_authentication();
select results_eq(
  $$ select problem, row_count from embeddings.verify(tests.target_id('norms')) where row_count > 0 $$,
  $$ values ('off_unit_norm'::text, 1::bigint) $$,
  'a vector off unit length is flagged for a model that normalises'
);
select throws_ok(
  $$ select * from embeddings.verify(sample_size => -1) $$,
  '22023', 'sample_size must be between 0 and 1000, got -1',
  'a bad sample size is a clear error'
);

select * from finish();
rollback;
