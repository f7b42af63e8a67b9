-- 140 embeddings.doctor(): the app as migrated passes every check; then each of the seed's failure
-- modes is planted in this transaction (rolled back at the end) and doctor must report it with the
-- right check, level and subject, and a fix.
begin;
\ir ../fixtures/test_helpers.psql
set local client_min_messages = warning;  -- no notices from the drops below
create extension if not exists pgtap with schema extensions;
select plan(50);

-- Earlier runs of the Deno tests leave dispatch history behind; the app as migrated has none.
delete from embeddings.dispatches;

create temporary view findings as select * from embeddings.doctor();
create temporary table expected_checks (check_name text primary key);
insert into expected_checks values
  ('rls_disabled'), ('client_can_write_vector'), ('client_write_silently_filtered'),
  ('definer_search_path'), ('definer_client_executable'), ('engine_client_executable'),
  ('vector_in_public'), ('schedule_prerequisites'), ('service_key_kind'), ('accepted_keys'),
  ('dispatch_failures'), ('skipped_targets'), ('time_budget'), ('target_broken'), ('chunk_tables'),
  ('content_columns');

-- =============================================================================================
-- A healthy database
-- =============================================================================================
select is_empty(
  $$ select level, check_name, subject, finding from findings where level <> 'ok' $$,
  'the app as migrated: no error and no warning'
);
select set_eq(
  $$ select check_name from findings $$,
  $$ select check_name from expected_checks $$,
  'one ok row for each of the 16 checks'
);
select results_eq(
  $$ select d.check_name from embeddings.doctor() with ordinality as d(level, check_name, subject, finding, fix, n)
     order by d.n $$,
  $$ values ('rls_disabled'::text), ('client_can_write_vector'), ('client_write_silently_filtered'),
            ('definer_search_path'), ('definer_client_executable'), ('engine_client_executable'),
            ('vector_in_public'), ('schedule_prerequisites'), ('service_key_kind'), ('accepted_keys'),
            ('dispatch_failures'), ('skipped_targets'), ('time_budget'), ('target_broken'), ('chunk_tables'),
            ('content_columns') $$,
  'the checks answer in their documented order'
);
select is_empty(
  $$ select check_name from findings where level = 'ok' and (subject is not null or fix is not null or finding = '') $$,
  'an ok row has no subject and no fix, and says what was checked'
);
select tests.authenticate_as_service_role();
select is((select count(*)::int from embeddings.doctor()), 16, 'service_role can run doctor');
select tests.clear_authentication();

-- =============================================================================================
-- rls_disabled
-- =============================================================================================
create table public.doctor_open_table (id integer primary key, note text);
select results_eq(
  $$ select level, fix from findings where check_name = 'rls_disabled' and subject = 'public.doctor_open_table' $$,
  $$ values ('error'::text,
       'alter table public.doctor_open_table enable row level security; -- then add a policy for each thing clients may do (none: only service_role reaches it)'::text) $$,
  'a public table without RLS is an error, with the alter table that fixes it'
);
create schema doctor_api;
create table doctor_api.open_items (id integer primary key);
set local pgrst.db_schemas = 'doctor_api';
select results_eq(
  $$ select subject from findings where check_name = 'rls_disabled' order by subject $$,
  $$ values ('doctor_api.open_items'::text) $$,
  'with pgrst.db_schemas set, the schemas it names (and embeddings) are the exposed ones, not public'
);
reset pgrst.db_schemas;
-- PostgREST's in-database configuration: a setting of the authenticator role.
alter role authenticator set pgrst.db_schemas = 'doctor_api, graphql_public';
select results_eq(
  $$ select subject from findings where check_name = 'rls_disabled' order by subject $$,
  $$ values ('doctor_api.open_items'::text) $$,
  'the authenticator role''s pgrst.db_schemas setting is read too'
);
alter role authenticator reset pgrst.db_schemas;
alter table public.doctor_open_table enable row level security;
drop schema doctor_api cascade;
select is(
  (select level from findings where check_name = 'rls_disabled'), 'ok',
  'with RLS on again, rls_disabled passes'
);

