-- 145 doctor's security checks: engine_client_executable (an engine function other than the
-- search's executable by anon, authenticated or PUBLIC) and accepted_keys (the embed function
-- still accepts legacy keys, by its latest answer to the dispatch).
begin;
\ir ../fixtures/test_helpers.psql
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(8);

delete from embeddings.dispatches;

-- =============================================================================================
-- engine_client_executable
-- =============================================================================================
select is(
  (select level from embeddings.doctor() where check_name = 'engine_client_executable'), 'ok',
  'as migrated, clients can execute nothing in the engine but the search and its plan'
);
-- A function added later is not executable by PUBLIC (the privileges migration's event trigger),
-- but a grant nobody meant is still found.
create function embedding_search._added_later() returns integer language sql set search_path = '' as $$ select 1 $$;
comment on function embedding_search._added_later() is 'A step added after the privileges migration.';
grant execute on function embedding_search._added_later() to anon;
grant execute on function embeddings.status(bigint) to authenticated;
select results_eq(
  $$ select level, subject, finding ~ 'executable by anon;', fix
     from embeddings.doctor() where check_name = 'engine_client_executable' order by subject $$,
  $$ values
       ('error'::text, 'embedding_search._added_later()'::text, true,
        'revoke execute on function embedding_search._added_later() from public, anon, authenticated;'::text),
       ('error', 'embeddings.status(bigint)', false,
        'revoke execute on function embeddings.status(bigint) from public, anon, authenticated;') $$,
  'a function added later and granted to anon, and one granted to authenticated, are errors, each with its revoke'
);
select ok(
  (select finding ~ 'executable by authenticated;' from embeddings.doctor()
   where check_name = 'engine_client_executable' and subject = 'embeddings.status(bigint)'),
  'the finding names who may execute it'
);
select is(
  (select level from embeddings.doctor() where check_name = 'definer_client_executable'), 'ok',
  'the search''s plan, a definer clients call on purpose, is not a definer_client_executable finding'
);

-- =============================================================================================
-- accepted_keys
-- =============================================================================================
select results_eq(
  $$ select level, finding from embeddings.doctor() where check_name = 'accepted_keys' $$,
  $$ values ('ok'::text, 'no answer of the embed function has said which keys it accepts yet (recorded from the scheduled dispatch)'::text) $$,
  'before any answer says which keys it accepts: ok, saying so'
);
insert into embeddings.dispatches (request_id, queued_rows, outcome, status_code, finished_at, accepted_keys)
  values (1, 10, 'succeeded', 200, now() - interval '1 hour', array['secret key', 'service_role JWT (signing keys)', 'legacy service_role key', 'service_role JWT (legacy HS256 secret)']);
select results_eq(
  $$ select level, subject, finding ~ 'legacy key kinds \(legacy service_role key, service_role JWT \(legacy HS256 secret\)\)', fix ~ 'EMBEDDINGS_ACCEPT_LEGACY_KEYS=false'
     from embeddings.doctor() where check_name = 'accepted_keys' $$,
  $$ values ('warning'::text, 'the embed function'::text, true, true) $$,
  'legacy keys still accepted: a warning naming them, with how to stop accepting them'
);
insert into embeddings.dispatches (request_id, queued_rows, outcome, status_code, finished_at, accepted_keys)
  values (2, 10, 'succeeded', 200, now(), array['secret key', 'service_role JWT (signing keys)']);
select results_eq(
  $$ select level, finding ~ '^the embed function accepts secret key, service_role JWT \(signing keys\), by its answer to dispatch'
     from embeddings.doctor() where check_name = 'accepted_keys' $$,
  $$ values ('ok'::text, true) $$,
  'the latest answer decides: secret keys and JWTs of the signing keys (revoked by rotating them), ok'
);
insert into embeddings.dispatches (request_id, queued_rows, outcome, status_code, finished_at)
  values (3, 10, 'failed', 500, now());
select is(
  (select level from embeddings.doctor() where check_name = 'accepted_keys'), 'ok',
  'an answer without acceptedKeys (a failure) leaves the last one that said'
);

select * from finish();
rollback;
