-- 210 App: every public table has row-level security; clients may read music_knowledge but never write
-- it. The seed's silent failure, pinned down: a client's UPDATE of embedding fails loudly instead of
-- answering success while changing no row.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(12);

select is_empty(
  $$ select format('%I.%I', n.nspname, c.relname) from pg_catalog.pg_class as c
     join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity $$,
  'every table in public has row-level security enabled'
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

-- Start from 20 rows without embeddings; the transaction rolls everything back.
delete from public.music_knowledge;
insert into public.music_knowledge (id, topic, category, suggestion)
select ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'topic_' || i, 'test', 'suggestion ' || i
from generate_series(1, 20) as i;

set local role anon;
select throws_ok(
  format('update public.music_knowledge set embedding = %L', tests.vector_json(384)),
  '42501',
  'permission denied for table music_knowledge',
  'anon''s direct UPDATE of embedding is refused with an error, not a silent 200'
);
select tests.clear_authentication();

select tests.authenticate_as('11111111-1111-4111-8111-111111111111');
select throws_ok(
  format('update public.music_knowledge set embedding = %L', tests.vector_json(384)),
  '42501',
  null,
  'a signed-in user''s direct UPDATE of embedding is refused too'
);
select throws_ok(
  $$ insert into public.music_knowledge (topic, category, suggestion) values ('x', 'y', 'z') $$,
  '42501',
  null,
  'a signed-in user cannot insert music knowledge'
);
select tests.clear_authentication();

select is(
  (select count(*)::int from public.music_knowledge where embedding is not null),
  0,
  'after the client attempts, 0 of 20 rows have an embedding'
);

-- Even with the table privilege the seed's project had (Supabase grants it by default),
-- row-level security without an UPDATE policy filters every row out: no error, nothing written.
grant update on public.music_knowledge to anon;
set local role anon;
select lives_ok(
  format('update public.music_knowledge set embedding = %L', tests.vector_json(384)),
  'with the default grant, anon''s UPDATE raises nothing (the seed''s "success")'
);
select tests.clear_authentication();
select is(
  (select count(*)::int from public.music_knowledge where embedding is not null),
  0,
  '... and still changes 0 of 20 rows: RLS filtered them out silently'
);

set local role anon;
select is(
  (select count(*)::int from public.music_knowledge),
  20,
  'anon can read all 20 rows'
);
select is(
  (select count(*)::int from public.music_knowledge where embedding is null),
  20,
  'anon sees every embedding still empty'
);
select tests.clear_authentication();

select * from finish();
rollback;