-- =============================================================================================
-- client_can_write_vector / client_write_silently_filtered
-- =============================================================================================
select tests.create_target('doctor_vectors', 2);
-- Supabase's default privileges grant every new table in public to the API roles.
select results_eq(
  $$ select level, subject, finding ~ '^role anon has the INSERT and UPDATE privilege' from findings
     where check_name = 'client_write_silently_filtered' and finding like 'role anon %' $$,
  $$ values ('warning'::text, 'public.doctor_vectors.embedding'::text, true) $$,
  'Supabase''s default grant on a new target table, RLS on and no policy: a warning (the seed''s silent 0 rows)'
);
select is(
  (select fix from findings where check_name = 'client_write_silently_filtered' and finding like 'role anon %'),
  'revoke insert on public.doctor_vectors from anon; grant insert (id, title, body, rank) on public.doctor_vectors to anon; '
    || 'revoke update on public.doctor_vectors from anon; grant update (id, title, body, rank) on public.doctor_vectors to anon; '
    || '-- so a client''s write fails loudly with permission denied',
  'its fix revokes the table-wide grant and grants back every column but the vector'
);
select results_eq(
  $$ select d.level, d.check_name, d.finding ~ '^role anon ' from embeddings.doctor() with ordinality
       as d(level, check_name, subject, finding, fix, n)
     where d.check_name like 'client\_%' order by d.n $$,
  $$ values ('warning'::text, 'client_write_silently_filtered'::text, true),
            ('warning', 'client_write_silently_filtered', false),
            ('ok', 'client_can_write_vector', false) $$,
  'a pair of checks answers its findings first, by target and role, then the ok row of the check that found nothing'
);
revoke all on public.doctor_vectors from anon, authenticated;
select is_empty(
  $$ select subject from findings where check_name like 'client\_%' and level <> 'ok' $$,
  'with the grants revoked, no client can write the vector column'
);
grant update (embedding) on public.doctor_vectors to anon;
select results_eq(
  $$ select level, subject, fix from findings where check_name like 'client\_%' and level <> 'ok' $$,
  $$ values ('warning'::text, 'public.doctor_vectors.embedding'::text,
       'revoke update (embedding) on public.doctor_vectors from anon; -- so a client''s write fails loudly with permission denied'::text) $$,
  'grant update (embedding) to anon without a policy: client_write_silently_filtered, a warning, fixed by a column revoke'
);
select is(
  (select level from findings where check_name = 'client_can_write_vector'), 'ok',
  'and client_can_write_vector still passes'
);
create policy doctor_restrictive_updates on public.doctor_vectors as restrictive for update to anon using (true);
select is(
  (select level from findings where check_name like 'client\_%' and level <> 'ok'), 'warning',
  'a restrictive policy alone lets nothing through: still the warning'
);
drop policy doctor_restrictive_updates on public.doctor_vectors;
create policy doctor_anyone_updates on public.doctor_vectors for update to anon using (true);
select results_eq(
  $$ select level, subject, finding, fix from findings where check_name like 'client\_%' and level <> 'ok' $$,
  $$ values ('error'::text, 'public.doctor_vectors.embedding'::text,
       'role anon can UPDATE the vector column of target doctor_vectors (UPDATE: policy doctor_anyone_updates lets it): a client can store any vector it likes'::text,
       'revoke update (embedding) on public.doctor_vectors from anon; -- vectors are written only by the worker, through embeddings.write_batch'::text) $$,
  'with a permissive update policy for anon: client_can_write_vector, an error naming the policy'
);
select is(
  (select level from findings where check_name = 'client_write_silently_filtered'), 'ok',
  'and client_write_silently_filtered passes'
);
drop policy doctor_anyone_updates on public.doctor_vectors;
create policy doctor_public_writes on public.doctor_vectors for all using (true) with check (true);
select is(
  (select level from findings where check_name = 'client_can_write_vector'), 'error',
  'a FOR ALL policy for PUBLIC lets anon write as well'
);
drop policy doctor_public_writes on public.doctor_vectors;
alter table public.doctor_vectors disable row level security;
select results_eq(
  $$ select level, finding ~ 'UPDATE: row-level security is off' from findings
     where check_name = 'client_can_write_vector' and subject = 'public.doctor_vectors.embedding' $$,
  $$ values ('error'::text, true) $$,
  'with RLS off, the privilege alone lets anon write: an error'
);
select is(
  (select level from findings where check_name = 'rls_disabled' and subject = 'public.doctor_vectors'), 'error',
  'and the table is reported under rls_disabled too'
);
alter table public.doctor_vectors enable row level security;
revoke update (embedding) on public.doctor_vectors from anon;

