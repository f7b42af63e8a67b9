-- 150 Hostile tables and registrations: a row whose content function raises fails alone; a dropped
-- table breaks only its own target, and a renamed one is followed; nullable keys, key updates and
-- bad registration arguments get sentences, not raw constraint errors.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(17);

-- A content function that raises for one row.
select tests.create_target('items', 4, 3);
create or replace function public.items_content(item public.items) returns text
language plpgsql immutable set search_path = ''
as $$
begin
  if item.title = 'row 3' then
    raise exception 'cannot render row %', item.id;
  end if;
  return item.title;
end;
$$;
select tests.claim_into('claimed', 'items');
select results_eq(
  $$ select row_key, content, content_error from claimed order by row_key $$,
  $$ values ('1'::text, 'row 1'::text, null::text), ('2', 'row 2', null), 
            ('3', null, 'content function public.items_content(public.items) raised: cannot render row 3'),
            ('4', 'row 4', null) $$,
  'a row whose content function raises comes back alone with its error; its neighbours with their text'
);
select is(
  (select count(distinct lease_token)::int from claimed), 1,
  'all four rows are under the one lease, so the worker can fail the bad one and write the rest'
);

-- A dropped table breaks its own target only.
select tests.create_target('doomed', 2, 3);
select tests.create_target('healthy', 2, 3);
set local client_min_messages = warning;
drop table public.doomed cascade;
reset client_min_messages;
select matches(
  (select broken from embeddings.status where name = 'doomed'),
  '^table public\.doomed does not exist \(dropped\?\); fix: restore it, or select embeddings\.unregister_target\(\d+\);$',
  'status shows the dropped table''s target as broken, with the fix'
);
select is(
  (select total_rows from embeddings.status where name = 'doomed'), null::bigint,
  'and counts no rows for it rather than a wrong number'
);
select results_eq(
  $$ select total_rows, broken from embeddings.status where name = 'healthy' $$,
  $$ values (2::bigint, null::text) $$,
  'the other targets keep their status'
);
select throws_ok(
  format('select * from embeddings.claim_batch(%s, 10, 60)', tests.target_id('doomed')),
  '55000', null,
  'a claim on the broken target raises 55000'
);
select lives_ok(
  format('select embeddings.unregister_target(%s)', tests.target_id('doomed')),
  'and the broken target can be unregistered, its triggers gone with the table'
);

-- A renamed table is followed through its trigger.
alter table public.healthy rename to renamed;
select results_eq(
  $$ select source, total_rows, broken from embeddings.status where name = 'healthy' $$,
  $$ values ('public.renamed.embedding'::text, 2::bigint, null::text) $$,
  'after a rename, status finds the table under its new name'
);
select is(
  (select table_name::text from embeddings.targets where name = 'healthy'), 'renamed',
  'and the registry follows it'
);
insert into public.renamed (title) values ('after the rename');
select ok(
  exists (select 1 from embeddings.queue where target_id = tests.target_id('healthy') and row_key = '3'),
  'the renamed table''s sync trigger still queues new rows'
);

-- A primary-key update moves the books to the new key.
update public.renamed set id = 30 where id = 3;
select results_eq(
  $$ select array_agg(row_key order by row_key) from embeddings.queue where target_id = tests.target_id('healthy') $$,
  $$ values (array['1', '2', '30']) $$,
  'a key update leaves no entry under the old key and queues the new one'
);

-- Registration refuses what would fail later, in sentences.
create table public.loose (id bigint primary key, handle text unique, title text,
  embedding extensions.vector(3));
create function public.loose_content(item public.loose) returns text language sql immutable
  set search_path = '' as $$ select item.title $$;
select throws_ok(
  $$ select embeddings.register_target('public.loose', 'handle', 'public.loose_content(public.loose)', 'embedding', 'm', 3) $$,
  '22023',
  'key column handle of public.loose can hold NULL, and a row without a key can never be embedded: add NOT NULL to it, or use the primary key',
  'a nullable unique key is refused'
);
select throws_ok(
  $$ select embeddings.register_target('public.loose', 'id', 'public.loose_content(public.loose)', 'embedding', 'm', 3, 0) $$,
  '22023', 'max_attempts must be between 1 and 100, got 0',
  'max_attempts 0 is refused in a sentence'
);
select throws_ok(
  $$ select embeddings.register_target('public.loose', 'id', 'public.loose_content(public.loose)', 'embedding', ' ', 3) $$,
  '22023', 'model must be a model''s name, got an empty one',
  'an empty model name is refused in a sentence'
);
select throws_ok(
  $$ select embeddings.register_target('public.loose', 'id', 'public.loose_content(public.loose)', 'embedding', 'm', 3,
       5, 'items') $$,
  '23505', null,
  'a target name already taken is refused'
);
select matches(
  (select embeddings.register_target('public.loose', 'id', 'public.loose_content(public.loose)', 'embedding', 'm', 3)::text),
  '^\d+$',
  'the same table registers with a proper key'
);
select throws_like(
  $$ select embeddings.register_target('public.loose', 'id', 'public.loose_content(public.loose)', 'embedding', 'm', 3,
       5, 'loose_again') $$,
  'public.loose.embedding is already registered as target %',
  'registering the same column twice is refused, naming the target'
);

select * from finish();
rollback;
