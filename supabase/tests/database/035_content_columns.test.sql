-- 035 The UPDATE trigger compares the columns a `begin atomic` content function reads instead of
-- calling it: which columns PostgreSQL records, when it cannot tell (string body, another function,
-- the whole row), and that an update of those columns still queues while others do not.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(8);

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
    content_function, 'embedding', 'm', 3, 5, false, true, null, false, null, now(), null, null)::embeddings.targets)
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

select * from finish();
rollback;