-- =============================================================================================
-- definer_search_path / definer_client_executable
-- =============================================================================================
create function public.doctor_definer_without_path() returns integer
  language sql security definer as 'select 1';
select results_eq(
  $$ select level, fix from findings where check_name = 'definer_search_path' $$,
  $$ values ('error'::text,
       'alter function public.doctor_definer_without_path() set search_path = ''''; -- then schema-qualify every name its body uses'::text) $$,
  'a SECURITY DEFINER function without search_path is an error, fixed by setting one'
);
select results_eq(
  $$ select level, subject, finding ~ 'can be called by anon and authenticated' from findings
     where check_name = 'definer_client_executable' $$,
  $$ values ('error'::text, 'public.doctor_definer_without_path()'::text, true) $$,
  'Supabase''s default grant makes it executable by anon and authenticated: an error'
);
revoke execute on function public.doctor_definer_without_path() from public, anon, authenticated;
select is(
  (select level from findings where check_name = 'definer_client_executable'), 'ok',
  'revoked from the client roles, it is no longer reported as executable'
);
drop function public.doctor_definer_without_path();
create function public.doctor_definer_for_anon() returns integer
  language sql security definer set search_path = '' as 'select 1';
revoke execute on function public.doctor_definer_for_anon() from public, authenticated;
grant execute on function public.doctor_definer_for_anon() to anon;
select results_eq(
  $$ select level, check_name, subject, finding ~ 'can be called by anon \(' from findings
     where level <> 'ok' and check_name like 'definer\_%' $$,
  $$ values ('error'::text, 'definer_client_executable'::text, 'public.doctor_definer_for_anon()'::text, true) $$,
  'a SECURITY DEFINER function with a search_path but executable by anon: definer_client_executable only'
);
drop function public.doctor_definer_for_anon();
create function public.doctor_definer_trigger() returns trigger
  language plpgsql security definer set search_path = '' as 'begin return new; end;';
select is(
  (select level from findings where check_name = 'definer_client_executable'), 'ok',
  'a SECURITY DEFINER trigger function cannot be called directly, so EXECUTE on it is not reported'
);
drop function public.doctor_definer_trigger();

-- =============================================================================================
-- vector_in_public
-- =============================================================================================
alter extension vector set schema public;
select results_eq(
  $$ select level, subject from findings where check_name = 'vector_in_public' $$,
  $$ values ('warning'::text, 'extension vector'::text) $$,
  'pgvector in public is a warning'
);
alter extension vector set schema extensions;
select is((select level from findings where check_name = 'vector_in_public'), 'ok',
  'back in extensions, it passes');

-- =============================================================================================
-- schedule_prerequisites
-- =============================================================================================
update embeddings.dispatch_settings set enabled = true;
select is(
  (select level from findings where check_name = 'schedule_prerequisites'), 'ok',
  'the schedule on, with pg_cron, pg_net and both Vault secrets: ok'
);
update embeddings.dispatch_settings set project_url_secret = 'doctor_missing_url';
select results_eq(
  $$ select level, subject, fix from findings where check_name = 'schedule_prerequisites' $$,
  $$ values ('error'::text, 'Vault secret doctor_missing_url'::text,
       'select vault.create_secret(''https://<project-ref>.supabase.co'', ''doctor_missing_url'');'::text) $$,
  'the schedule on and the project URL secret missing: an error with the vault.create_secret call'
);
update cron.job set active = false where jobname = 'embeddings-dispatch';
select results_eq(
  $$ select subject from findings where check_name = 'schedule_prerequisites' order by subject $$,
  $$ values ('Vault secret doctor_missing_url'::text), ('cron job embeddings-dispatch') $$,
  'the cron job deactivated behind the settings'' back is reported too'
);
update embeddings.dispatch_settings set enabled = false, project_url_secret = 'project_url';
select is(
  (select level from findings where check_name = 'schedule_prerequisites'), 'ok',
  'with the schedule off, its prerequisites are not needed'
);

-- =============================================================================================
-- service_key_kind (the key itself must never appear in the output)
-- =============================================================================================
-- The local anon key of `supabase start`: a JWT whose role is anon.
select vault.create_secret(
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0',
  'doctor_anon_key');
update embeddings.dispatch_settings set service_key_secret = 'doctor_anon_key';
select results_eq(
  $$ select level, subject, finding ~ 'a JWT whose role is ''anon'', not service_role' from findings
     where check_name = 'service_key_kind' $$,
  $$ values ('error'::text, 'Vault secret doctor_anon_key'::text, true) $$,
  'an anon JWT as the service key is an error naming the secret and the role'
);
select is_empty(
  $$ select 1 from findings as f, vault.decrypted_secrets as s
     where s.name = 'doctor_anon_key'
       and (f.finding like '%' || s.decrypted_secret || '%' or f.fix like '%' || s.decrypted_secret || '%'
            or f.finding like '%' || pg_catalog.split_part(s.decrypted_secret, '.', 2) || '%') $$,
  'the key is never printed'
);
select vault.create_secret('sb_publishable_doctor0123456789abcdef', 'doctor_publishable_key');
update embeddings.dispatch_settings set service_key_secret = 'doctor_publishable_key';
select results_eq(
  $$ select level, subject, finding not like '%doctor0123456789abcdef%' from findings where check_name = 'service_key_kind' $$,
  $$ values ('error'::text, 'Vault secret doctor_publishable_key'::text, true) $$,
  'a publishable key as the service key is an error, and not printed'
);
select vault.create_secret('sb_secret_doctor0123456789abcdef', 'doctor_secret_key');
update embeddings.dispatch_settings set service_key_secret = 'doctor_secret_key';
select is((select level from findings where check_name = 'service_key_kind'), 'ok',
  'an sb_secret_ key passes');
-- A service_role JWT whose payload needs base64url's alphabet and padding to decode.
select vault.create_secret(
  'eyJhbGciOiJIUzI1NiJ9.' || pg_catalog.rtrim(pg_catalog.translate(pg_catalog.encode(pg_catalog.convert_to(
    '{"role":"service_role","note":"???>>>~~~a"}', 'UTF8'), 'base64'), '+/', '-_'), '=') || '.c2lnbmF0dXJl',
  'doctor_service_jwt');
select ok(
  (select decrypted_secret ~ '[-_]' and pg_catalog.length(pg_catalog.split_part(decrypted_secret, '.', 2)) % 4 <> 0
   from vault.decrypted_secrets where name = 'doctor_service_jwt'),
  'the planted service_role JWT uses - or _ and is unpadded'
);
update embeddings.dispatch_settings set service_key_secret = 'doctor_service_jwt';
select is((select level from findings where check_name = 'service_key_kind'), 'ok',
  'a service_role JWT in base64url passes');
select vault.create_secret('not-a-key-at-all', 'doctor_garbage_key');
update embeddings.dispatch_settings set service_key_secret = 'doctor_garbage_key';
select is((select level from findings where check_name = 'service_key_kind'), 'error',
  'a secret that is neither a JWT nor an sb_secret_ key is an error');
update embeddings.dispatch_settings set service_key_secret = default;

-- =============================================================================================
-- dispatch_failures
-- =============================================================================================
insert into embeddings.dispatches (queued_rows, outcome, status_code, error, finished_at)
  values (40, 'succeeded', 200, null, now() - interval '3 minutes'),
         (40, 'failed', 500, 'HTTP 500: provider down', now() - interval '2 minutes');
select results_eq(
  $$ select level, subject, finding ~ '^1 of the last day''s 2 dispatches did not succeed \(1 failed, 0 timed out, 0 not sent\); the latest finished one failed at .*; the last error: HTTP 500: provider down$'
     from findings where check_name = 'dispatch_failures' $$,
  $$ values ('error'::text, 'embeddings.dispatches'::text, true) $$,
  'the latest dispatch failed: an error with the count and the last error'
);
insert into embeddings.dispatches (queued_rows, outcome, status_code, error, finished_at)
  values (40, 'succeeded', 200, null, now() - interval '1 minute');
select is((select level from findings where check_name = 'dispatch_failures'), 'warning',
  'failures earlier in the day, the latest a success: a warning');
insert into embeddings.dispatches (queued_rows, outcome, error, finished_at)
  values (40, 'timed out', 'Timeout of 120000 ms reached', now());
select results_eq(
  $$ select level, fix ~ 'request_timeout_ms' from findings where check_name = 'dispatch_failures' $$,
  $$ values ('error'::text, true) $$,
  'the latest timed out: an error whose fix is about the timeout'
);
delete from embeddings.dispatches;

-- =============================================================================================
-- time_budget
-- =============================================================================================
-- The settings refuse a budget over 140 s; a database set up before that limit may hold one.
alter table embeddings.dispatch_settings drop constraint dispatch_settings_time_budget_ms_check;
update embeddings.dispatch_settings set request_timeout_ms = 230000, time_budget_ms = 200000;
select results_eq(
  $$ select level, subject, fix from findings where check_name = 'time_budget' $$,
  $$ values ('error'::text, 'embeddings.dispatch_settings.time_budget_ms'::text,
       'update embeddings.dispatch_settings set time_budget_ms = 50000; -- the default; at most 150000, and below request_timeout_ms'::text) $$,
  'a 200 s time budget is over the platform''s 150 s: an error that lowers it'
);
update embeddings.dispatch_settings set time_budget_ms = 150000;
select is((select level from findings where check_name = 'time_budget'), 'ok', 'exactly 150 s passes');

-- =============================================================================================
-- target_broken
-- =============================================================================================
select tests.create_target('doctor_broken', 1);
drop function public.doctor_broken_content(public.doctor_broken);
select results_eq(
  $$ select level, subject, finding from findings where check_name = 'target_broken' $$,
  $$ select 'error'::text, 'doctor_broken'::text,
       pg_catalog.format('target doctor_broken (id %s): content function public.doctor_broken_content(public.doctor_broken) does not exist',
         tests.target_id('doctor_broken')) $$,
  'a target whose content function was dropped is an error naming the target and the function'
);
select tests.create_target('doctor_resized', 0);
alter table public.doctor_resized alter column embedding type extensions.vector(4);
select results_eq(
  $$ select finding ~ 'holds vector\(4\) but model test-model makes 3 dimensions' from findings
     where check_name = 'target_broken' and subject = 'doctor_resized' $$,
  $$ values (true) $$,
  'a target whose column''s dimensions changed is an error saying both sizes'
);
select tests.create_target('doctor_untriggered', 0);
do $$
begin
  execute pg_catalog.format('drop trigger %I on public.doctor_untriggered',
    'embeddings_queue_' || tests.target_id('doctor_untriggered'));
end;
$$;
select results_eq(
  $$ select finding ~ 'its sync trigger embeddings_queue_\d+ is missing or disabled', fix ~ '^select embeddings.unregister_target'
     from findings where check_name = 'target_broken' and subject = 'doctor_untriggered' $$,
  $$ values (true, true) $$,
  'a target whose sync trigger was dropped is an error, fixed by registering it again'
);
drop table public.doctor_untriggered cascade;  -- and its content function
select results_eq(
  $$ select finding ~ 'table public.doctor_untriggered does not exist \(dropped\?\)' from findings
     where check_name = 'target_broken' and subject = 'doctor_untriggered' $$,
  $$ values (true) $$,
  'a target whose table was dropped is an error'
);

-- =============================================================================================
-- A check that cannot run is an error row of that check; the others still run
-- =============================================================================================
alter table embeddings.dispatches rename to dispatches_moved_away;
select results_eq(
  $$ select level, finding ~ '^the check could not run: ' from findings where check_name = 'dispatch_failures' $$,
  $$ values ('error'::text, true) $$,
  'with embeddings.dispatches gone, dispatch_failures is an error row saying the check could not run'
);
select set_eq(
  $$ select distinct check_name from findings $$,
  $$ select check_name from expected_checks $$,
  'and every other check still reports'
);

select * from finish();
rollback;
