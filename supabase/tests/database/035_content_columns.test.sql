-- 035 The UPDATE trigger compares the columns a content function reads instead of calling it: which
-- columns PostgreSQL records for a `begin atomic` body, which the engine probes from a string body
-- (SQL, or PL/pgSQL that is one return), when it cannot tell (another function, the whole row, a
-- body of another shape or owner), and that an update of those columns still queues while others do not.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(20);

create table public.notes (id bigint primary key, title text not null, body text, rank integer,
  embedding extensions.vector(3));
create function public.notes_atomic(note public.notes) returns text language sql immutable
  set search_path = '' begin atomic select note.title || coalesce((note).body, ''); end;
create function public.notes_string(note public.notes) returns text language sql immutable
  set search_path = '' as $$ select note.title $$;
create function public.notes_whole_row(note public.notes) returns text language sql immutable
  set search_path = '' begin atomic select note.title || note::text; end;
create function public.notes_calls(note public.notes) returns text language sql immutable
  set search_path = '' begin atomic select public.notes_atomic(note); end;

-- A target row as _content_columns reads it: only the table and the content function matter.
create function pg_temp.columns_of(content_function text) returns name[] language sql as $$
  select embeddings._content_columns(row(null, 'notes', 'public', 'notes', 'id', 'bigint',
    content_function, 'embedding', 'm', 3, 5, false, true, null, false, null, now(), null, null, null, null)::embeddings.targets)
$$;

select is(pg_temp.columns_of('public.notes_atomic(public.notes)'), array['title', 'body']::name[],
  'a begin atomic body: the columns it reads, as field or (row).field');
select is(pg_temp.columns_of('public.notes_string(public.notes)'), null,
  'a string body: unknown');
select is(pg_temp.columns_of('public.notes_whole_row(public.notes)'), null,
  'a body that uses the whole row: unknown, whatever fields it also reads');
select is(pg_temp.columns_of('public.notes_calls(public.notes)'), null,
  'a body that passes the row to another function of its own: unknown');

select embeddings.register_target('public.notes', 'id', 'public.notes_atomic(public.notes)', 'embedding', 'm', 3);
insert into public.notes (id, title, body, rank) values (1, 'lamp', 'brass', 1), (2, 'desk', 'oak', 2);
delete from embeddings.queue where target_id = tests.target_id('notes');

update public.notes set rank = rank + 1;
select is_empty($$ select 1 from embeddings.queue where target_id = tests.target_id('notes') $$,
  'an update of a column the content function does not read queues nothing');
update public.notes set body = 'polished brass' where id = 1;
select is((select array_agg(row_key) from embeddings.queue where target_id = tests.target_id('notes')),
  array['1'], 'an update of a column it reads queues the row');
update public.notes set body = null where id = 2;
select is((select array_agg(row_key order by row_key) from embeddings.queue where target_id = tests.target_id('notes')),
  array['1', '2'], 'a column set to null counts as a change');

-- The function replaced by one reading other columns: read again at the next statement.
create or replace function public.notes_atomic(note public.notes) returns text language sql immutable
  set search_path = '' begin atomic select note.title || note.rank::text; end;
delete from embeddings.queue where target_id = tests.target_id('notes');
update public.notes set rank = rank + 1 where id = 1;
select is((select array_agg(row_key) from embeddings.queue where target_id = tests.target_id('notes')),
  array['1'], 'a redefined content function is read again: its new columns count');

-- String bodies: probed through an always-undone `begin atomic` copy, at registration.
create table public.cards (id bigint primary key, title text not null, body text, rank integer,
  embedding extensions.vector(3));
create function public.cards_sql(card public.cards) returns text language sql immutable
  set search_path = '' as $$ select card.title || coalesce(': ' || card.body, '') $$;
create function public.cards_plpgsql(doc public.cards) returns text language plpgsql immutable as $$
begin
  return '# ' || doc.title || E'\n\n' || coalesce(doc.body, '');
end;
$$;
create function public.cards_steps(doc public.cards) returns text language plpgsql immutable as $$
declare
  heading text := doc.title;
begin
  return heading;
end;
$$;
create function public.cards_whole(card public.cards) returns text language sql immutable
  as $$ select card::text $$;
set local check_function_bodies = off;
-- A body that would end the copy early and run statements of its own.
create function public.cards_escape(card public.cards) returns text language sql immutable
  as $$ select card.title; end; create table public.cards_escaped (x integer); select 'x' $$;
