-- Only service_role may run the worker API; each function is SECURITY DEFINER with an empty search_path.
begin;
create extension if not exists pgtap with schema extensions;
select plan(14);

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
select ok(
  has_function_privilege('service_role', 'embeddings.write_batch(bigint, uuid, text, jsonb)', 'execute')
    and has_function_privilege('service_role', 'embeddings.claim_batch(bigint, integer, integer)', 'execute'),
  'service_role can execute claim_batch and write_batch'
);
select is_empty(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc p
     join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) as acl
     where n.nspname = 'embeddings' and acl.privilege_type = 'EXECUTE' and acl.grantee = 0 $$,
  'no function in the embeddings schema is executable by PUBLIC'
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
reset role;
set local role authenticated;
select throws_ok(
  $$ select * from embeddings.claim_batch(1, 10, 60) $$,
  '42501', null,
  'authenticated calling claim_batch gets permission denied'
);
reset role;

select is_definer('embeddings', 'claim_batch', array['bigint', 'integer', 'integer'],
  'claim_batch is SECURITY DEFINER');
select is_definer('embeddings', 'write_batch', array['bigint', 'uuid', 'text', 'jsonb'],
  'write_batch is SECURITY DEFINER');
select is_definer('embeddings', 'fail_rows', array['bigint', 'uuid', 'jsonb'],
  'fail_rows is SECURITY DEFINER');
select is_definer('embeddings', 'requeue_dead', array['bigint', 'text[]'],
  'requeue_dead is SECURITY DEFINER');

select is_empty(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc p
     join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'embeddings' and p.prosecdef
       and not coalesce('search_path=""' = any(p.proconfig), false) $$,
  'every SECURITY DEFINER function in embeddings sets search_path to empty'
);
select is_empty(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc p
     join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'embeddings' and obj_description(p.oid, 'pg_proc') is null $$,
  'every function in embeddings has a comment'
);
select is_empty(
  $$ select p.proname::text from pg_catalog.pg_proc p
     join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'embeddings'
       and p.proname in ('pending_music_knowledge', 'write_music_knowledge_embeddings', 'music_knowledge_embedding_counts') $$,
  'the first release''s music_knowledge-only API is gone: one API for every target'
);

select * from finish();
rollback;
