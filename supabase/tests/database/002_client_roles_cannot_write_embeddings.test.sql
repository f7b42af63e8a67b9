-- The seed's silent failure, pinned down: a client role's UPDATE of embedding changes no row,
-- and here it fails loudly instead of answering success.
begin;
create extension if not exists pgtap with schema extensions;
select plan(8);

-- Start from an empty table; the transaction rolls everything back.
delete from public.music_knowledge;
insert into public.music_knowledge (id, topic, category, suggestion)
select ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'topic_' || i, 'test', 'suggestion ' || i
from generate_series(1, 20) as i;

-- A valid 384-dimension vector literal for the attempts below.
create temporary table attempt_vector as
select ('[' || array_to_string(array_fill(0.05::real, array[384]), ',') || ']') as literal;
grant select on attempt_vector to anon, authenticated;

set local role anon;
select throws_ok(
  format('update public.music_knowledge set embedding = %L', (select literal from attempt_vector)),
  '42501',
  'permission denied for table music_knowledge',
  'anon''s direct UPDATE of embedding is refused with an error, not a silent 200'
);
reset role;

set local role authenticated;
set local request.jwt.claims = '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';
select throws_ok(
  format('update public.music_knowledge set embedding = %L', (select literal from attempt_vector)),
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
reset role;

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
  format('update public.music_knowledge set embedding = %L', (select literal from attempt_vector)),
  'with the default grant, anon''s UPDATE raises nothing (the seed''s "success")'
);
reset role;
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
reset role;

select * from finish();
rollback;
