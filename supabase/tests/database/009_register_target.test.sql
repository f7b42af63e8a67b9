-- Registering a table checks what it is given, installs the queue trigger, queues the backfill; unregistering removes it all.
begin;
create extension if not exists pgtap with schema extensions;
select plan(13);

create table public.notes (id uuid primary key default gen_random_uuid(), title text, body text,
  embedding extensions.vector(3), wide_embedding extensions.vector(5), label integer);
create function public.note_content(note public.notes) returns text language sql immutable
  as $$ select coalesce(note.title, '') || ': ' || coalesce(note.body, '') $$;
create function public.note_number(note public.notes) returns integer language sql immutable as $$ select 1 $$;
insert into public.notes (title, body) select 'note ' || i, 'body ' || i from generate_series(1, 4) as i;

select throws_ok(
  $$ select embeddings.register_target('public.no_such_table', 'id', 'public.note_content(public.notes)', 'embedding', 'm', 3) $$,
  '42P01', 'relation "public.no_such_table" does not exist',
  'a table that does not exist is a clear error'
);
select throws_ok(
  $$ select embeddings.register_target('public.notes', 'id', 'public.note_content(public.notes)', 'vector_column', 'm', 3) $$,
  '42703', 'table public.notes has no column vector_column for the embedding',
  'a missing embedding column is a clear error'
);
select throws_ok(
  $$ select embeddings.register_target('public.notes', 'id', 'public.note_content(public.notes)', 'wide_embedding', 'm', 3) $$,
  '22023', 'column public.notes.wide_embedding holds vector(5) but model m makes 3 dimensions',
  'a column whose dimensions differ from the model''s is refused'
);
select throws_ok(
  $$ select embeddings.register_target('public.notes', 'title', 'public.note_content(public.notes)', 'embedding', 'm', 3) $$,
  '22023', 'key column title of public.notes is not the primary key or unique',
  'a key that is not unique is refused'
);
select throws_ok(
  $$ select embeddings.register_target('public.notes', 'id', 'public.note_number(public.notes)', 'embedding', 'm', 3) $$,
  '22023', 'content function public.note_number(public.notes) must take one public.notes row and return text',
  'a content function that does not return text is refused'
);
select throws_ok(
  $$ select embeddings.register_target('public.notes', 'label', 'public.note_content(public.notes)', 'embedding', 'm', 3) $$,
  '22023', 'key column label of public.notes is not the primary key or unique',
  'a non-key integer column is refused'
);

create temporary table registered as
select embeddings.register_target('public.notes', 'id', 'public.note_content(public.notes)', 'embedding', 'test-model', 3) as id;

select is(
  (select count(*)::int from embeddings.targets where table_name = 'notes'), 1,
  'the target is in the registry'
);
select is(
  (select count(*)::int from pg_catalog.pg_trigger
   where tgrelid = 'public.notes'::regclass and tgname = 'embeddings_queue_' || (select id from registered)), 1,
  'the queue trigger is installed'
);
select is(
  (select count(*)::int from embeddings.queue where target_id = (select id from registered)), 4,
  'every existing row is queued: the backfill'
);
select is(
  (select pending from embeddings.status where target_id = (select id from registered)), 4::bigint,
  'the status view shows 4 pending'
);

select embeddings.unregister_target((select id from registered));
select is(
  (select count(*)::int from pg_catalog.pg_trigger where tgrelid = 'public.notes'::regclass and not tgisinternal), 0,
  'unregistering drops the trigger'
);
select is(
  (select count(*)::int from embeddings.queue where target_id = (select id from registered)), 0,
  'and the queue entries'
);
select is(
  (select count(*)::int from embeddings.targets where table_name = 'notes'), 0,
  'and the registry row'
);

select * from finish();
rollback;
