-- Every table the API can reach has row-level security, and music_knowledge has exactly the policies it should.
begin;
create extension if not exists pgtap with schema extensions;
select plan(4);

select is_empty(
  $$ select format('%I.%I', n.nspname, c.relname)
     from pg_catalog.pg_class c
     join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname in ('public', 'embeddings')
       and c.relkind in ('r', 'p')
       and not c.relrowsecurity $$,
  'every table in public and embeddings has row-level security enabled'
);

select policies_are(
  'public', 'music_knowledge',
  array['Anyone can read music knowledge'],
  'music_knowledge has only the read policy'
);

select policy_cmd_is(
  'public', 'music_knowledge', 'Anyone can read music knowledge', 'select',
  'the only policy on music_knowledge is for select'
);

select policy_roles_are(
  'public', 'music_knowledge', 'Anyone can read music knowledge', array['anon', 'authenticated'],
  'anon and authenticated may read music_knowledge'
);

select * from finish();
rollback;
