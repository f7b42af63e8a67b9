-- Simulated users manage their own stories and profiles, can write neither another user's row nor
-- any embedding, and the worker (service_role) fills every user's embeddings.
begin;
create extension if not exists pgtap with schema extensions;
select plan(14);

delete from public.stories;
delete from public.profiles;
delete from embeddings.queue where target_id in (select id from embeddings.targets where name in ('stories', 'profiles'));
insert into auth.users (id, email) values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'ana@example.com'),
  ('bbbbbbbb-0000-4000-8000-000000000002', 'ben@example.com');

-- Ana signs in and writes.
set local role authenticated;
set local request.jwt.claims = '{"sub": "aaaaaaaa-0000-4000-8000-000000000001", "role": "authenticated"}';
insert into public.stories (title, body) values ('Ana at sea', 'A story about sailing.');
insert into public.profiles (id, display_name, preferences)
  values ('aaaaaaaa-0000-4000-8000-000000000001', 'Ana', 'sailing, islands, storms');
select throws_ok(
  $$ insert into public.stories (user_id, title) values ('bbbbbbbb-0000-4000-8000-000000000002', 'forged') $$,
  '42501', null,
  'a user cannot create a story under another user''s id'
);
reset role;

-- Ben signs in and writes.
set local role authenticated;
set local request.jwt.claims = '{"sub": "bbbbbbbb-0000-4000-8000-000000000002", "role": "authenticated"}';
insert into public.stories (title, body) values ('Ben in space', 'A story about rockets.');
insert into public.profiles (id, display_name, preferences)
  values ('bbbbbbbb-0000-4000-8000-000000000002', 'Ben', 'rockets, planets');
select is((select count(*)::int from public.stories), 1, 'Ben sees only his own story');
update public.stories set title = 'hijacked' where user_id = 'aaaaaaaa-0000-4000-8000-000000000001';
update public.profiles set preferences = 'hijacked' where id = 'aaaaaaaa-0000-4000-8000-000000000001';
select throws_ok(
  format('update public.stories set embedding = %L',
    '[' || array_to_string(array_fill(0.05::real, array[384]), ',') || ']'),
  '42501', null,
  'Ben cannot write the embedding of his own story'
);
select throws_ok(
  format('update public.profiles set preference_embedding = %L',
    '[' || array_to_string(array_fill(0.05::real, array[384]), ',') || ']'),
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
reset role;

select is(
  (select title from public.stories where user_id = 'aaaaaaaa-0000-4000-8000-000000000001'), 'Ana at sea',
  'Ben''s update of Ana''s story changed nothing'
);
select is(
  (select preferences from public.profiles where id = 'aaaaaaaa-0000-4000-8000-000000000001'), 'sailing, islands, storms',
  'Ben''s update of Ana''s profile changed nothing'
);
select is(
  (select count(*)::int from embeddings.queue q join embeddings.targets t on t.id = q.target_id
   where t.name in ('stories', 'profiles')),
  4,
  'every user row is queued for the worker (2 stories, 2 profiles)'
);

-- The worker: service_role claims and writes every queued row with the targets' model.
create temporary table worker_writes (target text, written text[]);
grant insert, select on worker_writes to service_role;
set local role service_role;
do $$
declare
  target record;
  lease uuid;
  batch jsonb;
begin
  for target in select id, name, model, dimensions from embeddings.targets where name in ('stories', 'profiles') loop
    select c.lease_token, jsonb_agg(jsonb_build_object('key', c.row_key, 'content_hash', c.content_hash,
        'embedding', (select jsonb_agg(case when d = 1 then 1 else 0.01 end) from generate_series(1, target.dimensions) as d)))
      into lease, batch
      from embeddings.claim_batch(target.id, 10, 60) as c group by c.lease_token;
    insert into worker_writes
      select target.name, w.written_keys from embeddings.write_batch(target.id, lease, target.model, batch) as w;
  end loop;
end $$;
reset role;

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

set local role authenticated;
set local request.jwt.claims = '{"sub": "aaaaaaaa-0000-4000-8000-000000000001", "role": "authenticated"}';
select is(
  (select count(*)::int from public.stories where embedding is not null), 1,
  'Ana sees her own story with its embedding, and no other'
);
reset role;
select policies_are('public', 'stories', array[
  'Users can view their own stories', 'Users can create their own stories',
  'Users can update their own stories', 'Users can delete their own stories'],
  'stories has one plainly worded policy per operation');

select * from finish();
rollback;
