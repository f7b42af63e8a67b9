-- 020 register_target checks what it is given, stores the content function's full signature as text,
-- installs the queue trigger and queues the backfill; a dropped content function is a clear error;
-- unregister_target removes it all; embeddings.default_model() names the model migrations register with.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(19);

-- A throwaway table (uuid key, 4 rows), a second vector column of another size, and a content
-- function of the wrong type.
select tests.create_table('notes', 4, 3, 'uuid');
alter table public.notes add column wide_embedding extensions.vector(5);
create function public.note_number(note public.notes) returns integer
  language sql immutable set search_path = '' as $$ select 1 $$;

-- What it refuses: register_target(table, key, content function, embedding column, 'm', 3) with one
-- argument wrong at a time; null stands for the right one (public.notes, id, notes_content, embedding).
select throws_ok(
  format('select embeddings.register_target(%L, %L, %L, %L, ''m'', 3)',
    coalesce(relation, 'public.notes'), coalesce(key_column, 'id'),
    coalesce(content_function, 'public.notes_content(public.notes)'), coalesce(vector_column, 'embedding')),
  errcode, message, description)
from (values
  ('public.no_such_table', null, null, null, '42P01', 'relation "public.no_such_table" does not exist', 'a table that does not exist is a clear error'),
  (null, null, null, 'vector_column', '42703', 'table public.notes has no column vector_column for the embedding', 'a missing embedding column is a clear error'),
  (null, null, null, 'wide_embedding', '22023', 'column public.notes.wide_embedding holds vector(5) but model m makes 3 dimensions', 'a column whose dimensions differ from the model''s is refused'),
  (null, 'title', null, null, '22023', 'key column title of public.notes is not the primary key or unique', 'a key that is not unique is refused'),
  (null, null, 'public.note_number(public.notes)', null, '22023', 'content function public.note_number(public.notes) must take one public.notes row and return text', 'a content function that does not return text is refused'),
  (null, 'rank', null, null, '22023', 'key column rank of public.notes is not the primary key or unique', 'a non-key integer column is refused')
) as refused(relation, key_column, content_function, vector_column, errcode, message, description);

-- The model migrations register targets with: the setting embeddings.default_model, else gte-small.
set local embeddings.default_model = 'some-local-model';
select is(embeddings.default_model(), 'some-local-model',
  'default_model() is the database setting embeddings.default_model when it is set');
set local embeddings.default_model = '';
select is(embeddings.default_model(), 'gte-small', 'and gte-small, Supabase''s built-in model, when it is not');
set local embeddings.default_model to default;

-- What it does. The content function is named as the search_path finds it; the registry keeps its
-- full signature.
select embeddings.register_target('public.notes', 'id', 'notes_content(notes)', 'embedding', 'test-model', 3);
select is(
  (select count(*)::int from embeddings.targets where table_name = 'notes'), 1,
  'the target is in the registry'
);
select col_type_is('embeddings', 'targets', 'content_function', 'text',
  'the registry stores the content function as text, not as a reg* type that blocks pg_upgrade');
select is(
  (select content_function from embeddings.targets where id = tests.target_id('notes')),
  'public.notes_content(public.notes)',
  'the stored signature is fully schema-qualified, whatever search_path registration ran with'
);
select is(
  (select count(*)::int from pg_catalog.pg_trigger
   where tgrelid = 'public.notes'::regclass and tgname = 'embeddings_queue_' || tests.target_id('notes')), 1,
  'the queue trigger is installed'
);
select is(
  (select count(*)::int from embeddings.queue where target_id = tests.target_id('notes')), 4,
  'every existing row is queued: the backfill'
);
select is(
  (select pending from embeddings.status where target_id = tests.target_id('notes')), 4::bigint,
  'the status view shows 4 pending'
);

-- The registry holds only the signature's text, so nothing stops the function being dropped.
drop function public.notes_content(public.notes);
select throws_like(
  $$ select * from embeddings.claim_batch(tests.target_id('notes'), 10, 60) $$,
  'target notes is broken: content function public.notes_content(public.notes) does not exist; fix: %',
  'with its content function dropped, a claim fails: the target is broken, named with the function and the fix'
);
select throws_ok(
  $$ update public.notes set title = 'renamed' where id = '00000000-0000-4000-8000-000000000001' $$,
  '42883', 'content function public.notes_content(public.notes) of target notes no longer exists',
  'and so does a change of a row, through the queue trigger'
);

-- Unregistering still works, and removes everything registration installed.
create temporary table registered as select tests.target_id('notes') as id;
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
