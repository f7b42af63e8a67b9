-- 220 App: signed-in users manage their own stories and profiles, can write neither another user's row
-- nor any embedding, and the worker (service_role) fills every user's embeddings.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(15);

select is(
  (select array_agg(format('%s: %s, %s', name, content_function, model) order by name)
   from embeddings.targets where name in ('stories', 'profiles')),
  array['profiles: public.profile_preferences_content(public.profiles), ' || embeddings.default_model(),
        'stories: public.story_content(public.stories), ' || embeddings.default_model()],
  'stories and profiles are registered with their content functions in public and the default model'
);

-- Two users, and empty tables (the transaction rolls everything back).
delete from public.stories;
delete from public.profiles;
delete from embeddings.queue where target_id in (tests.target_id('stories'), tests.target_id('profiles'));
select tests.create_user('aaaaaaaa-0000-4000-8000-000000000001', 'ana@example.com');
select tests.create_user('bbbbbbbb-0000-4000-8000-000000000002', 'ben@example.com');

-- Ana signs in and writes.
select tests.authenticate_as('aaaaaaaa-0000-4000-8000-000000000001');
insert into public.stories (title, body) values ('Ana at sea', 'A story about sailing.');
insert into public.profiles (id, display_name, preferences)
  values ('aaaaaaaa-0000-4000-8000-000000000001', 'Ana', 'sailing, islands, storms');
select throws_ok(
  $$ insert into public.stories (user_id, title) values ('bbbbbbbb-0000-4000-8000-000000000002', 'forged') $$,
  '42501', null,
  'a user cannot create a story under another user''s id'
);
select tests.clear_authentication();

-- Ben signs in and writes.
select tests.authenticate_as('bbbbbbbb-0000-4000-8000-000000000002');
insert into public.stories (title, body) values ('Ben in space', 'A story about rockets.');
insert into public.profiles (id, display_name, preferences)
  values ('bbbbbbbb-0000-4000-8000-000000000002', 'Ben', 'rockets, planets');
select is((select count(*)::int from public.stories), 1, 'Ben sees only his own story');
update public.stories set title = 'hijacked' where user_id = 'aaaaaaaa-0000-4000-8000-000000000001';
update public.profiles set preferences = 'hijacked' where id = 'aaaaaaaa-0000-4000-8000-000000000001';
select throws_ok(
  format('update public.stories set embedding = %L', tests.vector_json(384)),
  '42501', null,
  'Ben cannot write the embedding of his own story'
);
select throws_ok(
  format('update public.profiles set preference_embedding = %L', tests.vector_json(384)),
  '42501', null,
  'nor the preference embedding of his own profile'
);
select throws_ok(
  $$ select * from embeddings.claim_batch(1, 10, 60) $$,
  '42501', null,
  'nor call the worker API'
);
update public.stories set body = 'A story about rockets and moons.';
select is((select body from public.stories), 'A story about rockets and moons.', 'Ben edits his own story');
select tests.clear_authentication();

select is(
  (select title from public.stories where user_id = 'aaaaaaaa-0000-4000-8000-000000000001'), 'Ana at sea',
  'Ben''s update of Ana''s story changed nothing'
);
select is(
  (select preferences from public.profiles where id = 'aaaaaaaa-0000-4000-8000-000000000001'),
  'sailing, islands, storms',
  'Ben''s update of Ana''s profile changed nothing'
);
select is(
  (select count(*)::int from embeddings.queue
   where target_id in (tests.target_id('stories'), tests.target_id('profiles'))),
  4,
  'every user row is queued for the worker (2 stories, 2 profiles)'
);

-- The worker: service_role claims and writes every queued row with the targets' model.
select tests.authenticate_as_service_role();
create temporary table worker_writes as
select 'stories' as target, * from tests.claim_and_write(tests.target_id('stories'))
union all
select 'profiles', * from tests.claim_and_write(tests.target_id('profiles'));
select tests.clear_authentication();

select is(
  (select count(*)::int from public.stories where embedding is not null), 2,
  'the worker filled both users'' story embeddings'
);
select is(
  (select count(*)::int from public.profiles where preference_embedding is not null), 2,
  'and both users'' preference embeddings'
);
select results_eq(
  $$ select name, embedded, pending from embeddings.status where name in ('profiles', 'stories') order by name $$,
  $$ values ('profiles'::text, 2::bigint, 0::bigint), ('stories'::text, 2::bigint, 0::bigint) $$,
  'the status view agrees: everything embedded, nothing pending'
);

select tests.authenticate_as('aaaaaaaa-0000-4000-8000-000000000001');
select is(
  (select count(*)::int from public.stories where embedding is not null), 1,
  'Ana sees her own story with its embedding, and no other'
);
select tests.clear_authentication();
select policies_are('public', 'stories', array[
  'Users can view their own stories', 'Users can create their own stories',
  'Users can update their own stories', 'Users can delete their own stories'],
  'stories has one plainly worded policy per operation');

select * from finish();
rollback;
