-- 174 verify and doctor read a chunked target's chunk table: orphan chunks (no parent row), rows recorded
-- as embedded with chunks missing, chunks of another model, stale chunks; verify's fix queues the rows
-- again and deletes the orphans; doctor reports the drift and a chunk table opened to clients.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(14);

-- A chunked target of 6 rows (bigint keys 1-6), each written as two chunks of vector(3), unit length.
select tests.create_table('docs', 6, 3, 'bigint');
alter table public.docs drop column embedding;
select embeddings.register_target('public.docs', 'id', 'public.docs_content(public.docs)', null, 'test-model', 3,
  target_name => 'docs', chunking => '{"size": 100}');
select tests.claim_into('claimed', 'docs');
select tests.authenticate_as_service_role();
select * from embeddings.write_chunks(tests.target_id('docs'), (select lease_token from claimed limit 1), 'test-model',
  (select array_agg(row_key order by row_key) from claimed), (select array_agg(content_hash order by row_key) from claimed),
  array(select r from generate_series(1, 6) as r, generate_series(1, 2) as c order by r, c),
  array(select s from generate_series(1, 6), unnest(array[0, 2]) as s),
  array(select e from generate_series(1, 6), unnest(array[2, 4]) as e),
  array(select 'ch' from generate_series(1, 12)),
  array(select '[0.6,0.8,0]' from generate_series(1, 12)));
select tests.clear_authentication();
select is_empty($$ select problem from embeddings.verify(tests.target_id('docs')) where row_count > 0 $$,
  'freshly written: verify finds nothing');
select is_empty($$ select check_name from embeddings.doctor() where check_name = 'chunk_tables' and level <> 'ok' $$,
  'and doctor''s chunk_tables is ok');

-- Drift behind the triggers' back: a row deleted in replica mode (its chunks orphaned), a chunk deleted,
-- a chunk of another model, a chunk of another text, a text changed in replica mode.
set local session_replication_role = replica;
delete from public.docs where id = 1;
update public.docs set body = 'changed' where id = 6;
set local session_replication_role = origin;
delete from embedding_chunks.docs where row_key = '2' and chunk_index = 1;
update embedding_chunks.docs set model = 'other-model' where row_key = '3' and chunk_index = 0;
update embedding_chunks.docs set content_hash = md5('another text') where row_key = '4' and chunk_index = 1;

select results_eq(
  $$ select problem, row_count, sample_keys from embeddings.verify(tests.target_id('docs')) where row_count > 0 order by problem $$,
  $$ values ('missing_chunks'::text, 1::bigint, '{2}'::text[]), ('orphan_bookkeeping', 1, '{1}'),
            ('orphan_chunks', 1, '{1}'), ('other_model_chunks', 1, '{3}'), ('stale_chunks', 1, '{4}'),
            ('stale_vector', 1, '{6}') $$,
  'verify names each problem with its row');
select results_eq(
  $$ select subject, level, fix from embeddings.doctor() where check_name = 'chunk_tables' order by finding $$,
  format($$ values ('docs'::text, 'warning'::text, 'select * from embeddings.verify(%1$s, fix => true);'::text),
                   ('docs', 'warning', 'select * from embeddings.verify(%1$s, fix => true);'),
                   ('docs', 'warning', 'select * from embeddings.verify(%1$s, fix => true);'),
                   ('docs', 'warning', 'select * from embeddings.verify(%1$s, fix => true);') $$, tests.target_id('docs')),
  'doctor warns of the four kinds of chunk drift, with verify''s fix');
select ok(
  (select finding from embeddings.doctor() where check_name = 'chunk_tables' and finding like '%missing_chunks%')
    like 'target docs: 1 rows with missing_chunks (%), for example 2',
  'a doctor finding names the target, the count, the problem and sample keys');

select results_eq(
  $$ select problem, fixed from embeddings.verify(tests.target_id('docs'), fix => true) where fixed > 0 order by problem $$,
  $$ values ('missing_chunks'::text, 1::bigint), ('orphan_bookkeeping', 1), ('orphan_chunks', 1),
            ('other_model_chunks', 1), ('stale_chunks', 1), ('stale_vector', 1) $$,
  'verify''s fix repairs each');
select is((select count(*)::int from embedding_chunks.docs where row_key = '1'), 0, 'the orphan chunks are deleted');
select is(
  (select array_agg(row_key order by row_key) from embeddings.queue where target_id = tests.target_id('docs')),
  '{2,3,4,6}'::text[], 'the rows with wrong chunks are queued again');
select is_empty($$ select problem from embeddings.verify(tests.target_id('docs')) where row_count > 0 $$,
  'afterwards verify finds nothing (the queued rows are work in progress)');
select results_eq($$ select embedded, chunks, pending from embeddings.status where name = 'docs' $$,
  $$ values (1::bigint, 9::bigint, 4::bigint) $$,
  'status: the queued rows are no longer counted embedded; their chunks stay until replaced');

-- A chunk table opened to clients, and with RLS off: doctor errors, with the fix.
grant select on embedding_chunks.docs to anon;
alter table embedding_chunks.docs disable row level security;
select results_eq(
  $$ select level, finding, fix from embeddings.doctor() where check_name = 'chunk_tables' order by fix $$,
  $$ values ('error'::text, 'chunk table embedding_chunks.docs of target docs has row-level security off'::text,
             'alter table embedding_chunks.docs enable row level security;'::text),
            ('error', 'anon may read or write chunk table embedding_chunks.docs of target docs: chunks reach clients only through the search, under their rows'' RLS',
             'revoke all on table embedding_chunks.docs from anon;') $$,
  'a chunk table readable by anon or without RLS is an error, with the SQL that fixes it');
revoke all on embedding_chunks.docs from anon;
alter table embedding_chunks.docs enable row level security;

-- A chunk table dropped by hand (its search view with it): the target is broken (doctor
-- target_broken; status and verify say so).
drop table embedding_chunks.docs cascade;
select ok(
  (select broken from embeddings.status where name = 'docs') like 'chunk table embedding_chunks.docs does not exist (dropped?); fix: %',
  'a dropped chunk table makes the target broken, with the fix');
select is((select level from embeddings.doctor() where check_name = 'target_broken'), 'error',
  'doctor reports it under target_broken');
select is((select level from embeddings.doctor() where check_name = 'chunk_tables'), 'ok',
  'and chunk_tables leaves a broken target to target_broken');

select * from finish();
rollback;
