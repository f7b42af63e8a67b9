-- 000 The shared fixture's helpers (supabase/tests/fixtures/test_helpers.psql) do what their comments say.
-- Like every file here it includes the fixture inside its own transaction, so it needs no other file to run first.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(30);

select has_schema('tests', 'the schema tests exists');
select functions_are('tests', array[
    'key_of', 'create_table', 'create_target', 'target_id', 'vector_json', 'one_hot', 'batch_item',
    'claim_and_write', 'claim_and_fail', 'claim_into', 'create_embedded_target', 'functions_executable_by_public',
    'create_user', 'authenticate_as',
    'authenticate_as_service_role', 'clear_authentication'],
  'tests holds exactly the documented helpers');
select is_empty(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc as p
     where p.pronamespace = 'tests'::regnamespace
       and (pg_catalog.obj_description(p.oid, 'pg_proc') is null
            or not coalesce('search_path=""' = any(p.proconfig), false)) $$,
  'every helper has a comment and an empty search_path'
);
select is_empty(
  $$ select * from tests.functions_executable_by_public('tests') $$,
  'no helper is executable by PUBLIC'
);
create schema helper_acl;
create function helper_acl.open_to_all() returns integer language sql as 'select 1';
create function helper_acl.granted() returns integer language sql as 'select 1';
revoke execute on function helper_acl.granted() from public;
select results_eq(
  $$ select * from tests.functions_executable_by_public('helper_acl') $$,
  $$ values ('helper_acl.open_to_all()'::text) $$,
  'functions_executable_by_public lists a function PUBLIC may execute, not one revoked from PUBLIC'
);
select ok(
  not has_function_privilege('service_role', 'tests.create_target(text, integer, integer, text, text, integer)',
    'execute')
    and not has_function_privilege('authenticated', 'tests.authenticate_as(uuid)', 'execute'),
  'only postgres sets up: create_target and authenticate_as are not granted to the roles tests act as'
);

-- key_of and create_table
select is(tests.key_of(7, 'uuid'), '00000000-0000-4000-8000-000000000007', 'key_of gives row 7''s uuid key');
select throws_ok(
  $$ select tests.create_table('helper_bad_key', 0, 3, 'numeric') $$,
  '22023', 'key_type must be bigint, integer, uuid or text, got numeric',
  'create_table refuses a key type the engine does not support'
);
create temporary table created_table as select tests.create_table('helper_table', 2, 4, 'uuid') as created;
select is((select created from created_table), 'public.helper_table'::regclass,
  'create_table returns the table it created');
select col_type_is('public', 'helper_table', 'embedding', 'extensions', 'vector(4)',
  'its embedding column has the requested dimensions');
select results_eq(
  $$ select id::text, public.helper_table_content(t) from public.helper_table as t order by id $$,
  $$ values ('00000000-0000-4000-8000-000000000001', 'row 1'), ('00000000-0000-4000-8000-000000000002', 'row 2') $$,
  'it holds row_count rows keyed by key_of, and the content function gives their title'
);
update public.helper_table set body = 'more' where id = '00000000-0000-4000-8000-000000000001';
select is(
  (select public.helper_table_content(t) from public.helper_table as t
   where id = '00000000-0000-4000-8000-000000000001'),
  'row 1: more', 'with a body the content is "title: body"'
);

-- create_target and target_id
create temporary table created_target as select tests.create_target('helper_target', 3) as id;
select is((select id from created_target), tests.target_id('helper_target'),
  'create_target returns the id target_id finds by the table''s name');
select is(
  (select format('%s: %s, %s, %s dimensions, %s attempts',
     table_name, content_function, model, dimensions, max_attempts)
   from embeddings.targets where id = tests.target_id('helper_target')),
  'helper_target: public.helper_target_content(public.helper_target), test-model, 3 dimensions, 5 attempts',
  'the target is registered with its content function, test-model, 3 dimensions and 5 attempts'
);
select is(
  (select pending from embeddings.status(tests.target_id('helper_target'))), 3::bigint,
  'its 3 rows are queued'
);
insert into public.helper_target (title) values ('row 4');
select is((select max(id) from public.helper_target), 4::bigint, 'a row inserted without an id continues the keys');
select throws_ok(
  $$ select tests.target_id('no_such_target') $$,
  'P0002', 'no embedding target named no_such_target',
  'target_id of an unknown name is an error'
);

-- Vectors and batches
select is(tests.vector_json(3), '[0.05, 0.05, 0.05]'::jsonb, 'vector_json(3) is three 0.05s');
select is(tests.one_hot(4, 2), '[0, 1, 0, 0]'::jsonb, 'one_hot(4, 2) is 1 at position 2 only');
select is(
  tests.batch_item('k', 'h', '[1]'),
  '{"key": "k", "content_hash": "h", "embedding": [1]}'::jsonb,
  'batch_item builds a write_batch item'
);
select tests.authenticate_as_service_role();
select is(
  (select written_keys from tests.claim_and_write(tests.target_id('helper_target'))),
  array['1', '2', '3', '4'],
  'claim_and_write, as service_role, claims and writes every queued row'
);
select tests.clear_authentication();
select tests.create_target('helper_failing', 2, 3, 'bigint', 'test-model', 1);
select tests.authenticate_as_service_role();
select results_eq(
  $$ select retrying_keys, dead_keys from tests.claim_and_fail(tests.target_id('helper_failing'),
       '[{"key": "2", "error": "rejected"}]') $$,
  $$ values ('{}'::text[], array['2']) $$,
  'claim_and_fail, as service_role, claims the rows and fails the ones named (max_attempts 1: dead)'
);
select tests.clear_authentication();
select tests.create_target('helper_claimed', 2);
select tests.claim_into('helper_claim', 'helper_claimed', 1, 30);
select is(
  format('%s; %s row in helper_claim, owned by %s', current_user,
    (select count(*) from helper_claim),
    (select tableowner from pg_catalog.pg_tables where tablename = 'helper_claim')),
  'postgres; 1 row in helper_claim, owned by service_role',
  'claim_into claims as service_role into a temporary table service_role owns, and goes back to postgres'
);
select ok(
  (select leased_until between now() + interval '29 seconds' and now() + interval '31 seconds'
   from embeddings.queue where lease_token = (select lease_token from helper_claim)),
  'with the batch size and lease asked for'
);
select is(
  (select array[embedded, pending] from embeddings.status(tests.create_embedded_target('helper_embedded', 3))),
  array[3, 0]::bigint[],
  'create_embedded_target registers the table and embeds every row'
);
select is(current_user::text, 'postgres', 'and goes back to postgres');

-- Users and roles
select tests.create_user('aaaaaaaa-0000-4000-8000-00000000000a', 'helper@example.com');
select tests.authenticate_as('aaaaaaaa-0000-4000-8000-00000000000a');
select is(
  current_user || ' as ' || coalesce(auth.uid()::text, 'nobody'),
  'authenticated as aaaaaaaa-0000-4000-8000-00000000000a',
  'authenticate_as acts as that user: role authenticated, auth.uid() is the user'
);
select tests.clear_authentication();
select is(
  current_user || ' as ' || coalesce(auth.uid()::text, 'nobody'),
  'postgres as nobody',
  'clear_authentication goes back to postgres with no user'
);
select tests.authenticate_as_service_role();
select is(current_user::text, 'service_role', 'authenticate_as_service_role acts as service_role');
select tests.clear_authentication();
select is(
  (select email from auth.users where id = 'aaaaaaaa-0000-4000-8000-00000000000a'), 'helper@example.com',
  'create_user added the user to auth.users'
);

select * from finish();
rollback;
