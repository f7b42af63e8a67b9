-- Only service_role may run the engine's API; each function is SECURITY DEFINER with an empty search_path.
begin;
create extension if not exists pgtap with schema extensions;
select plan(15);

select ok(
  not has_function_privilege('anon', 'embeddings.write_music_knowledge_embeddings(jsonb)', 'execute'),
  'anon cannot execute write_music_knowledge_embeddings'
);
select ok(
  not has_function_privilege('authenticated', 'embeddings.write_music_knowledge_embeddings(jsonb)', 'execute'),
  'authenticated cannot execute write_music_knowledge_embeddings'
);
select ok(
  has_function_privilege('service_role', 'embeddings.write_music_knowledge_embeddings(jsonb)', 'execute'),
  'service_role can execute write_music_knowledge_embeddings'
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
  $$ select * from embeddings.write_music_knowledge_embeddings('[]'::jsonb) $$,
  '42501', null,
  'anon calling the write function gets permission denied'
);
reset role;
set local role authenticated;
select throws_ok(
  $$ select * from embeddings.write_music_knowledge_embeddings('[]'::jsonb) $$,
  '42501', null,
  'authenticated calling the write function gets permission denied'
);
reset role;

select is_definer('embeddings', 'write_music_knowledge_embeddings', array['jsonb'],
  'write_music_knowledge_embeddings is SECURITY DEFINER');
select is_definer('embeddings', 'pending_music_knowledge', array['uuid', 'integer'],
  'pending_music_knowledge is SECURITY DEFINER');
select is_definer('embeddings', 'music_knowledge_embedding_counts', array[]::text[],
  'music_knowledge_embedding_counts is SECURITY DEFINER');

select is_empty(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc p
     join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'embeddings' and p.prosecdef
       and not coalesce('search_path=""' = any(p.proconfig), false) $$,
  'every SECURITY DEFINER function in embeddings sets search_path to empty'
);

select is(
  obj_description('embeddings.write_music_knowledge_embeddings(jsonb)'::regprocedure, 'pg_proc') is not null,
  true,
  'the write function is documented with a comment'
);
select is_empty(
  $$ select p.oid::regprocedure::text from pg_catalog.pg_proc p
     join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'embeddings' and obj_description(p.oid, 'pg_proc') is null $$,
  'every function in embeddings has a comment'
);

select ok(
  has_function_privilege('service_role', 'embeddings.pending_music_knowledge(uuid, integer)', 'execute')
    and not has_function_privilege('anon', 'embeddings.pending_music_knowledge(uuid, integer)', 'execute'),
  'pending_music_knowledge: service_role yes, anon no'
);
select ok(
  has_function_privilege('service_role', 'embeddings.music_knowledge_embedding_counts()', 'execute')
    and not has_function_privilege('authenticated', 'embeddings.music_knowledge_embedding_counts()', 'execute'),
  'music_knowledge_embedding_counts: service_role yes, authenticated no'
);

select * from finish();
rollback;
