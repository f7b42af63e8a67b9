-- 220 App: signed-in users manage their own stories and profiles, can write neither another user's row
-- nor any embedding or chunk, and the worker (service_role) fills every user's embeddings: a story's
-- chunks in embedding_chunks.stories (stories are a chunked target), a profile's vector in its column.
-- A user reads, through the chunk view, only the chunks of the stories they may read.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(26);

select is(
  (select array_agg(format('%s: %s, %s', name, content_function, model) order by name)
   from embeddings.targets where name in ('stories', 'profiles')),
  array['profiles: public.profile_preferences_content(public.profiles), ' || embeddings.default_model(),
        'stories: public.story_content(public.stories), ' || embeddings.default_model()],
  'stories and profiles are registered with their content functions in public and the default model'
);
select is(
  (select format('%s, %s', coalesce(embedding_column, 'no embedding column'), chunking)
   from embeddings.targets where name = 'stories'),
  'no embedding column, ' || embeddings.default_chunking()::text,
  'stories is a chunked target with the engine''s default chunking'
);
select hasnt_column('public', 'stories', 'embedding', 'public.stories has no vector column: its vectors are chunks');
select is(
  embeddings.chunk_table(tests.target_id('stories')), 'embedding_chunks.stories'::regclass,
  'its chunks live in embedding_chunks.stories'
);
select is(
  (select array_agg(name order by name) from embeddings.targets where chunking is null and name in ('music_knowledge', 'profiles')),
  array['music_knowledge', 'profiles'],
  'music_knowledge and profiles stay one vector per row'
);

-- Two users, and empty tables (the transaction rolls everything back).
delete from public.stories;
delete from public.profiles;
delete from embeddings.queue where target_id in (tests.target_id('stories'), tests.target_id('profiles'));
select tests.create_user('aaaaaaaa-0000-4000-8000-000000000001', 'ana@example.com');
select tests.create_user('bbbbbbbb-0000-4000-8000-000000000002', 'ben@example.com');

-- Ana signs in and writes.
select tests.authenticate_as('aaaaaaaa-0000-4000-8000-000000000001');
-- Long enough for three chunks of the default 300 characters.
insert into public.stories (title, body) values ('Ana at sea', repeat('A story about sailing. ', 30));
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
  format($$ insert into embedding_chunks.stories (row_key, chunk_index, start_offset, end_offset, chunk_text,
              content_hash, model, embedding)
            select id::text, 0, 0, 1, 'B', md5(public.story_content(s)), 'a model', %L from public.stories as s $$,
    tests.vector_json(384)),
  '42501', null,
  'Ben cannot write a chunk of his own story'
);
select throws_ok(
  $$ select count(*) from embedding_chunks.stories $$,
  '42501', null,
  'nor read the chunk table'
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
  (select array_agg(s.title || ': ' || (select count(*) from embedding_chunks.stories as c where c.row_key = s.id::text)
     || ' chunks' order by s.title) from public.stories as s),
  array['Ana at sea: 3 chunks', 'Ben in space: 1 chunks'],
  'the worker wrote both users'' stories in chunks (Ana''s long one in three), read back from the chunk table'
);
select is(
  (select array_agg(w.target order by w.target) from worker_writes as w where cardinality(w.written_keys) = 2),
  array['profiles', 'stories'],
  'and reported both rows of each target written'
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
  (select array_agg(distinct c.row_key) from embedding_search.chunks_stories as c),
  (select array_agg(s.id::text) from public.stories as s),
  'Ana reads through the chunk view the chunks of her own story only'
);
select is(
  (select count(*)::int from embedding_search.chunks_stories), 3,
  'all three of them'
);
select tests.clear_authentication();
select tests.authenticate_as('bbbbbbbb-0000-4000-8000-000000000002');
select is_empty(
  $$ select 1 from embedding_search.chunks_stories as c where c.chunk_text like '%sailing%' $$,
  'Ben reads no chunk of Ana''s story through the view'
);
select tests.clear_authentication();
set local role anon;
select is((select count(*)::int from embedding_search.chunks_stories), 0, 'anon reads no chunk at all');
select tests.clear_authentication();

-- A deleted story's chunks: hidden at once (the view reads the parent row), removed by the sweep.
select tests.authenticate_as('aaaaaaaa-0000-4000-8000-000000000001');
delete from public.stories where title = 'Ana at sea';
select is((select count(*)::int from embedding_search.chunks_stories), 0,
  'once Ana deletes her story, she reads none of its chunks');
select tests.clear_authentication();
select embeddings._sweep_deleted_rows(tests.target_id('stories'), interval '0');
select is(
  (select array_agg(s.title || ': ' || (select count(*) from embedding_chunks.stories as c where c.row_key = s.id::text)
     || ' chunks') from public.stories as s)
    || (select count(*)::text || ' chunks in all' from embedding_chunks.stories),
  array['Ben in space: 1 chunks', '1 chunks in all'],
  'the sweep of deleted rows removed its three chunks; Ben''s one stays'
);

select policies_are('public', 'stories', array[
  'Users can view their own stories', 'Users can create their own stories',
  'Users can update their own stories', 'Users can delete their own stories'],
  'stories has one plainly worded policy per operation');

select * from finish();
rollback;
