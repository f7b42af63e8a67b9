-- =============================================================================================
-- EMBEDDING ENGINE: the registry of targets, the queue, and how rows get into it
-- =============================================================================================
-- A target is a table's vector column, with the key, the content function that says what text a
-- row embeds, and the model. Triggers queue rows whose text changes; a chunked backfill queues
-- the rows that were there first. Internal functions start with `_`.

-- =============================================================================================
-- Tables
-- =============================================================================================

/** Registered targets. Change it only through register_target, set_target_model, unregister_target. */
create table embeddings.targets (
  id bigint generated always as identity primary key,
  name text not null unique,
  table_schema name not null,
  table_name name not null,
  key_column name not null,
  key_type text not null check (key_type in ('uuid', 'bigint', 'integer', 'text')),
  -- The schema-qualified signature as text, resolved with to_regprocedure when used: a reg*
  -- column would block pg_upgrade (Supabase's advisor, unsupported_reg_types).
  content_function text not null,
  embedding_column name not null,
  model text not null check (model <> ''),
  dimensions integer not null check (dimensions between 1 and 16000),
  max_attempts integer not null default 5 check (max_attempts between 1 and 100),
  -- Vectors written by someone else are re-embedded unless the target adopts them (vectors
  -- imported from elsewhere, made with the same model).
  adopt_existing_vectors boolean not null default false,
  -- The model makes unit-length vectors (gte-small, OpenAI text-embedding-3, the local model):
  -- verify flags any other norm.
  unit_norm boolean not null default true,
  -- The chunked backfill's position: the last key it queued, and whether it reached the end.
  backfill_after text,
  backfill_done boolean not null default false,
  last_write_at timestamptz,
  created_at timestamptz not null default now(),
  unique (table_schema, table_name, embedding_column)
);
comment on table embeddings.targets is
  'Registered embedding targets: table, key, content function (signature as text), embedding column, model and dimensions. Change it only through register_target, set_target_model and unregister_target. RLS on with no policy on purpose: only service_role (which bypasses RLS) reads it.';
alter table embeddings.targets enable row level security;

/** Rows that need an embedding, one entry per row however often it changed. */
create table embeddings.queue (
  target_id bigint not null references embeddings.targets (id) on delete cascade,
  row_key text not null,
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  lease_token uuid,
  leased_until timestamptz,
  last_error text,
  dead_at timestamptz,
  enqueued_at timestamptz not null default now(),
  primary key (target_id, row_key)
);
comment on table embeddings.queue is
  'Rows that need an embedding, one entry per row however often it changed. A lease (lease_token, leased_until) marks a batch a worker is embedding; dead_at marks a row that failed max_attempts times. RLS on with no policy on purpose: only service_role reads it.';
create index queue_claimable_idx on embeddings.queue (target_id, next_attempt_at)
  where dead_at is null;
alter table embeddings.queue enable row level security;

/** Which model embedded which content for each row. */
create table embeddings.embedded_rows (
  target_id bigint not null references embeddings.targets (id) on delete cascade,
  row_key text not null,
  model text not null,
  content_hash text not null,
  -- md5 of the vector as text when written: verify tells a vector replaced behind the triggers'
  -- back (a restore, replica mode) from the one the engine wrote.
  vector_hash text,
  embedded_at timestamptz not null default now(),
  primary key (target_id, row_key)
);
comment on table embeddings.embedded_rows is
  'Which model embedded which content (md5 of the content function''s text) into which vector (md5 of its text) for each row: the proof a stored vector matches its row. RLS on with no policy on purpose: only service_role reads it.';
alter table embeddings.embedded_rows enable row level security;

-- =============================================================================================
-- Internal: look-ups and checks shared by the API
-- =============================================================================================

/** The content function a signature's text names, or null; never an error for a missing type. */
create or replace function embeddings._content_function_oid(signature text)
returns oid
language plpgsql stable set search_path = ''
as $$
declare
  argument_type text := pg_catalog.rtrim(pg_catalog.split_part(signature, '(', 2), ')');
begin
  -- to_regprocedure raises when the argument's type is unknown: after the table (its row type)
  -- was renamed, the stored text names the old type, so look the function up by name instead.
  if pg_catalog.to_regtype(argument_type) is not null then
    return pg_catalog.to_regprocedure(signature);
  end if;
  return (
    select p.oid from pg_catalog.pg_proc as p
    where p.oid = pg_catalog.to_regproc(pg_catalog.split_part(signature, '(', 1)) and p.pronargs = 1
  );
end;
$$;
comment on function embeddings._content_function_oid(text) is
  'The function a content function''s stored signature names, or null when there is none; when the signature''s argument type no longer exists (the table was renamed), the function of that name taking one argument.';

/**
 * The registry row of a target, or a clear error. A renamed table is followed: its sync trigger
 * stays attached to it whatever its name, so the registry takes the table's new name from there.
 */
create or replace function embeddings._target_by_id(target_id bigint)
returns embeddings.targets
language plpgsql volatile set search_path = ''
as $$
declare
  target embeddings.targets;
  current_schema_name name;
  current_table_name name;
begin
  select * into target from embeddings.targets as t where t.id = _target_by_id.target_id;
  if not found then
    raise exception using errcode = 'P0002', message = format('no embedding target with id %s', target_id);
  end if;
  if pg_catalog.to_regclass(format('%I.%I', target.table_schema, target.table_name)) is null then
    select n.nspname, c.relname into current_schema_name, current_table_name
      from pg_catalog.pg_trigger as tg
      join pg_catalog.pg_class as c on c.oid = tg.tgrelid
      join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
      where tg.tgname = 'embeddings_queue_' || target.id;
    if found then
      update embeddings.targets as t
        set table_schema = current_schema_name, table_name = current_table_name,
            content_function = coalesce(
              embeddings._content_function_oid(t.content_function)::regprocedure::text, t.content_function)
        where t.id = target.id
        returning * into target;
    end if;
  end if;
  return target;
end;
$$;
comment on function embeddings._target_by_id(bigint) is
  'The registry row of a target, or a clear error when there is none. Follows a renamed (or moved) table through its sync trigger and updates the registry (the table''s name and the content function''s signature).';

/** Why a target cannot be worked (its table, column or content function is gone), or null. */
create or replace function embeddings._broken_reason(target embeddings.targets)
returns text
language plpgsql stable set search_path = ''
as $$
declare
  source_table regclass := pg_catalog.to_regclass(format('%I.%I', target.table_schema, target.table_name));
  column_type text;
  column_dimensions integer;
begin
  if source_table is null then
    return format('table %I.%I does not exist (dropped?); fix: restore it, or select embeddings.unregister_target(%s);',
      target.table_schema, target.table_name, target.id);
  end if;
  if embeddings._content_function_oid(target.content_function) is null then
    return format('content function %s does not exist; fix: create it again, or select embeddings.unregister_target(%s);',
      target.content_function, target.id);
  end if;
  select pg_catalog.format_type(a.atttypid, null), nullif(a.atttypmod, -1) into column_type, column_dimensions
    from pg_catalog.pg_attribute as a
    where a.attrelid = source_table and a.attname = target.embedding_column and a.attnum > 0 and not a.attisdropped;
  if not found or column_type not in ('extensions.vector', 'vector', 'extensions.halfvec', 'halfvec') then
    return format('column %I of %s is missing or not a pgvector vector or halfvec (renamed?); fix: restore it, or select embeddings.unregister_target(%s);',
      target.embedding_column, source_table, target.id);
  end if;
  if column_dimensions is distinct from target.dimensions then
    return format('column %I of %s holds vector(%s) but model %s makes %s dimensions; fix: alter the column back, or select embeddings.set_target_model(%s, <model>, %s);',
      target.embedding_column, source_table, coalesce(column_dimensions::text, 'any'), target.model,
      target.dimensions, target.id, coalesce(column_dimensions::text, '<dimensions>'));
  end if;
  return null;
end;
$$;
comment on function embeddings._broken_reason(embeddings.targets) is
  'Why a target cannot be worked, with the fix: its table, content function or vector column is gone, or the column no longer has the model''s dimensions. Null when the target is whole.';

/** The quoted name of a target's content function, for dynamic SQL; an error if it is gone. */
create or replace function embeddings._content_function_name(target embeddings.targets)
returns text
language plpgsql stable set search_path = ''
as $$
declare
  quoted_name text;
begin
  select format('%I.%I', n.nspname, p.proname) into quoted_name
    from pg_catalog.pg_proc as p
    join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
    where p.oid = embeddings._content_function_oid(target.content_function);
  if quoted_name is null then
    raise exception using errcode = '42883',
      message = format('content function %s of target %s no longer exists', target.content_function, target.name);
  end if;
  return quoted_name;
end;
$$;
comment on function embeddings._content_function_name(embeddings.targets) is
  'The quoted, schema-qualified name of a target''s content function, for dynamic SQL; a clear error when the function no longer exists.';

/** Raises unless the column is a pgvector vector of exactly the model's dimensions. */
create or replace function embeddings._check_column_dimensions(
  source_table regclass,
  embedding_column name,
  model text,
  dimensions integer
)
returns void
language plpgsql stable set search_path = ''
as $$
declare
  column_type text;
  column_dimensions integer;
begin
  select pg_catalog.format_type(a.atttypid, null), nullif(a.atttypmod, -1)
    into column_type, column_dimensions
    from pg_catalog.pg_attribute as a
    where a.attrelid = source_table and a.attname = embedding_column and a.attnum > 0 and not a.attisdropped;
  if not found then
    raise exception using errcode = '42703',
      message = format('table %s has no column %I for the embedding', source_table, embedding_column);
  end if;
  if column_type not in ('extensions.vector', 'vector', 'extensions.halfvec', 'halfvec') then
    raise exception using errcode = '22023',
      message = format('column %I is %s, not a pgvector vector or halfvec', embedding_column, column_type);
  end if;
  if column_dimensions is distinct from dimensions then
    raise exception using errcode = '22023',
      message = format('column %s.%I holds vector(%s) but model %s makes %s dimensions',
        source_table, embedding_column, coalesce(column_dimensions::text, 'any'), model, dimensions);
  end if;
end;
$$;
comment on function embeddings._check_column_dimensions(regclass, name, text, integer) is
  'Raises a clear error unless the column is a pgvector vector or halfvec declared with exactly the model''s dimensions.';

-- =============================================================================================
-- Sync triggers: the bookkeeping follows every change to the table, the vector column included
-- =============================================================================================

/** True while write_batch writes vectors of this target: the only writes the engine vouches for. */
create or replace function embeddings._engine_is_writing(target_id bigint)
returns boolean
language sql stable set search_path = ''
as $$
  select pg_catalog.current_setting('embeddings.writing_target', true) = target_id::text
$$;
comment on function embeddings._engine_is_writing(bigint) is
  'True while embeddings.write_batch is writing vectors of this target (a transaction-local setting it sets around its UPDATE): the sync trigger leaves those writes alone.';

/** Queues a row to be embedded (again), keeping any lease; a change earns fresh attempts. */
create or replace function embeddings._queue_row(target_id bigint, row_key text)
returns void
language sql volatile set search_path = ''
as $$
  insert into embeddings.queue as q (target_id, row_key)
    values (_queue_row.target_id, _queue_row.row_key)
    on conflict on constraint queue_pkey do update
      set attempts = 0, next_attempt_at = pg_catalog.now(), dead_at = null, last_error = null
$$;
comment on function embeddings._queue_row(bigint, text) is
  'Queues a row for embedding; a row already queued keeps its place and any lease, with fresh attempts.';

/** Installed by register_target on each target's table (argument: the target id). */
create or replace function embeddings._queue_changed_row()
returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(tg_argv[0]::bigint);
  changed_key text;
  content_changed boolean := true;
  vector_changed boolean := false;
  vector_present boolean := false;
begin
  if tg_op = 'DELETE' then
    changed_key := pg_catalog.to_jsonb(old) ->> target.key_column;
    delete from embeddings.queue as q where q.target_id = target.id and q.row_key = changed_key;
    delete from embeddings.embedded_rows as e where e.target_id = target.id and e.row_key = changed_key;
    return old;
  end if;
  if embeddings._engine_is_writing(target.id) then
    return new;  -- write_batch keeps its own books
  end if;

  changed_key := pg_catalog.to_jsonb(new) ->> target.key_column;
  if tg_op = 'UPDATE' and changed_key is distinct from pg_catalog.to_jsonb(old) ->> target.key_column then
    -- A new key is a new row to the books: the old key's entry and record go.
    delete from embeddings.queue as q
      where q.target_id = target.id and q.row_key = pg_catalog.to_jsonb(old) ->> target.key_column;
    delete from embeddings.embedded_rows as e
      where e.target_id = target.id and e.row_key = pg_catalog.to_jsonb(old) ->> target.key_column;
    perform embeddings._queue_row(target.id, changed_key);
    return new;
  end if;
  if tg_op = 'UPDATE' then
    -- pgvector's = lives in extensions, out of this empty search_path: named, with nulls apart.
    execute format(
      $sql$
        select %1$s($1) is distinct from %1$s($2),
               coalesce(not (($1).%2$I operator(extensions.=) ($2).%2$I), (($1).%2$I is null) <> (($2).%2$I is null)),
               ($2).%2$I is not null
      $sql$,
      embeddings._content_function_name(target), target.embedding_column)
      into content_changed, vector_changed, vector_present using old, new;
    if not content_changed and not vector_changed then
      return new;
    end if;
  elsif target.adopt_existing_vectors then
    execute format('select ($1).%I is not null', target.embedding_column) into vector_present using new;
  end if;

  -- A vector set by someone else: adopted when the target says so, otherwise not vouched for.
  if vector_present and target.adopt_existing_vectors and (tg_op = 'INSERT' or vector_changed) then
    execute format(
      $sql$
        insert into embeddings.embedded_rows as e (target_id, row_key, model, content_hash, vector_hash)
          values ($1, $2, $3, pg_catalog.md5(%1$s($4)), pg_catalog.md5((($4).%2$I)::text))
          on conflict on constraint embedded_rows_pkey do update
            set model = excluded.model, content_hash = excluded.content_hash,
                vector_hash = excluded.vector_hash, embedded_at = pg_catalog.now()
      $sql$, embeddings._content_function_name(target), target.embedding_column)
      using target.id, changed_key, target.model, new;
    delete from embeddings.queue as q
      where q.target_id = target.id and q.row_key = changed_key and q.lease_token is null;
    return new;
  end if;
  if vector_changed then
    delete from embeddings.embedded_rows as e where e.target_id = target.id and e.row_key = changed_key;
  end if;
  perform embeddings._queue_row(target.id, changed_key);
  return new;
end;
$$;
comment on function embeddings._queue_changed_row() is
  'Row trigger installed by register_target (argument: target id): queues inserted rows and rows whose content changed; a vector set or cleared by anyone but write_batch loses its record and is queued again (or, on a target that adopts existing vectors, is recorded as the target''s model); a deleted row leaves no queue entry or record.';

/** Installed by register_target: a TRUNCATE clears the target's books and restarts its backfill. */
create or replace function embeddings._forget_truncated_rows()
returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(tg_argv[0]::bigint);
begin
  delete from embeddings.queue as q where q.target_id = target.id;
  delete from embeddings.embedded_rows as e where e.target_id = target.id;
  update embeddings.targets as t set backfill_after = null, backfill_done = false where t.id = target.id;
  return null;
end;
$$;
comment on function embeddings._forget_truncated_rows() is
  'Statement trigger installed by register_target (argument: target id): after a TRUNCATE, the target''s queue entries and records go and its backfill starts again, so rows loaded afterwards (a restore) are embedded.';

-- =============================================================================================
-- Backfill in chunks
-- =============================================================================================

/** Queues the next chunk of rows not yet embedded with the target's model. */
create or replace function embeddings.queue_backfill_chunk(target_id bigint, chunk_size integer default 10000)
returns integer
language plpgsql security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  queued integer;
  last_key text;
  scanned integer;
begin
  if target.backfill_done then
    return 0;
  end if;
  if chunk_size is null or chunk_size < 1 then
    raise exception using errcode = '22023', message = format('chunk_size must be positive, got %s', chunk_size);
  end if;
  -- Each chunk is one short statement in key order after a cursor: no table-wide transaction
  -- and no lock beyond ACCESS SHARE, so a million-row table is queued in many small steps.
  execute format(
    $sql$
      with chunk as (
        select t.%1$I::text as row_key, $5 and t.%5$I is not null as adopt, t as source_row,
               pg_catalog.md5(t.%5$I::text) as vector_hash
        from %2$I.%3$I as t
        where ($1::text is null or t.%1$I > $1::%4$s)
        order by t.%1$I
        limit $2
      ),
      needed as (
        select c.row_key, c.adopt, c.source_row, c.vector_hash from chunk as c
        where not exists (
          select 1 from embeddings.embedded_rows as e
          where e.target_id = $3 and e.row_key = c.row_key and e.model = $4
        )
      ),
      adopted as (
        insert into embeddings.embedded_rows (target_id, row_key, model, content_hash, vector_hash)
        select $3, n.row_key, $4, pg_catalog.md5(%6$s(n.source_row)), n.vector_hash from needed as n where n.adopt
        on conflict on constraint embedded_rows_pkey do update
          set model = excluded.model, content_hash = excluded.content_hash,
              vector_hash = excluded.vector_hash, embedded_at = pg_catalog.now()
      ),
      inserted as (
        insert into embeddings.queue (target_id, row_key)
        select $3, n.row_key from needed as n where not n.adopt
        on conflict (target_id, row_key) do nothing
        returning 1
      )
      select (select count(*) from inserted)::integer,
             (select count(*) from chunk)::integer,
             (select c.row_key from chunk as c order by c.row_key::%4$s desc limit 1)
    $sql$,
    target.key_column, target.table_schema, target.table_name, target.key_type,
    target.embedding_column, embeddings._content_function_name(target)
  ) into queued, scanned, last_key
  using target.backfill_after, chunk_size, target.id, target.model, target.adopt_existing_vectors;

  update embeddings.targets as t
    set backfill_after = coalesce(last_key, t.backfill_after),
        backfill_done = scanned < chunk_size
    where t.id = target.id;
  return queued;
end;
$$;
comment on function embeddings.queue_backfill_chunk(bigint, integer) is
  'Queues the next chunk_size rows (10,000 unless given; in key order after the backfill cursor) that were not embedded with the target''s model (on a target that adopts existing vectors, rows that have one are recorded instead); marks the backfill done at the end of the table. Returns how many it queued.';

-- =============================================================================================
-- Registration
-- =============================================================================================

/** Registers a table's vector column as a target; returns the target id. */
create or replace function embeddings.register_target(
  source_table regclass,
  key_column name,
  content_function regprocedure,
  embedding_column name,
  model text,
  dimensions integer,
  max_attempts integer default 5,
  target_name text default null
)
returns bigint
language plpgsql security definer set search_path = ''
as $$
declare
  table_schema name;
  table_name name;
  table_type oid;
  key_type text;
  key_not_null boolean;
  new_name text;
  function_takes_row boolean;
  function_result oid;
  new_id bigint;
  existing_id bigint;
begin
  if model is null or pg_catalog.btrim(model) = '' then
    raise exception using errcode = '22023', message = 'model must be a model''s name, got an empty one';
  end if;
  if dimensions is null or dimensions not between 1 and 16000 then
    raise exception using errcode = '22023',
      message = format('dimensions must be between 1 and 16000, got %s', coalesce(dimensions::text, 'null'));
  end if;
  if max_attempts is null or max_attempts not between 1 and 100 then
    raise exception using errcode = '22023',
      message = format('max_attempts must be between 1 and 100, got %s', coalesce(max_attempts::text, 'null'));
  end if;

  select n.nspname, c.relname, c.reltype into table_schema, table_name, table_type
    from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where c.oid = source_table and c.relkind in ('r', 'p');
  if not found then
    raise exception using errcode = '42P01', message = format('%s is not a table', source_table);
  end if;

  select pg_catalog.format_type(a.atttypid, null), a.attnotnull into key_type, key_not_null
    from pg_catalog.pg_attribute as a
    where a.attrelid = source_table and a.attname = key_column and a.attnum > 0 and not a.attisdropped;
  if not found then
    raise exception using errcode = '42703',
      message = format('table %I.%I has no column %I for the key', table_schema, table_name, key_column);
  end if;
  if key_type not in ('uuid', 'bigint', 'integer', 'text') then
    raise exception using errcode = '22023',
      message = format('key column %I is %s; the key must be uuid, bigint, integer or text', key_column, key_type);
  end if;
  if not exists (
    select 1 from pg_catalog.pg_index as i
    where i.indrelid = source_table and (i.indisprimary or i.indisunique) and i.indnatts = 1
      and i.indkey[0] = (select a.attnum from pg_catalog.pg_attribute as a
                         where a.attrelid = source_table and a.attname = key_column)
  ) then
    raise exception using errcode = '22023',
      message = format('key column %I of %I.%I is not the primary key or unique', key_column, table_schema, table_name);
  end if;
  if not key_not_null then
    raise exception using errcode = '22023',
      message = format('key column %I of %I.%I can hold NULL, and a row without a key can never be embedded: add NOT NULL to it, or use the primary key',
        key_column, table_schema, table_name);
  end if;

  perform embeddings._check_column_dimensions(source_table, embedding_column, model, dimensions);

  select p.pronargs = 1 and p.proargtypes[0] = table_type, p.prorettype
    into function_takes_row, function_result
    from pg_catalog.pg_proc as p where p.oid = content_function::oid;
  if not function_takes_row or function_result <> 'text'::regtype then
    raise exception using errcode = '22023',
      message = format('content function %s must take one %I.%I row and return text', content_function, table_schema, table_name);
  end if;

  new_name := coalesce(target_name, table_name);
  select t.id into existing_id from embeddings.targets as t where t.name = new_name;
  if found then
    raise exception using errcode = '23505',
      message = format('a target named %s is already registered (id %s): pass target_name to give this one another name',
        new_name, existing_id);
  end if;
  select t.id into existing_id from embeddings.targets as t
    where pg_catalog.to_regclass(format('%I.%I', t.table_schema, t.table_name)) = source_table
      and t.embedding_column = register_target.embedding_column;
  if found then
    raise exception using errcode = '23505',
      message = format('%I.%I.%I is already registered as target %s', table_schema, table_name, embedding_column, existing_id);
  end if;

  -- With search_path '' the signature's text is fully schema-qualified.
  insert into embeddings.targets (name, table_schema, table_name, key_column, key_type,
      content_function, embedding_column, model, dimensions, max_attempts)
    values (new_name, table_schema, table_name, key_column, key_type,
      content_function::text, embedding_column, model, dimensions, max_attempts)
    returning id into new_id;

  execute format(
    'create trigger %I after insert or update or delete on %I.%I for each row execute function embeddings._queue_changed_row(%L)',
    'embeddings_queue_' || new_id, table_schema, table_name, new_id);
  execute format(
    'create trigger %I after truncate on %I.%I for each statement execute function embeddings._forget_truncated_rows(%L)',
    'embeddings_truncate_' || new_id, table_schema, table_name, new_id);

  perform embeddings.queue_backfill_chunk(new_id);
  return new_id;
end;
$$;
comment on function embeddings.register_target(regclass, name, regprocedure, name, text, integer, integer, text) is
  'Registers a table as an embedding target: checks the key, the content function and that the embedding column''s dimensions match the model; installs the sync triggers (rows, and TRUNCATE); queues the first backfill chunk (claims queue the rest). Returns the target id.';

/** Removes a target: its trigger, queue entries and records. Stored vectors stay. */
create or replace function embeddings.unregister_target(target_id bigint)
returns void
language plpgsql security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
begin
  -- A dropped table took its triggers with it.
  if pg_catalog.to_regclass(format('%I.%I', target.table_schema, target.table_name)) is not null then
    execute format('drop trigger if exists %I on %I.%I',
      'embeddings_queue_' || target.id, target.table_schema, target.table_name);
    execute format('drop trigger if exists %I on %I.%I',
      'embeddings_truncate_' || target.id, target.table_schema, target.table_name);
  end if;
  delete from embeddings.targets as t where t.id = target.id;
end;
$$;
comment on function embeddings.unregister_target(bigint) is
  'Removes everything register_target installed: the triggers, the queue entries and the embedding records of the target. Stored vectors stay in the table.';

/** Switches a target to another model of the column's size and queues every row again. */
create or replace function embeddings.set_target_model(target_id bigint, model text, dimensions integer)
returns void
language plpgsql security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
begin
  perform embeddings._check_column_dimensions(
    format('%I.%I', target.table_schema, target.table_name)::regclass,
    target.embedding_column, set_target_model.model, set_target_model.dimensions);
  if set_target_model.model = target.model then
    return;
  end if;
  -- Every row must be embedded again; until then, status counts only vectors of the new model.
  update embeddings.targets as t
    set model = set_target_model.model, dimensions = set_target_model.dimensions,
        backfill_after = null, backfill_done = false
    where t.id = target.id;
  perform embeddings.queue_backfill_chunk(target.id);
end;
$$;
comment on function embeddings.set_target_model(bigint, text, integer) is
  'Switches a target to another model of the column''s dimensions and queues every row again; writes of the old model are refused from then on.';

/** Sets how a target treats vectors the engine did not write, and whether its model normalises. */
create or replace function embeddings.set_target_options(
  target_id bigint,
  adopt_existing_vectors boolean default null,
  unit_norm boolean default null
)
returns integer
language plpgsql security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  adopted integer := 0;
begin
  update embeddings.targets as t
    set adopt_existing_vectors = coalesce(set_target_options.adopt_existing_vectors, t.adopt_existing_vectors),
        unit_norm = coalesce(set_target_options.unit_norm, t.unit_norm)
    where t.id = target.id
    returning * into target;
  if not target.adopt_existing_vectors then
    return 0;
  end if;
  -- Adopting: every vector already in the column counts as the target's model, for its row's
  -- current text, and its row leaves the queue unless a worker holds it.
  execute format(
    $sql$
      with present as (
        select t.%1$I::text as row_key, pg_catalog.md5(%4$s(t)) as content_hash,
               pg_catalog.md5(t.%5$I::text) as vector_hash
        from %2$I.%3$I as t where t.%5$I is not null
      ),
      recorded as (
        insert into embeddings.embedded_rows as e (target_id, row_key, model, content_hash, vector_hash)
        select $1, p.row_key, $2, p.content_hash, p.vector_hash from present as p
        on conflict on constraint embedded_rows_pkey do update
          set model = excluded.model, content_hash = excluded.content_hash,
              vector_hash = excluded.vector_hash, embedded_at = pg_catalog.now()
        returning e.row_key
      ),
      dequeued as (
        delete from embeddings.queue as q using recorded as r
        where q.target_id = $1 and q.row_key = r.row_key and q.lease_token is null
      )
      select count(*)::integer from recorded
    $sql$,
    target.key_column, target.table_schema, target.table_name,
    embeddings._content_function_name(target), target.embedding_column)
  into adopted
  using target.id, target.model;
  return adopted;
end;
$$;
comment on function embeddings.set_target_options(bigint, boolean, boolean) is
  'Sets a target''s options (null leaves one as it is): adopt_existing_vectors records vectors written by anyone as the target''s model (for vectors imported from elsewhere, made with the same model) instead of re-embedding them, and adopts those already in the column; unit_norm says the model makes unit-length vectors (verify flags other norms). Returns how many vectors it adopted.';