set local check_function_bodies = on;
create role cards_owner;
create function public.cards_foreign(card public.cards) returns text language sql immutable
  as $$ select card.title $$;
alter function public.cards_foreign(public.cards) owner to cards_owner;

select results_eq(
  $$ select f, embeddings._probe_content_columns(format('public.%s(public.cards)', f)::regprocedure, 'public.cards'::regclass)
     from unnest(array['cards_sql', 'cards_plpgsql', 'cards_steps', 'cards_whole', 'cards_escape', 'cards_foreign']) with ordinality as u(f, n)
     order by n $$,
  $$ values ('cards_sql', array['title', 'body']::name[]), ('cards_plpgsql', array['title', 'body']::name[]),
            ('cards_steps', null), ('cards_whole', null), ('cards_escape', null), ('cards_foreign', null) $$,
  'string bodies probed: SQL and a one-return PL/pgSQL body read their fields; other shapes, the whole row and another owner''s function unknown'
);
select ok(
  pg_catalog.to_regclass('public.cards_escaped') is null
    and pg_catalog.to_regproc('embeddings._content_columns_probe') is null
    and current_user::text = 'postgres' and current_setting('search_path') <> '',
  'a probe leaves nothing behind: no copy, no statement of the body run, the same role and search_path'
);

select embeddings.register_target('public.cards', 'id', 'public.cards_plpgsql(public.cards)', 'embedding', 'm', 3);
select is((select content_columns from embeddings.targets where name = 'cards'), array['title', 'body']::name[],
  'register_target records the columns a string body reads');
insert into public.cards (id, title, body, rank) values (1, 'lamp', 'brass', 1), (2, 'desk', 'oak', 2);
delete from embeddings.queue where target_id = tests.target_id('cards');
update public.cards set rank = rank + 1;
select is_empty($$ select 1 from embeddings.queue where target_id = tests.target_id('cards') $$,
  'a string-bodied target: an update of a column its function does not read queues nothing');
update public.cards set body = 'polished brass' where id = 1;
select is((select array_agg(row_key) from embeddings.queue where target_id = tests.target_id('cards')),
  array['1'], 'a string-bodied target: an update of a column it reads queues the row');

-- Replaced (create or replace): the event trigger probes the new body; until then the old columns are never used.
create or replace function public.cards_plpgsql(doc public.cards) returns text language plpgsql immutable as $$
begin
  return doc.title || ' #' || doc.rank;
end;
$$;
select is((select content_columns from embeddings.targets where name = 'cards'), array['title', 'rank']::name[],
  'a replaced string body is probed again');
delete from embeddings.queue where target_id = tests.target_id('cards');
update public.cards set rank = rank + 1 where id = 2;
select is((select array_agg(row_key) from embeddings.queue where target_id = tests.target_id('cards')),
  array['2'], 'its new columns count');
update embeddings.targets set content_columns = array['body']::name[], content_columns_from = md5('another body')
  where name = 'cards';
delete from embeddings.queue where target_id = tests.target_id('cards');
update public.cards set rank = rank + 1 where id = 1;
select is((select array_agg(row_key) from embeddings.queue where target_id = tests.target_id('cards')),
  array['1'], 'columns recorded from another body are not used: the function is called');
select is(
  embeddings._content_columns((select t from embeddings.targets as t where t.name = 'cards')), null,
  'columns recorded from a body with another hash are never used'
);

-- doctor names the target whose function the engine cannot read, and the fix that has it read again.
select is(
  (select fix from embeddings.doctor() where check_name = 'content_columns' and subject = 'cards'),
  'alter function public.cards_plpgsql(public.cards) owner to postgres; -- changes nothing, and has the engine read it again, as creating or altering it does',
  'doctor: a function replaced since the engine read it, with the fix that reads it again'
);
alter function public.cards_plpgsql(public.cards) owner to postgres;
select is((select content_columns from embeddings.targets where name = 'cards'), array['title', 'rank']::name[],
  'the fix doctor gives has the engine read the function again');
create or replace function public.cards_plpgsql(doc public.cards) returns text language plpgsql immutable as $$
declare
  heading text := doc.title;
begin
  return heading;
end;
$$;
select ok(
  (select level = 'warning' and finding like '%cannot tell which columns it reads%'
   from embeddings.doctor() where check_name = 'content_columns' and subject = 'cards'),
  'doctor: a body the engine cannot read is a warning: every UPDATE calls it twice a row'
);

select * from finish();
rollback;
