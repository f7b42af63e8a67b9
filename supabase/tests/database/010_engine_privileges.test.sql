-- 010 Engine privileges: only service_role may run the API, and not the `_` internals; clients get
-- nothing in the embeddings schema (search's own checks are in 230); no engine function is
-- executable by PUBLIC; every function is SECURITY DEFINER-safe and every object documented.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(19);

-- Clients: nothing at all.
select ok(
  not has_function_privilege('anon', 'embeddings.write_batch(bigint, uuid, text, jsonb)', 'execute')
    and not has_function_privilege('authenticated', 'embeddings.write_batch(bigint, uuid, text, jsonb)', 'execute'),
  'anon and authenticated cannot execute write_batch'
);
select ok(
  not has_function_privilege('anon', 'embeddings.claim_batch(bigint, integer, integer)', 'execute')
    and not has_function_privilege('authenticated', 'embeddings.claim_batch(bigint, integer, integer)', 'execute'),
  'anon and authenticated cannot execute claim_batch'
);
select is_empty(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc as p
     cross join lateral pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) as acl
     where (p.pronamespace in ('embeddings'::regnamespace, 'embedding_search'::regnamespace)
            or p.oid = 'public.search_embeddings'::regproc)
       and acl.privilege_type = 'EXECUTE' and acl.grantee = 0 $$,
  'no function of the engine (embeddings, embedding_search, public.search_embeddings) is executable by PUBLIC'
);
select ok(
  not has_schema_privilege('anon', 'embeddings', 'usage')
    and not has_schema_privilege('authenticated', 'embeddings', 'usage'),
  'anon and authenticated cannot even use the embeddings schema'
);
set local role anon;
select throws_ok(
  $$ select * from embeddings.write_batch(1, gen_random_uuid(), 'gte-small', '[]'::jsonb) $$,
  '42501', null,
  'anon calling write_batch gets permission denied'
);
select tests.clear_authentication();
select tests.authenticate_as('11111111-1111-4111-8111-111111111111');
select throws_ok(
  $$ select * from embeddings.claim_batch(1, 10, 60) $$,
  '42501', null,
  'authenticated calling claim_batch gets permission denied'
);
select tests.clear_authentication();

-- service_role: the API listed in the privileges migration, and nothing else.
select ok(
  has_function_privilege('service_role', 'embeddings.write_batch(bigint, uuid, text, jsonb)', 'execute')
    and has_function_privilege('service_role', 'embeddings.claim_batch(bigint, integer, integer)', 'execute'),
  'service_role can execute claim_batch and write_batch'
);
select set_eq(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc as p
     where p.pronamespace = 'embeddings'::regnamespace and has_function_privilege('service_role', p.oid, 'execute') $$,
  $$ select f::regprocedure::text from unnest(array[
       'embeddings.default_model()',
       'embeddings.register_target(regclass, name, regprocedure, name, text, integer, integer, text, jsonb)',
       'embeddings.default_chunking()',
       'embeddings.set_target_chunking(bigint, jsonb)',
       'embeddings.chunk_table(bigint)',
       'embeddings.start_model_change(bigint, text, integer, name, text)',
       'embeddings.switch_model_change(bigint, boolean)',
       'embeddings.rollback_model_change(bigint)',
       'embeddings.finish_model_change(bigint)',
       'embeddings.model_change_status()',
       'embeddings.write_chunks(bigint, uuid, text, jsonb)',
       'embeddings.write_chunks(bigint, uuid, text, text[], text[], integer[], integer[], integer[], text[], text[])',
       'embeddings.unregister_target(bigint)',
       'embeddings.set_target_model(bigint, text, integer)',
       'embeddings.queue_backfill_chunk(bigint, integer)',
       'embeddings.set_target_options(bigint, boolean, boolean)',
       'embeddings.run_option_limits()',
       'embeddings.claim_batch(bigint, integer, integer)',
       'embeddings.write_batch(bigint, uuid, text, jsonb)',
       'embeddings.write_batch(bigint, uuid, text, text[], text[], text[])',
       'embeddings.fail_rows(bigint, uuid, jsonb)',
       'embeddings.release_batch(bigint, uuid, text[])',
       'embeddings.requeue_dead(bigint, text[])',
       'embeddings.requeue_target(bigint)',
       'embeddings.dispatch_embed_requests(boolean)',
       'embeddings.collect_dispatch_outcomes()',
       'embeddings.follow_on_dispatch(bigint)',
       'embeddings.dispatch_status()',
       'embeddings.status(bigint)',
       'embeddings.verify_checks()',
       'embeddings.verify(bigint, boolean, integer)',
       'embeddings.doctor()',
       'embeddings.estimate_backfill(bigint, numeric, integer)',
       'embeddings.take_rate_limit(text, integer, integer)']) as f $$,
  'service_role can execute exactly the API the privileges migration lists'
);
select is_empty(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc as p
     where p.pronamespace = 'embeddings'::regnamespace and p.proname like '\_%'
       and has_function_privilege('service_role', p.oid, 'execute') $$,
  'service_role cannot execute any `_`-prefixed internal'
);
select tests.authenticate_as_service_role();
select throws_ok(
  $$ select embeddings._check_run_option('batch_size', 10) $$,
  '42501', 'permission denied for function _check_run_option',
  'service_role calling an internal directly gets permission denied'
);
select tests.clear_authentication();
select is_empty(
  $$ select format('%I.%I: %s', n.nspname, c.relname, acl.privilege_type)
     from pg_catalog.pg_class as c
     join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
     cross join lateral pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))) as acl
     where n.nspname = 'embeddings' and c.relkind in ('r', 'p', 'v')
       and acl.grantee = 'service_role'::regrole and acl.privilege_type <> 'SELECT' $$,
  'service_role may read every table and view in embeddings, and write none directly'
);

-- Definer functions are safe.
select is_definer('embeddings', 'claim_batch', array['bigint', 'integer', 'integer'],
  'claim_batch is SECURITY DEFINER');
select is_definer('embeddings', 'write_batch', array['bigint', 'uuid', 'text', 'jsonb'],
  'write_batch is SECURITY DEFINER');
select is_definer('embeddings', 'fail_rows', array['bigint', 'uuid', 'jsonb'],
  'fail_rows is SECURITY DEFINER');
select is_definer('embeddings', 'requeue_dead', array['bigint', 'text[]'],
  'requeue_dead is SECURITY DEFINER');
select is_empty(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc as p
     where p.pronamespace = 'embeddings'::regnamespace and p.prosecdef
       and not coalesce('search_path=""' = any(p.proconfig), false) $$,
  'every SECURITY DEFINER function in embeddings sets search_path to empty'
);

-- Tables are closed and every object says what it is.
select is_empty(
  $$ select c.oid::regclass::text from pg_catalog.pg_class as c
     where c.relnamespace = 'embeddings'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity $$,
  'every table in embeddings has row-level security enabled'
);
select is_empty(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc as p
     where p.pronamespace = 'embeddings'::regnamespace and pg_catalog.obj_description(p.oid, 'pg_proc') is null $$,
  'every function in embeddings has a comment'
);
select is_empty(
  $$ select format('%I.%I', n.nspname, c.relname) from pg_catalog.pg_class as c
     join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
     where n.nspname = 'embeddings' and c.relkind in ('r', 'p', 'v', 'm')
       and pg_catalog.obj_description(c.oid, 'pg_class') is null $$,
  'every table and view in embeddings has a comment'
);

select * from finish();
rollback;
