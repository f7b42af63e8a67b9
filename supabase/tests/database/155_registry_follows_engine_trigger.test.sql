-- 155 The registry follows a renamed table only through the engine's own sync trigger: a trigger
-- that merely has the name embeddings_queue_<id> (running another function, or the engine's
-- function for another target) is not followed; the engine's trigger for the target is.
begin;
\ir ../fixtures/test_helpers.psql
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(4);

select tests.create_target('followed', 2);
select tests.create_target('bystander', 1);
create table public.decoy (id bigint primary key, title text);
create function public.decoy_trigger() returns trigger language plpgsql set search_path = '' as $$
begin
  return null;
end;
$$;

/** Puts a trigger named as the followed target's sync trigger on public.decoy, running that function with that argument. */
create function pg_temp.plant_decoy_trigger(function_name text, argument bigint)
returns void
language plpgsql set search_path = ''
as $$
begin
  execute pg_catalog.format('drop trigger if exists %I on public.decoy', 'embeddings_queue_' || tests.target_id('followed'));
  execute pg_catalog.format(
    'create trigger %I after insert on public.decoy referencing new table as new_rows for each statement execute function %s(%L)',
    'embeddings_queue_' || tests.target_id('followed'), function_name, argument);
end;
$$;

-- The target's table is gone from under its name: the registry has to look for it.
select format('drop trigger %I on public.followed', 'embeddings_queue_' || tests.target_id('followed')) \gexec
alter table public.followed rename to followed_elsewhere;

select pg_temp.plant_decoy_trigger('public.decoy_trigger', tests.target_id('followed'));
select is(
  (select t.table_name::text from embeddings._target_by_id(tests.target_id('followed')) as t), 'followed',
  'a trigger with the sync trigger''s name but another function is not followed'
);
select pg_temp.plant_decoy_trigger('embeddings._queue_inserted_rows', tests.target_id('bystander'));
select is(
  (select t.table_name::text from embeddings._target_by_id(tests.target_id('followed')) as t), 'followed',
  'nor is the engine''s sync trigger function run for another target'
);
select is(
  (select table_name::text from embeddings.targets where name = 'followed'), 'followed',
  'the registry still names the table the target was registered with'
);
select pg_temp.plant_decoy_trigger('embeddings._queue_inserted_rows', tests.target_id('followed'));
select is(
  (select t.table_name::text from embeddings._target_by_id(tests.target_id('followed')) as t), 'decoy',
  'the engine''s own sync trigger for the target is followed'
);

select * from finish();
rollback;
