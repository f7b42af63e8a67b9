-- =============================================================================================
-- EMBEDDING ENGINE: changing a target's model in four steps, search answering throughout
-- =============================================================================================
-- start_model_change registers a second version of a target on the same table: the same content
-- function, the new model and dimensions, its own vector column (added by the engine when it is
-- not there). It is an ordinary target named <name>__next, so the registry's triggers, the queue,
-- the worker, status and verify fill and watch it in the background, new and edited rows
-- included, while everything that asks for <name> (search, status, the keyword settings) keeps
-- reading the current version. switch_model_change swaps the two versions' names in one
-- transaction: from its commit <name> is the new version (the old one is <name>__previous), for
-- search and status at once. rollback_model_change swaps them back, or before a switch abandons the
-- change; finish_model_change unregisters the old version and drops the column only when the
-- engine had added it.
--
-- A chunked target's new version is chunked too, with its own chunk table
-- (embedding_chunks.<name>__next, the new model's dimensions) and chunk view. Both are named after
-- the target, so switch and rollback move the chunk tables with the names, in the same transaction:
-- the engine's views on both tables are dropped first, each table takes its version's new name
-- (the one stepping aside first, so every name is free when taken; its indexes follow), and the
-- views are made again for the tables now bearing each name (a view reads its table by OID, so a
-- view kept across a rename would read the other version's chunks). The queue entries of both
-- versions are locked first: a worker's write_chunks holds its entries while it writes, so a write
-- in flight ends before the tables move, and one that comes after finds each table by its new name.

-- =============================================================================================
-- The changes: one row per change, kept after it ends
-- =============================================================================================

/** Model changes, running and ended; the ended ones say which columns the engine added. */
create table embeddings.model_changes (
  id bigint generated always as identity primary key,
  -- The name search and status know the target by, whichever version holds it now.
  target_name text not null,
  -- The version current when the change started, and the new one. No foreign keys: an ended
  -- change outlives the old version, and finish must read the row of the change that made it.
  old_target_id bigint not null,
  new_target_id bigint not null,
  old_model text not null,
  new_model text not null,
  new_dimensions integer not null,
  -- The new version's column when the engine added it (finish of a later change drops it), else null.
  added_column name,
  -- The index the engine made on that column, if any.
  added_index name,
  state text not null default 'filling' check (state in ('filling', 'switched', 'finished', 'rolled back')),
  started_at timestamptz not null default now(),
  switched_at timestamptz,
  ended_at timestamptz
);
comment on table embeddings.model_changes is
  'Model changes (embeddings.start_model_change): the target''s name, its old and new versions (target ids), the models, the column and index the engine added for the new version (null when the column was there), and the state: filling (the old version is current), switched (the new one is), finished or rolled back (ended; kept, so a later finish knows which columns the engine added). Change it only through the model-change functions. RLS on with no policy on purpose: only service_role reads it.';
alter table embeddings.model_changes enable row level security;
create unique index model_changes_running_old_idx on embeddings.model_changes (old_target_id)
  where state in ('filling', 'switched');
create unique index model_changes_running_new_idx on embeddings.model_changes (new_target_id)
  where state in ('filling', 'switched');
create unique index model_changes_running_name_idx on embeddings.model_changes (target_name)
  where state in ('filling', 'switched');

-- =============================================================================================
-- Internal: look-ups and the column the engine adds
-- =============================================================================================

/**
 * Raises when a target is a version of a running model change: set_target_model and
 * unregister_target call it, so neither version changes under the change (finish and rollback
 * unregister a version themselves, flagged by a transaction-local setting).
 */
create or replace function embeddings._refuse_during_model_change(target embeddings.targets, action text)
returns void
language plpgsql stable set search_path = ''
as $$
declare
  change_name text;
begin
  if pg_catalog.current_setting('embeddings.model_change_step', true) = 'on' then
    return;
  end if;
  select c.target_name into change_name from embeddings.model_changes as c
    where c.state in ('filling', 'switched') and target.id in (c.old_target_id, c.new_target_id);
  if found then
    raise exception using errcode = '55000',
      message = format('target %s is a version of the running model change of %s, so it cannot be %s: roll the change back or finish it first (embeddings.rollback_model_change(%s), embeddings.finish_model_change(%s))',
        target.name, change_name, action, target.id, target.id);
  end if;
end;
$$;
comment on function embeddings._refuse_during_model_change(embeddings.targets, text) is
  'Raises 55000, naming the change and what to do, when the target is either version of a running model change (called by set_target_model and unregister_target); the model-change functions'' own unregistering passes (transaction-local setting embeddings.model_change_step).';

/** The running change of a target (either version's id), locked; a clear error when there is none. */
create or replace function embeddings._running_model_change(target_id bigint)
returns embeddings.model_changes
language plpgsql volatile set search_path = ''
as $$
declare
  change embeddings.model_changes;
begin
  select * into change from embeddings.model_changes as c
    where c.state in ('filling', 'switched')
      and (c.old_target_id = _running_model_change.target_id or c.new_target_id = _running_model_change.target_id)
    for update;
  if not found then
    raise exception using errcode = '55000',
      message = format('target %s has no model change running: start one with embeddings.start_model_change(%s, <model>, <dimensions>)',
        target_id, target_id);
  end if;
  return change;
end;
$$;
comment on function embeddings._running_model_change(bigint) is
  'The running model change (filling or switched) of a target, given either version''s id, locked for update; raises 55000 naming what to do when there is none.';

/** The column a model's vectors get when start_model_change is given none: embedding_<model>. */
create or replace function embeddings._model_change_column(model text)
returns name
language sql immutable set search_path = ''
as $$
  select left('embedding_' || pg_catalog.btrim(pg_catalog.regexp_replace(pg_catalog.lower(model), '[^a-z0-9]+', '_', 'g'), '_'), 63)::name
$$;
comment on function embeddings._model_change_column(text) is
  'The default column of a model change: embedding_ and the model''s name in lower case, each run of other characters an underscore (text-embedding-3-small: embedding_text_embedding_3_small), cut to 63 bytes.';

/**
 * Adds a vector column for a model change and its HNSW index (cosine), when pgvector can index
 * that many dimensions (vector 2,000, halfvec 4,000); returns the index's name, or null.
 */
create or replace function embeddings._add_model_change_column(
  source_table regclass,
  column_name name,
  vector_type text,
  dimensions integer
)
returns name
language plpgsql volatile set search_path = ''
as $$
declare
  index_name name;
  indexable integer := case vector_type when 'halfvec' then 4000 else 2000 end;
begin
  execute format('alter table %s add column %I extensions.%s(%s)', source_table, column_name, vector_type, dimensions);
  if dimensions > indexable then
    return null;  -- searched by a scan; the docs say so
  end if;
  index_name := left(format('%s_%s_hnsw_idx',
    (select c.relname from pg_catalog.pg_class as c where c.oid = source_table), column_name), 63);
  execute format('create index %I on %s using hnsw (%I extensions.%s)',
    index_name, source_table, column_name, vector_type || '_cosine_ops');
  return index_name;
end;
$$;
comment on function embeddings._add_model_change_column(regclass, name, text, integer) is
  'For embeddings.start_model_change: adds the column <column_name> extensions.<vector|halfvec>(<dimensions>) to the table and an HNSW cosine index on it (none past 2,000 dimensions for vector, 4,000 for halfvec: pgvector cannot index more); returns the index''s name, or null.';

/** Raises unless a version's name is free (the name the swap would give it). */
create or replace function embeddings._check_version_name_free(version_name text)
returns void
language plpgsql stable set search_path = ''
as $$
begin
  if exists (select 1 from embeddings.targets as t where t.name = version_name) then
    raise exception using errcode = '23505',
      message = format('a target named %s is registered already, and a model change needs that name: rename or unregister it first',
        version_name);
  end if;
end;
$$;
comment on function embeddings._check_version_name_free(text) is
  'Raises 23505 when a target of that name (<name>__next or <name>__previous, the names a model change gives its versions) is registered already.';

/** Renames a target (one version of a model change); raises unless exactly that row changed. */
create or replace function embeddings._rename_version(target_id bigint, new_name text)
returns void
language plpgsql volatile set search_path = ''
as $$
declare
  renamed integer;
begin
  update embeddings.targets as t set name = new_name where t.id = _rename_version.target_id;
  get diagnostics renamed = row_count;
  if renamed <> 1 then
    raise exception using errcode = 'P0002',
      message = format('target %s of the model change is no longer registered (renamed %s rows)', target_id, renamed);
  end if;
end;
$$;
comment on function embeddings._rename_version(bigint, text) is
  'Gives a version of a model change its name (the swap of switch and rollback); raises P0002 unless exactly that target was renamed.';

/** Rows of a version, how many hold a vector of its model, how many wait in its queue: the switch's test of completeness. */
create or replace function embeddings._version_progress(
  target_id bigint, out total_rows bigint, out embedded bigint, out queued bigint, out broken text)
language plpgsql volatile set search_path = ''
as $$
begin
  select s.total_rows, s.embedded, s.pending + s.in_flight + s.dead_lettered, s.broken
    into total_rows, embedded, queued, broken
    from embeddings.status(target_id) as s;
end;
$$;
comment on function embeddings._version_progress(bigint) is
  'A version''s rows, its rows holding a vector of its model, its rows still in its queue (pending, in flight or dead-lettered: not embedded yet, or edited since), and why it is broken (null when whole), as embeddings.status counts them.';

-- =============================================================================================
-- Internal: a chunked target's chunk tables move with the versions' names
-- =============================================================================================

/**
 * Raises unless a chunked target can have a model change: no column and vector_type vector (the
 * chunk table holds the vectors), and names short enough for both versions' chunk tables and indexes.
 */
create or replace function embeddings._check_chunked_change(target embeddings.targets, embedding_column name, vector_type text)
returns void
language plpgsql stable set search_path = ''
as $$
begin
  if embedding_column is not null or vector_type <> 'vector' then
    raise exception using errcode = '22023',
      message = format('target %s is chunked: its new version keeps its vectors in its own chunk table (vector), so pass no embedding_column and vector_type vector (got %s, %s)',
        target.name, coalesce(embedding_column::text, 'null'), vector_type);
  end if;
  -- The chunk index is named after the first 52 characters of the name: <name>__previous must fit.
  if pg_catalog.octet_length(target.name || '__previous') > 52 then
    raise exception using errcode = '22023',
      message = format('target %s is chunked and its name is too long for a model change: its chunk tables take the names %s__next and %s__previous, which must fit 52 bytes',
        target.name, target.name, target.name);
  end if;
  -- 23505 as for a taken version name: the command line reports it as a refusal.
  if pg_catalog.to_regclass(format('embedding_chunks.%I', target.name || '__previous')) is not null then
    raise exception using errcode = '23505',
      message = format('table embedding_chunks.%I exists, and the old version''s chunk table needs that name at the switch: drop it first',
        target.name || '__previous');
  end if;
end;
$$;
comment on function embeddings._check_chunked_change(embeddings.targets, name, text) is
  'For start_model_change on a chunked target: raises 22023 when a column or a vector type other than vector is given (the new version''s vectors go to its own chunk table) or when <name>__previous is over 52 bytes (chunk tables and their indexes are named after the versions), and 23505 when embedding_chunks.<name>__previous exists already.';

/** Renames a chunk table, and its primary key and HNSW index with it, to those of another target name. */
create or replace function embeddings._move_chunk_table(from_name text, to_name text)
returns void
language plpgsql volatile set search_path = ''
as $$
declare
  chunks regclass := format('embedding_chunks.%I', from_name)::regclass;
  primary_key name := (select c.relname from pg_catalog.pg_index as i join pg_catalog.pg_class as c on c.oid = i.indexrelid
                       where i.indrelid = chunks and i.indisprimary);
begin
  if pg_catalog.to_regclass(format('embedding_chunks.%I', to_name)) is not null then
    raise exception using errcode = '42P07',
      message = format('table embedding_chunks.%I exists, so chunk table embedding_chunks.%I cannot take its name: drop it first',
        to_name, from_name);
  end if;
  execute format('alter table embedding_chunks.%I rename to %I', from_name, to_name);
  execute format('alter index embedding_chunks.%I rename to %I', primary_key, to_name || '_pkey');
  -- None past 2,000 dimensions (embeddings._create_chunk_index); the name is how the engine finds it.
  execute format('alter index if exists embedding_chunks.%I rename to %I',
    embeddings._chunk_index_name(from_name), embeddings._chunk_index_name(to_name));
  execute format('comment on table embedding_chunks.%I is %L', to_name, pg_catalog.replace(
    pg_catalog.obj_description(chunks, 'pg_class'), format('Chunks of target %s ', from_name), format('Chunks of target %s ', to_name)));
end;
$$;
comment on function embeddings._move_chunk_table(text, text) is
  'For a model change''s swap: renames embedding_chunks.<from_name> to embedding_chunks.<to_name>, its primary key index to <to_name>_pkey and its HNSW index to the name embeddings._create_chunk_index gives <to_name>, and names the target in its comment; raises 42P07 when the name is taken. The caller drops the chunk views first and makes them again after.';

/** Raises unless a chunked target's chunk view exists and reads the chunk table of the target's name. */
create or replace function embeddings._check_chunk_view_follows(target_name text)
returns void
language plpgsql stable set search_path = ''
as $$
declare
  chunk_view regclass;
  chunk_table regclass;
begin
  select v.chunk_view, v.chunk_table into chunk_view, chunk_table
    from embedding_search.chunk_views as v where v.target_name = _check_chunk_view_follows.target_name;
  if chunk_view is null or chunk_table is null or not exists (
       select 1 from pg_catalog.pg_depend as d join pg_catalog.pg_rewrite as r on r.oid = d.objid
       where d.classid = 'pg_catalog.pg_rewrite'::regclass and r.ev_class = chunk_view
         and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid = chunk_table) then
    raise exception using errcode = 'XX000',
      message = format('after the swap, the chunk view of %s (%s) does not read its chunk table (%s); nothing was changed',
        target_name, coalesce(chunk_view::text, 'missing'), coalesce(chunk_table::text, 'missing'));
  end if;
end;
$$;
comment on function embeddings._check_chunk_view_follows(text) is
  'Raises XX000 unless the chunk view of the chunked target of that name exists and reads (pg_depend) the chunk table of that name: the check that ends a swap of a chunked target''s versions.';

/**
 * The swap of switch and rollback: the current version steps aside to aside_name and the other
 * version takes the target's name; a chunked target's chunk tables and views move with the names.
 */
create or replace function embeddings._swap_versions(
  change embeddings.model_changes, aside_id bigint, aside_name text, current_id bigint)
returns void
language plpgsql volatile set search_path = ''
as $$
declare
  aside embeddings.targets := embeddings._target_by_id(aside_id);
  coming embeddings.targets := embeddings._target_by_id(current_id);
begin
  if aside.chunking is null then
    perform embeddings._rename_version(aside.id, aside_name);
    perform embeddings._rename_version(coming.id, change.target_name);
    return;
  end if;
  -- A write_chunks in flight holds its queue entries until it commits: wait for it, and keep
  -- claims (SKIP LOCKED) off both versions until the tables have their new names.
  perform 1 from embeddings.queue as q where q.target_id in (aside.id, coming.id) order by q.target_id, q.row_key for update;
  perform embeddings._drop_engine_views_on(format('embedding_chunks.%I', aside.name)::regclass);
  perform embeddings._drop_engine_views_on(format('embedding_chunks.%I', coming.name)::regclass);
  perform embeddings._rename_version(aside.id, aside_name);
  perform embeddings._rename_version(coming.id, change.target_name);
  -- The one stepping aside first, so each name is free when taken. The search's event trigger
  -- makes each view after its table's rename; the call below makes any it did not.
  perform embeddings._move_chunk_table(aside.name, aside_name);
  perform embeddings._move_chunk_table(coming.name, change.target_name);
  perform embedding_search._follow_chunk_tables();
  perform embeddings._check_chunk_view_follows(aside_name);
  perform embeddings._check_chunk_view_follows(change.target_name);
end;
$$;
comment on function embeddings._swap_versions(embeddings.model_changes, bigint, text, bigint) is
  'Swaps a model change''s versions: aside_id (current) is renamed aside_name, current_id takes the target''s name. For a chunked target, in the same transaction: locks both versions'' queue entries (a write_chunks in flight finishes first; claims skip them meanwhile), drops the chunk views on both chunk tables, renames the chunk tables (and their indexes) with the targets, makes the views again (embedding_search._follow_chunk_tables) and checks that each reads the table of its name.';

-- =============================================================================================
-- The four steps
-- =============================================================================================

/**
 * Starts a change of a target's model: a second version with the new model, filled in the
 * background while the current version keeps answering. Returns the change.
 */
create or replace function embeddings.start_model_change(
  target_id bigint,
  model text,
  dimensions integer,
  embedding_column name default null,
  vector_type text default 'vector'
)
returns embeddings.model_changes
language plpgsql security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  source_table regclass;
  column_name name := coalesce(start_model_change.embedding_column, embeddings._model_change_column(start_model_change.model));
  index_name name;
  added boolean := false;
  new_target_id bigint;
  change embeddings.model_changes;
  broken text := embeddings._broken_reason(target);
begin
  if exists (select 1 from embeddings.model_changes as c where c.state in ('filling', 'switched')
             and target.id in (c.old_target_id, c.new_target_id)) then
    raise exception using errcode = '55000',
      message = format('target %s is in a model change already: switch, roll back or finish that one first', target.name);
  end if;
  if broken is not null then
    raise exception using errcode = '55000',
      message = format('target %s is broken: %s', target.name, broken);
  end if;
  perform embeddings._check_model_settings(start_model_change.model, start_model_change.dimensions, target.max_attempts);
  if vector_type is null or vector_type not in ('vector', 'halfvec') then
    raise exception using errcode = '22023',
      message = format('vector_type must be vector or halfvec, got %s', coalesce(vector_type, 'null'));
  end if;
  if start_model_change.model = target.model and start_model_change.dimensions = target.dimensions then
    raise exception using errcode = '22023',
      message = format('target %s uses %s (%s dimensions) already', target.name, target.model, target.dimensions);
  end if;
  perform embeddings._check_version_name_free(target.name || '__next');
  perform embeddings._check_version_name_free(target.name || '__previous');
  source_table := format('%I.%I', target.table_schema, target.table_name)::regclass;
  if target.chunking is not null then
    -- Its vectors go to its own chunk table (made by the registration): no column to add.
    perform embeddings._check_chunked_change(target, start_model_change.embedding_column, vector_type);
    column_name := null;
  elsif not exists (select 1 from pg_catalog.pg_attribute as a
                    where a.attrelid = source_table and a.attname = column_name and a.attnum > 0 and not a.attisdropped) then
    index_name := embeddings._add_model_change_column(source_table, column_name, vector_type, start_model_change.dimensions);
    added := true;
  end if;
  -- An existing column is checked by the registration: free, and of the new model's dimensions.
  new_target_id := embeddings.register_target(source_table, target.key_column,
    embeddings._content_function_oid(target.content_function)::regprocedure, column_name,
    start_model_change.model, start_model_change.dimensions, target.max_attempts, target.name || '__next',
    chunking => target.chunking);
  insert into embeddings.model_changes (target_name, old_target_id, new_target_id, old_model, new_model,
      new_dimensions, added_column, added_index)
    values (target.name, target.id, new_target_id, target.model, start_model_change.model,
      start_model_change.dimensions, case when added then column_name end, index_name)
    returning * into change;
  return change;
end;
$$;
comment on function embeddings.start_model_change(bigint, text, integer, name, text) is
  'Starts a change of a target''s model: registers a second version, <name>__next, of the same table and content function with the new model and dimensions, in embedding_column (default embedding_<model>; added by the engine as extensions.<vector_type>(<dimensions>) with an HNSW cosine index when it does not exist, else it must be a free column of those dimensions). A chunked target''s new version is chunked alike (its chunking options), with its own chunk table embedding_chunks.<name>__next of the new dimensions (no column: embedding_column must be null and vector_type vector). Its triggers and the worker fill it in the background, new and edited rows included, while search and status keep using the current version. Refuses a target already in a change, a broken one, the model it has, and a name <name>__next or <name>__previous already taken. Returns the change (embeddings.model_changes).';

/** Makes the new version current for search and status at once: the versions swap names. */
create or replace function embeddings.switch_model_change(target_id bigint, force boolean default false)
returns embeddings.model_changes
language plpgsql security definer set search_path = ''
as $$
declare
  change embeddings.model_changes := embeddings._running_model_change(target_id);
  progress record;
begin
  if change.state = 'switched' then
    raise exception using errcode = '55000',
      message = format('the model change of %s is switched already: finish it (embeddings.finish_model_change(%s)) or roll it back',
        change.target_name, change.new_target_id);
  end if;
  select * into progress from embeddings._version_progress(change.new_target_id);
  if progress.broken is not null then
    raise exception using errcode = '55000',
      message = format('the new version of %s (%s) is broken, so it cannot be switched to: %s',
        change.target_name, change.new_model, progress.broken);
  end if;
  -- Complete: every row has a vector of the new model, and none waits to be embedded (again).
  if (progress.embedded < progress.total_rows or progress.queued > 0) and not coalesce(force, false) then
    raise exception using errcode = '55000',
      message = format('the new version of %s (%s) has %s of %s rows embedded and %s in its queue: wait until every row has a current vector, or switch with force (rows without one drop out of semantic search)',
        change.target_name, change.new_model, progress.embedded, progress.total_rows, progress.queued);
  end if;
  perform embeddings._swap_versions(change, change.old_target_id, change.target_name || '__previous', change.new_target_id);
  update embeddings.model_changes as c set state = 'switched', switched_at = pg_catalog.now()
    where c.id = change.id returning * into change;
  return change;
end;
$$;
comment on function embeddings.switch_model_change(bigint, boolean) is
  'Makes the new version of a model change current (either version''s target id): the versions swap names in one transaction (a chunked target''s chunk tables and chunk views with them, embeddings._swap_versions), so from its commit search and status of <name> read the new model''s vectors, and the old version is <name>__previous (still kept filled, for a rollback). Refuses unless the new version has every row embedded and nothing in its queue (force switches anyway) and is whole, and a change switched already.';

/**
 * Goes back: after a switch the old version is current again (the change keeps filling); before
 * one, the change is abandoned: the new version is unregistered and the column the engine added dropped.
 */
create or replace function embeddings.rollback_model_change(target_id bigint)
returns embeddings.model_changes
language plpgsql security definer set search_path = ''
as $$
declare
  change embeddings.model_changes := embeddings._running_model_change(target_id);
  old_version embeddings.targets;
begin
  if change.state = 'switched' then
    old_version := embeddings._target_by_id(change.old_target_id);
    perform embeddings._swap_versions(change, change.new_target_id, change.target_name || '__next', old_version.id);
    update embeddings.model_changes as c set state = 'filling', switched_at = null
      where c.id = change.id returning * into change;
    return change;
  end if;
  perform embeddings._drop_version(change.new_target_id, change.added_column);
  update embeddings.model_changes as c set state = 'rolled back', ended_at = pg_catalog.now()
    where c.id = change.id returning * into change;
  return change;
end;
$$;
comment on function embeddings.rollback_model_change(bigint) is
  'Goes back in a model change (either version''s target id): after a switch, the old version takes the name again (a chunked target''s chunk tables move back with the names) (current for search and status; it was kept filled) and the new one is <name>__next, still filling; before a switch, the change is abandoned: the new version is unregistered and the column the engine added for it dropped with its index (state rolled back). Raises 55000 when the target has no change running.';

/** Unregisters a version and drops its column when the engine added it. */
create or replace function embeddings._drop_version(target_id bigint, added_column name)
returns void
language plpgsql volatile set search_path = ''
as $$
declare
  version embeddings.targets := embeddings._target_by_id(target_id);
begin
  perform pg_catalog.set_config('embeddings.model_change_step', 'on', true);
  perform embeddings.unregister_target(version.id);
  perform pg_catalog.set_config('embeddings.model_change_step', '', true);
  if added_column is not null then
    -- Its index goes with it.
    execute format('alter table %I.%I drop column %I', version.table_schema, version.table_name, added_column);
  end if;
end;
$$;
comment on function embeddings._drop_version(bigint, name) is
  'Unregisters one version of a model change (triggers, queue entries, records) and, when added_column is given (the engine added it), drops that column, its index with it. Any other column stays.';

/** Ends a switched change: the old version is unregistered, its column dropped only if the engine added it. */
create or replace function embeddings.finish_model_change(target_id bigint)
returns embeddings.model_changes
language plpgsql security definer set search_path = ''
as $$
declare
  change embeddings.model_changes := embeddings._running_model_change(target_id);
  old_column name;
begin
  if change.state <> 'switched' then
    raise exception using errcode = '55000',
      message = format('the model change of %s is not switched: the old version (%s) is still the one search uses; switch first (embeddings.switch_model_change(%s)), or roll back',
        change.target_name, change.old_model, change.old_target_id);
  end if;
  -- The old version's column is the engine's only when an earlier change added it for that version.
  select c.added_column into old_column from embeddings.model_changes as c
    where c.new_target_id = change.old_target_id and c.state = 'finished' and c.added_column is not null;
  perform embeddings._drop_version(change.old_target_id, old_column);
  update embeddings.model_changes as c set state = 'finished', ended_at = pg_catalog.now()
    where c.id = change.id returning * into change;
  return change;
end;
$$;
comment on function embeddings.finish_model_change(bigint) is
  'Ends a switched model change (either version''s target id): unregisters the old version (its triggers, queue entries and records; a chunked target''s old chunk table and its chunk view) and drops its column and index only when the engine added that column (an earlier model change); a column that was there before stays, with its vectors. Refuses a change not switched yet.';

-- =============================================================================================
-- Progress: both versions of every running change
-- =============================================================================================

/** Each running change with both versions' progress, counted as embeddings.status counts. */
create or replace function embeddings.model_change_status()
returns table (
  change_id bigint, target_name text, state text, current_model text,
  old_target_id bigint, old_model text, old_total_rows bigint, old_embedded bigint,
  new_target_id bigint, new_model text, new_dimensions integer, new_total_rows bigint, new_embedded bigint,
  new_pending bigint, added_column name, started_at timestamptz, switched_at timestamptz
)
language plpgsql volatile security definer set search_path = ''
as $$
declare
  change embeddings.model_changes;
  old_status record;
  new_status record;
begin
  for change in
    select * from embeddings.model_changes as c where c.state in ('filling', 'switched') order by c.id
  loop
    select s.total_rows, s.embedded into old_status from embeddings.status(change.old_target_id) as s;
    select s.total_rows, s.embedded, s.pending + s.in_flight as waiting into new_status
      from embeddings.status(change.new_target_id) as s;
    change_id := change.id;
    target_name := change.target_name;
    state := change.state;
    current_model := case change.state when 'switched' then change.new_model else change.old_model end;
    old_target_id := change.old_target_id;
    old_model := change.old_model;
    old_total_rows := old_status.total_rows;
    old_embedded := old_status.embedded;
    new_target_id := change.new_target_id;
    new_model := change.new_model;
    new_dimensions := change.new_dimensions;
    new_total_rows := new_status.total_rows;
    new_embedded := new_status.embedded;
    new_pending := new_status.waiting;
    added_column := change.added_column;
    started_at := change.started_at;
    switched_at := change.switched_at;
    return next;
  end loop;
end;
$$;
comment on function embeddings.model_change_status() is
  'One row per running model change: its target''s name, its state (filling: the old model answers; switched: the new one does), and both versions'' rows and rows embedded with their model (as embeddings.status counts them), the new version''s rows queued or in flight, and the column the engine added.';
