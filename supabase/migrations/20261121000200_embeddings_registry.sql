-- =============================================================================================
-- EMBEDDING ENGINE: the registry of targets, the queue, and how rows get into it
-- =============================================================================================
-- A target is a table's vector column, with the key, the content function that says what text a
-- row embeds, and the model. Triggers queue rows whose text changes; a chunked backfill queues
-- the rows that were there first. Internal functions start with `_`.

-- =============================================================================================
-- Chunking options: what a chunked target's worker cuts its rows' text into
-- =============================================================================================

/**
 * The chunking a chunked target gets for what its registration leaves out: by characters, 300
 * with 45 of overlap, cut by the recursive splitter (paragraphs, then sentences, then words).
 * 300 by measurement: `deno task eval --long` ranked long documents best by their 300-character
 * chunks (MRR@10 0.33-0.35, against 0.12-0.20 at 1,500 and above; see docs/chunking.md).
 */
create or replace function embeddings.default_chunking()
returns jsonb
language sql immutable set search_path = ''
as $$
  select '{"unit": "characters", "size": 300, "overlap": 45, "splitter": "recursive"}'::jsonb
$$;
comment on function embeddings.default_chunking() is
  'The chunking options a chunked target gets for any it does not give: unit characters, size 300, overlap 45, splitter recursive (the size measured by deno task eval --long, docs/chunking.md).';

/**
 * A chunking option checked and completed: an object of unit (characters or tokens), size (16 to
 * 100,000 units), overlap (0 up to size - 1) and splitter (recursive or markdown), each defaulted
 * from embeddings.default_chunking() (a size given without an overlap gets 15% of it); any other key, or a value out of range, is a clear error.
 */
create or replace function embeddings._check_chunking(chunking jsonb)
returns jsonb
language plpgsql immutable set search_path = ''
as $$
declare
  checked jsonb;
  unknown_key text;
  size_value jsonb;
  overlap_value jsonb;
begin
  if chunking is null or jsonb_typeof(chunking) <> 'object' then
    raise exception using errcode = '22023',
      message = format('chunking must be a JSON object of unit, size, overlap and splitter, got %s',
        coalesce(left(chunking::text, 80), 'null'));
  end if;
  select k into unknown_key from jsonb_object_keys(chunking) as k
    where k not in ('unit', 'size', 'overlap', 'splitter') order by k limit 1;
  if unknown_key is not null then
    raise exception using errcode = '22023',
      message = format('chunking has no option %s: its options are unit, size, overlap and splitter', unknown_key);
  end if;
  checked := embeddings.default_chunking() || jsonb_strip_nulls(chunking);
  -- A size given without an overlap: 15% of it, the default's share (the eval's setting).
  if jsonb_typeof(checked -> 'size') = 'number' and chunking -> 'overlap' is null
     and (checked ->> 'size')::numeric > 0 then
    checked := checked || jsonb_build_object('overlap', floor((checked ->> 'size')::numeric * 0.15)::integer);
  end if;
  if checked ->> 'unit' is null or checked ->> 'unit' not in ('characters', 'tokens')
     or jsonb_typeof(checked -> 'unit') <> 'string' then
    raise exception using errcode = '22023',
      message = format('chunking unit must be "characters" or "tokens", got %s', checked -> 'unit');
  end if;
  if jsonb_typeof(checked -> 'splitter') <> 'string' or checked ->> 'splitter' not in ('recursive', 'markdown') then
    raise exception using errcode = '22023',
      message = format('chunking splitter must be "recursive" or "markdown", got %s', checked -> 'splitter');
  end if;
  size_value := checked -> 'size';
  overlap_value := checked -> 'overlap';
  if jsonb_typeof(size_value) <> 'number' or size_value::numeric <> trunc(size_value::numeric)
     or size_value::numeric not between 16 and 100000 then
    raise exception using errcode = '22023',
      message = format('chunking size must be a whole number of %s between 16 and 100000, got %s',
        checked ->> 'unit', size_value);
  end if;
  if jsonb_typeof(overlap_value) <> 'number' or overlap_value::numeric <> trunc(overlap_value::numeric)
     or overlap_value::numeric < 0 or overlap_value::numeric >= size_value::numeric then
    raise exception using errcode = '22023',
      message = format('chunking overlap must be a whole number of %s from 0 to less than the size (%s), got %s',
        checked ->> 'unit', size_value, overlap_value);
  end if;
  return jsonb_build_object('unit', checked ->> 'unit', 'size', size_value::integer,
    'overlap', overlap_value::integer, 'splitter', checked ->> 'splitter');
end;
$$;
comment on function embeddings._check_chunking(jsonb) is
  'A chunking option checked and completed from embeddings.default_chunking(): {"unit": "characters" | "tokens", "size": 16..100000, "overlap": 0..size-1 (by default 15% of the size), "splitter": "recursive" | "markdown"}; raises a clear error naming any other key or a value out of range.';

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
  -- A whole-row target's vector column; null for a chunked target, whose vectors live in its
  -- chunk table (embeddings.chunk_table), never in the source table.
  embedding_column name,
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
  -- Null: one vector per row, in embedding_column. Else how the worker cuts each row's text into
  -- chunks (embeddings._check_chunking's form, stored completed).
  chunking jsonb check (chunking is null or chunking = embeddings._check_chunking(chunking)),
  -- When set_target_chunking last changed the chunking: the backfill queues again every row whose
  -- record is older (chunked the old way), until it reaches the end of the table.
  chunking_changed_at timestamptz,
  -- The columns the content function reads, null when they cannot be known: a string body's as a
  -- `begin atomic` copy of it reads them (embeddings._probe_content_columns), with the hash of the
  -- body they were read from, and used only while the body still has that hash; a `begin atomic`
  -- body's recorded to be seen (its pg_depend is read each time). See embeddings._content_columns.
  -- Null: each UPDATE calls the function on both versions of every row.
  content_columns name[],
  content_columns_from text,
  unique (table_schema, table_name, embedding_column),
  -- One vector per row in a column, or chunks in the chunk table: never both, never neither.
  constraint targets_chunked_xor_column check ((chunking is null) <> (embedding_column is null))
);
comment on table embeddings.targets is
  'Registered embedding targets: table, key, content function (signature as text), model and dimensions, and where the vectors go: the embedding column (one vector per row) or, for a chunked target (chunking set, embedding_column null), its chunk table embedding_chunks.<name>. Change it only through register_target, set_target_model, set_target_chunking and unregister_target. RLS on with no policy on purpose: only service_role (which bypasses RLS) reads it.';
alter table embeddings.targets enable row level security;

/** Rows that need an embedding, one entry per row however often it changed. */
create table embeddings.queue (
  -- No foreign key to targets: its check would run once per queued row (a bulk insert queues
  -- thousands); unregister_target removes a target's entries itself.
  target_id bigint not null,
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
-- Without deduplication: a bulk INSERT queues thousands of entries with one key (its target, the
-- statement's now()), and merging them into posting lists page after page cost the app's INSERT
-- about a sixth of the queue's share; the index is bigger while the backlog lasts.
create index queue_claimable_idx on embeddings.queue (target_id, next_attempt_at)
  with (deduplicate_items = off)
  where dead_at is null;
-- A worker's lease, found without scanning its target's backlog.
create index queue_lease_idx on embeddings.queue (lease_token) where lease_token is not null;
-- The dead letters requeue_dead takes, found without scanning the backlog: a fresh entry has no
-- entry here, so queueing pays nothing for it.
create index queue_dead_idx on embeddings.queue (target_id, row_key) where dead_at is not null;
alter table embeddings.queue enable row level security;

/** Which model embedded which content for each row. */
create table embeddings.embedded_rows (
  target_id bigint not null,  -- no foreign key, as the queue's
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

/** Targets whose table lost rows since their books were last swept: one note per DELETE statement. */
create table embeddings.pending_sweeps (
  target_id bigint not null,  -- no foreign key, as the queue's
  id bigint generated always as identity,
  noted_at timestamptz not null default now(),
  primary key (target_id, id)
);
comment on table embeddings.pending_sweeps is
  'One note per DELETE statement on a target''s table: the queue entries and records of its deleted rows are still there, to be removed by the next sweep (embeddings._sweep_deleted_rows), which takes the notes. Only inserted by the DELETE trigger, so deleting rows costs the app one small insert per statement. RLS on with no policy on purpose: only service_role reads it.';
alter table embeddings.pending_sweeps enable row level security;

/** Keys a bulk statement queued, that the next claims move into the queue. */
create table embeddings.queued_key_sets (
  target_id bigint not null,  -- no foreign key, as the queue's
  id bigint generated always as identity,
  row_keys text[] not null,
  noted_at timestamptz not null default now(),
  primary key (target_id, id)
);
comment on table embeddings.queued_key_sets is
  'Keys of rows a statement of 1,000 rows or more queued (an INSERT, or an UPDATE that changed their text): one row and one insert for the app''s statement instead of a queue entry per row. The next claim of the target (or verify) moves a set into embeddings.queue by embeddings._move_queued_key_sets, as the statement itself would have queued them, 10,000 keys at a time; status and estimate_backfill count them as queued meanwhile (embeddings._queue_entries). RLS on with no policy on purpose: only service_role reads it.';
-- Stored out of line uncompressed: compressing a million keys cost the app's statement more than
-- writing them.
alter table embeddings.queued_key_sets alter column row_keys set storage external;
alter table embeddings.queued_key_sets enable row level security;

-- =============================================================================================
-- Internal: look-ups and checks shared by the API
-- =============================================================================================

/** A chunked target's chunk table, or null (a whole-row target, no such target, or the table is gone). */
create or replace function embeddings.chunk_table(target_id bigint)
returns regclass
language sql stable set search_path = ''
as $$
  select pg_catalog.to_regclass(format('embedding_chunks.%I', t.name))
  from embeddings.targets as t
  where t.id = chunk_table.target_id and t.chunking is not null
$$;
comment on function embeddings.chunk_table(bigint) is
  'The chunk table of a chunked target (embedding_chunks.<target name>): null for a whole-row target, an unknown id, or a chunk table that is gone (embeddings.status says so as broken).';

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
 * stays attached to it whatever its name, so the registry takes the table's new name from there,
 * once the trigger is the engine's own (its function and its target id, not just its name).
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
      where tg.tgname = 'embeddings_queue_' || target.id
        -- The name alone proves nothing (anyone who owns a table can name a trigger so): only the
        -- engine's own sync trigger for this target, which only the engine can install, counts.
        and tg.tgfoid = pg_catalog.to_regprocedure('embeddings._queue_inserted_rows()')
        and tg.tgnargs = 1
        and tg.tgargs = pg_catalog.convert_to(target.id::text, 'UTF8') || '\x00'::bytea
        and c.relkind in ('r', 'p');
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
  'The registry row of a target, or a clear error when there is none. Follows a renamed (or moved) table through its sync trigger (a trigger named embeddings_queue_<id> that runs embeddings._queue_inserted_rows(<id>), not a look-alike) and updates the registry (the table''s name and the content function''s signature).';

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
  if target.chunking is not null then
    return embeddings._chunk_table_broken_reason(target);
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
  'Why a target cannot be worked, with the fix: its table, content function or vector column (a chunked target: its chunk table) is gone, or the column no longer has the model''s dimensions. Null when the target is whole.';

/** Why a chunked target's chunk table cannot hold its chunks (gone, or not the model's dimensions), or null. */
create or replace function embeddings._chunk_table_broken_reason(target embeddings.targets)
returns text
language plpgsql stable set search_path = ''
as $$
declare
  chunks regclass := pg_catalog.to_regclass(format('embedding_chunks.%I', target.name));
  column_dimensions integer;
begin
  if chunks is null then
    return format('chunk table embedding_chunks.%I does not exist (dropped?); fix: select embeddings.unregister_target(%s); then register the table again',
      target.name, target.id);
  end if;
  select nullif(a.atttypmod, -1) into column_dimensions
    from pg_catalog.pg_attribute as a
    where a.attrelid = chunks and a.attname = 'embedding' and a.attnum > 0 and not a.attisdropped
      and a.atttypid = 'extensions.vector'::regtype;
  if column_dimensions is distinct from target.dimensions then
    return format('column embedding of chunk table %s is missing or not vector(%s), the dimensions of model %s; fix: select embeddings.unregister_target(%s); then register the table again',
      chunks, target.dimensions, target.model, target.id);
  end if;
  return null;
end;
$$;
comment on function embeddings._chunk_table_broken_reason(embeddings.targets) is
  'For embeddings._broken_reason: why a chunked target''s chunk table cannot hold its chunks (it is gone, or its embedding column is not vector(<the model''s dimensions>)), with the fix; null when it can.';

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

/**
 * The columns of a table a `begin atomic` function of one row of it reads, from pg_depend; null
 * when that cannot be known (another user function or operator, another table, the whole row).
 */
create or replace function embeddings._columns_read_by(function_oid oid, table_oid oid)
returns name[]
language plpgsql stable set search_path = ''
as $$
declare
  parameter_name text;
  body text;
  columns name[];
begin
  select p.proargnames[1], pg_catalog.pg_get_function_sqlbody(p.oid) into parameter_name, body
    from pg_catalog.pg_proc as p where p.oid = function_oid and p.prosqlbody is not null;
  if body is null or parameter_name is null or table_oid is null then
    return null;
  end if;
  if exists (
    select 1 from pg_catalog.pg_depend as d
    where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = function_oid
      and (d.refclassid in ('pg_catalog.pg_proc'::regclass, 'pg_catalog.pg_operator'::regclass)
           or (d.refclassid = 'pg_catalog.pg_class'::regclass and (d.refobjid <> table_oid or d.refobjsubid = 0)))
  ) then
    return null;
  end if;
  -- Every use of the row must pick a field, `(row).column` or `row.column`; a bare use passes it whole.
  parameter_name := pg_catalog.regexp_replace(pg_catalog.quote_ident(parameter_name), '([.^$*+?()[\]{}|\\"])', '\\\1', 'g');
  body := pg_catalog.regexp_replace(body, '\(' || parameter_name || '\)\.|(^|[^[:alnum:]_"])' || parameter_name || '\.', '\1', 'g');
  if body ~ ('(^|[^[:alnum:]_$])' || parameter_name || '($|[^[:alnum:]_$])') then
    return null;
  end if;
  select pg_catalog.array_agg(a.attname order by a.attnum) into columns
    from pg_catalog.pg_depend as d
    join pg_catalog.pg_attribute as a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
    where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = function_oid
      and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid = table_oid and not a.attisdropped;
  return columns;
end;
$$;
comment on function embeddings._columns_read_by(oid, oid) is
  'The columns of table_oid that a `begin atomic` SQL function of one row of it reads, from pg_depend; null when that cannot be known (a string body, another user function or operator, another table, the whole row).';

/** What a string-bodied function runs, hashed: its language, body and settings (search_path). */
create or replace function embeddings._function_source_hash(function_oid oid)
returns text
language sql stable set search_path = ''
as $$
  select pg_catalog.md5(pg_catalog.concat_ws(E'\n', l.lanname, p.prosrc, pg_catalog.array_to_string(p.proconfig, E'\n')))
  from pg_catalog.pg_proc as p join pg_catalog.pg_language as l on l.oid = p.prolang
  where p.oid = function_oid
$$;
comment on function embeddings._function_source_hash(oid) is
  'md5 of a function''s language, body text and settings: embeddings.targets.content_columns_from, so columns probed from an older body are never used.';

/**
 * The columns a string-bodied content function reads, as PostgreSQL records them for a `begin
 * atomic` copy of its body: an SQL body, or a PL/pgSQL body that is one `return <expression>;`.
 * The copy is created in a block that is always undone (nothing of it stays, whatever the body
 * holds), only for a function the probing role owns, with the function's own search_path (the
 * engine calls it with an empty one otherwise). Null when the body is of another shape, does not
 * parse that way, reads anything but fields of its row, or has another owner.
 */
create or replace function embeddings._probe_content_columns(function_oid oid, table_oid oid)
returns name[]
language plpgsql volatile set search_path = ''
as $$
declare
  language_name name;
  source text;
  parameter_name text;
  owner_name name;
  path text;
  row_type text;
  body text;
  probed name[];
begin
  select l.lanname, p.prosrc, p.proargnames[1], r.rolname,
         (select pg_catalog.substr(c, 13) from unnest(p.proconfig) as c where c like 'search_path=%')
    into language_name, source, parameter_name, owner_name, path
    from pg_catalog.pg_proc as p
    join pg_catalog.pg_language as l on l.oid = p.prolang
    join pg_catalog.pg_roles as r on r.oid = p.proowner
    where p.oid = function_oid and p.prosqlbody is null and p.pronargs = 1;
  select format('%I.%I', n.nspname, c.relname) into row_type
    from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where c.oid = table_oid;
  if language_name = 'sql' then
    body := pg_catalog.rtrim(source, E'; \t\r\n');
  elsif language_name = 'plpgsql' then
    body := 'select ' || pg_catalog.substring(source, '(?i)^\s*begin\s+return\s+(.*?)\s*;\s*end\s*;?\s*$');
  end if;
  -- The copy is made by the role that probes (the engine's owner, in register_target and the
  -- event trigger: a security definer function cannot SET ROLE), so only a function that role
  -- owns is probed: whatever its body holds, nothing runs that its owner could not run itself.
  if body is null or parameter_name is null or row_type is null or owner_name <> current_user then
    return null;
  end if;
  begin
    perform pg_catalog.set_config('search_path', coalesce(path, ''), true);
    execute format(
      'create function embeddings._content_columns_probe(%I %s) returns text language sql immutable begin atomic %s; end',
      parameter_name, row_type, body);
    -- Looked up, not a ::regproc constant: a plan cached by an earlier call would keep the oid
    -- of an earlier, undone copy.
    probed := embeddings._columns_read_by(pg_catalog.to_regproc('embeddings._content_columns_probe'), table_oid);
    raise exception using errcode = 'P0001', message = 'undo the probe';
  exception when others then
    null;  -- the copy, the role and the search_path are undone with the block; probed stays
  end;
  return probed;
end;
$$;
comment on function embeddings._probe_content_columns(oid, oid) is
  'The columns of table_oid a string-bodied content function reads (an SQL body, or a PL/pgSQL body that is one `return <expression>;`), read from pg_depend of a `begin atomic` copy of its body created in an always-undone block, for a function owned by the role probing; null when that cannot be known. Called by register_target and when a content function is replaced (embeddings._content_functions_follow_ddl).';

/**
 * The columns of the target's table its content function reads, when they can be known: read from
 * pg_depend for a `begin atomic` body; for a string body, those probed from it (still the same
 * body). Null otherwise: the UPDATE trigger then calls the function on both versions of a row.
 */
create or replace function embeddings._content_columns(target embeddings.targets)
returns name[]
language plpgsql stable set search_path = ''
as $$
declare
  function_oid oid := embeddings._content_function_oid(target.content_function);
  table_oid oid := pg_catalog.to_regclass(format('%I.%I', target.table_schema, target.table_name));
begin
  if exists (select 1 from pg_catalog.pg_proc as p where p.oid = function_oid and p.prosqlbody is not null) then
    return embeddings._columns_read_by(function_oid, table_oid);
  end if;
  if target.content_columns_from = embeddings._function_source_hash(function_oid) then
    return target.content_columns;
  end if;
  return null;
end;
$$;
comment on function embeddings._content_columns(embeddings.targets) is
  'The columns of the target''s table its content function reads: from pg_depend when the function has a `begin atomic` SQL body that reads only fields of its row; for a string body, the columns embeddings._probe_content_columns read from it, while the body is still the one they were read from; null when that cannot be known (another user function or operator, another table, the whole row, a body of another shape). The UPDATE trigger compares these columns instead of calling the content function twice per row.';

/** Reads again the columns a target's string-bodied content function reads, and the body they come from. */
create or replace function embeddings._refresh_content_columns(target_id bigint)
returns void
language plpgsql volatile set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  function_oid oid := embeddings._content_function_oid(target.content_function);
  table_oid oid := pg_catalog.to_regclass(format('%I.%I', target.table_schema, target.table_name));
begin
  -- A begin atomic body's columns are read from pg_depend each time; recorded here to be seen.
  update embeddings.targets as t
    set content_columns = coalesce(embeddings._columns_read_by(function_oid, table_oid),
                                   embeddings._probe_content_columns(function_oid, table_oid)),
        content_columns_from = embeddings._function_source_hash(function_oid)
    where t.id = target.id;
end;
$$;
comment on function embeddings._refresh_content_columns(bigint) is
  'Records the columns the target''s content function reads (from pg_depend for a begin atomic body, else probed by embeddings._probe_content_columns) with the hash of the body they were read from: run by register_target and whenever the function is created or altered (event trigger embeddings_follow_content_functions).';

/** Event trigger: a content function replaced or altered has its columns read again. */
create or replace function embeddings._content_functions_follow_ddl()
returns event_trigger
language plpgsql security definer set search_path = ''
as $$
declare
  target_id bigint;
begin
  for target_id in
    select t.id from embeddings.targets as t
    where embeddings._content_function_oid(t.content_function) in (
      select c.objid from pg_catalog.pg_event_trigger_ddl_commands() as c where c.object_type = 'function')
  loop
    perform embeddings._refresh_content_columns(target_id);
  end loop;
end;
$$;
comment on function embeddings._content_functions_follow_ddl() is
  'Event trigger function (ddl_command_end, CREATE FUNCTION / ALTER FUNCTION): when the function created or altered is a target''s content function, its columns are probed again (embeddings._refresh_content_columns). Without it the UPDATE trigger stays right, only slower: columns probed from another body are never used.';
drop event trigger if exists embeddings_follow_content_functions;
create event trigger embeddings_follow_content_functions on ddl_command_end
  when tag in ('CREATE FUNCTION', 'ALTER FUNCTION')
  execute function embeddings._content_functions_follow_ddl();
comment on event trigger embeddings_follow_content_functions is
  'A target''s content function replaced (create or replace) or altered: the columns its string body reads are probed again, so the UPDATE trigger keeps comparing columns instead of calling it (see embeddings._content_functions_follow_ddl).';

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

/** Whether a row (under alias) holds a vector, as SQL: always false for a chunked target's rows. */
create or replace function embeddings._vector_present_sql(target embeddings.targets, row_alias text)
returns text
language sql stable set search_path = ''
as $$
  select case when target.embedding_column is null then 'false'
              else format('%I.%I is not null', row_alias, target.embedding_column) end
$$;
comment on function embeddings._vector_present_sql(embeddings.targets, text) is
  'SQL saying whether the row under row_alias holds a vector in the target''s column: false for a chunked target, whose vectors live in its chunk table.';

/** A statement's changes as sorted key arrays: what a sync trigger hands to _apply_changes. */
create type embeddings._book_changes as (
  gone_keys text[],
  queue_keys text[],
  adopt_keys text[],
  adopt_content_hashes text[],
  adopt_vector_hashes text[],
  unvouched_keys text[]
);
comment on type embeddings._book_changes is
  'A statement''s changes to a target''s table as key arrays, sorted but for the keys to queue: keys gone, keys to queue, keys whose vector is adopted (with the md5 of their content and vector), keys whose vector someone else set or cleared. Made by the query of embeddings._collect_changes_sql, applied by embeddings._apply_changes.';

/**
 * The query that folds a statement's changes into the key arrays _apply_changes takes, for a sync
 * trigger to run itself (transition tables are visible only to the trigger's own queries).
 * `changes` is a query of (row_key, source_row, is_new, content_changed, vector_changed,
 * vector_present, gone). One pass, whatever the statistics say: the books' tables are then probed
 * by key through arrays, so a statement costs time linear in the rows it touched. The keys to
 * queue come unsorted (a bulk statement's only notes them; embeddings._queue_keys sorts the
 * rest), the other arrays, each usually a few keys, sorted: key order is the order the books lock.
 */
create or replace function embeddings._collect_changes_sql(target embeddings.targets, changes text)
returns text
language sql stable set search_path = ''
as $$
  select format(
    $sql$
      select coalesce(pg_catalog.array_agg(r.row_key order by r.row_key) filter (where r.gone), '{}'),
             coalesce(pg_catalog.array_agg(r.row_key) filter (where not r.gone and not r.adopt), '{}'),
             coalesce(pg_catalog.array_agg(r.row_key order by r.row_key) filter (where r.adopt), '{}'),
             coalesce(pg_catalog.array_agg(pg_catalog.md5(%2$s(r.source_row)) order by r.row_key) filter (where r.adopt), '{}'),
             coalesce(pg_catalog.array_agg(pg_catalog.md5(%3$s) order by r.row_key) filter (where r.adopt), '{}'),
             coalesce(pg_catalog.array_agg(r.row_key order by r.row_key)
                        filter (where not r.gone and r.vector_changed and not r.adopt), '{}')
      from (
        select c.row_key, c.source_row, c.gone, c.vector_changed,
               not c.gone and c.vector_present and %4$L::boolean and (c.is_new or c.vector_changed) as adopt
        from (%1$s) as c(row_key, source_row, is_new, content_changed, vector_changed, vector_present, gone)
        where c.gone or c.is_new or c.content_changed or c.vector_changed
      ) as r
    $sql$,
    changes, embeddings._content_function_name(target),
    -- A chunked target has no vector in its rows (and never adopts): nothing to hash.
    case when target.embedding_column is null then 'null::text'
         else format('(r.source_row).%I::text', target.embedding_column) end,
    target.adopt_existing_vectors)
$$;
comment on function embeddings._collect_changes_sql(embeddings.targets, text) is
  'The sync triggers'' shared query, as text for the trigger to run: folds a statement''s changes into key arrays (gone, to queue (unsorted), to adopt with their content and vector hashes, unvouched; all but the keys to queue sorted) in one pass over the transition tables, for embeddings._apply_changes (as one embeddings._book_changes row).';

/** The new row (alias n) as the table's type, for the adopted vectors' content hash; a typed null on a target that never adopts. */
create or replace function embeddings._source_row_sql(target embeddings.targets)
returns text
language sql stable set search_path = ''
as $$
  -- A transition table's whole row is a bare record: row(n.*) cast to the table's type is a row.
  -- Built for every row it is the widest part of the triggers' pass, so only when it is used.
  select format(case when target.adopt_existing_vectors then 'row(n.*)::%I.%I' else 'null::%I.%I' end,
    target.table_schema, target.table_name)
$$;
comment on function embeddings._source_row_sql(embeddings.targets) is
  'The sync triggers'' source_row for embeddings._collect_changes_sql, as SQL over the new row n: the whole row as the table''s type on a target that adopts existing vectors (their content is hashed), else a null of that type.';

/** How many rows make a bulk statement: one whose keys are noted (queued_key_sets), not queued one by one. */
create or replace function embeddings._bulk_statement_rows()
returns integer
language sql immutable set search_path = ''
as $$
  select 1000
$$;
comment on function embeddings._bulk_statement_rows() is
  'The rows (1,000) from which a sync trigger notes a statement''s keys in embeddings.queued_key_sets instead of queueing them one by one: below it an entry per row costs little, and a small statement''s keys are queued at once.';

/** Queues keys of a target in key order with fresh attempts: how a change puts rows in the queue. */
create or replace function embeddings._queue_keys(target_id bigint, row_keys text[])
returns void
language sql volatile set search_path = ''
as $$
  -- An entry already waiting with fresh attempts is left as it is (locked, not rewritten): a
  -- bulk update of rows still queued writes no new version of their entries. A leased entry
  -- keeps its lease: its write finds the text changed and queues it again. embeddings._queue_entries
  -- applies the same rule to keys not moved in yet.
  insert into embeddings.queue as q (target_id, row_key)
    select _queue_keys.target_id, k.row_key from unnest(_queue_keys.row_keys) as k(row_key) order by k.row_key
    on conflict on constraint queue_pkey do update
      set attempts = 0, next_attempt_at = pg_catalog.now(), dead_at = null, last_error = null
      where q.attempts <> 0 or q.dead_at is not null or q.last_error is not null
        or q.next_attempt_at > pg_catalog.now();
$$;
comment on function embeddings._queue_keys(bigint, text[]) is
  'Queues the given keys of a target in key order (the engine''s lock order) with fresh attempts: a new entry per key, or an existing one renewed (attempts 0, claimable now, not dead, no error) unless it already waits so; a lease is kept.';

/** Notes a bulk statement's keys for the queue: one row, whatever their number. */
create or replace function embeddings._note_queued_keys(target_id bigint, row_keys text[])
returns void
language sql volatile set search_path = ''
as $$
  -- Whole and unsorted: cutting a million keys into sets here cost the app's statement as much
  -- as its own UPDATE; the claim that first takes them cuts them (embeddings._move_queued_key_sets).
  insert into embeddings.queued_key_sets (target_id, row_keys)
    values (_note_queued_keys.target_id, _note_queued_keys.row_keys);
$$;
comment on function embeddings._note_queued_keys(bigint, text[]) is
  'Notes keys of a target for the queue as one row of embeddings.queued_key_sets, unsorted: what a statement of 1,000 rows or more does instead of an entry per row. embeddings._move_queued_key_sets queues them, 10,000 at a time.';

/**
 * Moves a target's oldest queued key sets into the queue (at most max_sets, all when null), as the
 * statements that noted them would have queued them, but for keys with nothing left to do: those
 * of rows deleted since, and those whose record already holds the row's text now (embedded since
 * they were noted). The rest go through embeddings._queue_keys. A set of more than 10,000 keys is
 * cut first: its first 10,000 are moved, the rest noted again as sets of 10,000, so no claim moves
 * more. A set another transaction is moving is skipped. The move never keeps the app waiting: it
 * waits at most 100 ms for an entry an app transaction holds, then notes the set again for a later
 * claim (before deadlock detection, which could pick the app's statement, would look). The caller
 * has checked that the target's table can be read. Returns how many sets it moved: 0 when none was
 * left to take, or when it gave way to the app at once.
 */
create or replace function embeddings._move_queued_key_sets(target embeddings.targets, max_sets integer default null)
returns integer
language plpgsql volatile set search_path = ''
as $$
declare
  taken integer := 0;
  noted_keys text[];
  noted_at timestamptz;
  live_keys text[];
  keys_to_queue text;
  previous_lock_timeout text := pg_catalog.current_setting('lock_timeout');
begin
  if not exists (select 1 from embeddings.queued_key_sets as s where s.target_id = target.id) then
    return 0;  -- the common case, every claim: no lock taken
  end if;
  -- The target and its table held for the move: unregister_target (which locks the target first)
  -- and TRUNCATE wait for it, so sets it notes again are never left behind, and neither waits on
  -- a set this move holds while this move waits on them.
  perform from embeddings.targets as t where t.id = target.id for key share;
  execute format('lock table %I.%I in access share mode', target.table_schema, target.table_name);
  -- The keys of a set still to do, as an array: the table's key index, then the records' key,
  -- probed for each.
  keys_to_queue := format(
    $sql$
      select pg_catalog.array_agg(t.%1$I::text) from %2$I.%3$I as t
      where t.%1$I = any ($1::%4$s[])
        and not exists (
          select 1 from embeddings.embedded_rows as e
          where e.target_id = $2 and e.row_key = t.%1$I::text and e.model = $3
            and e.content_hash = pg_catalog.md5(%5$s(t)) and %6$s
            and ($4::timestamptz is null or e.embedded_at > $4))
    $sql$,
    target.key_column, target.table_schema, target.table_name, target.key_type,
    embeddings._content_function_name(target),
    case when target.embedding_column is null then 'true' else format('t.%I is not null', target.embedding_column) end);
  loop
    exit when max_sets is not null and taken >= max_sets;
    delete from embeddings.queued_key_sets as s
      where (s.target_id, s.id) = (
        select o.target_id, o.id from embeddings.queued_key_sets as o
        where o.target_id = target.id order by o.id limit 1 for update skip locked)
      returning s.row_keys, s.noted_at into noted_keys, noted_at;
    exit when not found;
    taken := taken + 1;
    if cardinality(noted_keys) > 10000 then
      insert into embeddings.queued_key_sets (target_id, row_keys, noted_at)
        select target.id, pg_catalog.array_agg(k.row_key), noted_at
        from unnest(noted_keys[10001:]) with ordinality as k(row_key, position)
        group by (k.position - 1) / 10000
        order by (k.position - 1) / 10000;
      noted_keys := noted_keys[1:10000];
    end if;
    execute keys_to_queue into live_keys using noted_keys, target.id, target.model, target.chunking_changed_at;
    continue when live_keys is null;
    begin
      perform pg_catalog.set_config('lock_timeout', '100ms', true);
      perform embeddings._queue_keys(target.id, live_keys);
      perform pg_catalog.set_config('lock_timeout', previous_lock_timeout, true);
    exception when lock_not_available or deadlock_detected then
      -- Undone with the block (the timeout too): the keys wait for a later claim, and this move
      -- ends here rather than take them again at once.
      insert into embeddings.queued_key_sets (target_id, row_keys, noted_at)
        values (target.id, live_keys, noted_at);
      return taken - 1;
    end;
  end loop;
  return taken;
end;
$$;
comment on function embeddings._move_queued_key_sets(embeddings.targets, integer) is
  'Takes a target''s oldest sets of embeddings.queued_key_sets (at most max_sets; all when null; FOR UPDATE SKIP LOCKED) and queues their keys by embeddings._queue_keys, at most 10,000 keys a set (a bigger set is cut, the rest noted again in sets of 10,000), leaving out keys of deleted rows and keys whose record already holds the row''s text; waits at most 100 ms for an entry another transaction holds, else notes the keys again for a later claim. Holds the target (FOR KEY SHARE) and its table (ACCESS SHARE) while it works. Called by claim_batch. Returns how many sets it moved (it stops at the first set it gives way on).';

/**
 * A target's queue as it will stand once its queued key sets are moved in: its entries, and each
 * noted key as embeddings._queue_keys will leave it (renewed: fresh attempts, claimable now, no
 * error; a lease kept). For readers that write nothing (status, estimate_backfill). Noted keys of
 * deleted rows are in it, as the queue's own entries of deleted rows are until a sweep.
 */
create or replace function embeddings._queue_entries(target_id bigint)
returns table (row_key text, attempts integer, next_attempt_at timestamptz, leased_until timestamptz,
               last_error text, dead_at timestamptz)
language sql stable set search_path = ''
as $$
  with entries as (
    select q.row_key, q.attempts, q.next_attempt_at, q.leased_until, q.last_error, q.dead_at
    from embeddings.queue as q where q.target_id = _queue_entries.target_id
  ),
  noted as (
    select distinct k.row_key
    from embeddings.queued_key_sets as s cross join lateral unnest(s.row_keys) as k(row_key)
    where s.target_id = _queue_entries.target_id
  )
  select coalesce(e.row_key, n.row_key),
         case when r.renewed then 0 else e.attempts end,
         case when r.renewed then pg_catalog.now() else e.next_attempt_at end,
         e.leased_until,
         case when r.renewed then null else e.last_error end,
         case when r.renewed then null else e.dead_at end
  from entries as e
  full join noted as n on n.row_key = e.row_key
  cross join lateral (
    -- embeddings._queue_keys' rule: renewed unless it already waits with fresh attempts.
    select n.row_key is not null and (e.row_key is null or e.attempts <> 0 or e.dead_at is not null
      or e.last_error is not null or e.next_attempt_at > pg_catalog.now())
  ) as r(renewed)
$$;
comment on function embeddings._queue_entries(bigint) is
  'A target''s queue entries as they will stand once its embeddings.queued_key_sets are moved in (noted keys renewed as embeddings._queue_keys renews them): what status and estimate_backfill count, without writing.';

/**
 * The books follow a statement's changes, given as key arrays: each step probes the queue or the
 * records by key (no join the planner could run as a nested loop over a whole table), and every
 * step takes its row locks in key order, the order claim and write take them too.
 */
create or replace function embeddings._apply_changes(
  target embeddings.targets,
  changes embeddings._book_changes
)
returns void
language plpgsql volatile set search_path = ''
as $$
begin
  if cardinality(changes.gone_keys) > 0 then
    perform embeddings._forget_rows(target, changes.gone_keys);
  end if;
  if cardinality(changes.adopt_keys) > 0 then
    insert into embeddings.embedded_rows as e (target_id, row_key, model, content_hash, vector_hash)
      select target.id, a.row_key, target.model, a.content_hash, a.vector_hash
      from unnest(changes.adopt_keys, changes.adopt_content_hashes, changes.adopt_vector_hashes) as a(row_key, content_hash, vector_hash)
      on conflict on constraint embedded_rows_pkey do update
        set model = excluded.model, content_hash = excluded.content_hash,
            vector_hash = excluded.vector_hash, embedded_at = pg_catalog.now();
    delete from embeddings.queue as q
      where q.target_id = target.id and q.row_key = any(changes.adopt_keys) and q.lease_token is null;
  end if;
  if cardinality(changes.unvouched_keys) > 0 then
    delete from embeddings.embedded_rows as e
      where e.target_id = target.id and e.row_key = any(changes.unvouched_keys);
  end if;
  -- A statement of 1,000 rows or more notes its keys, which claims move into the queue:
  -- an entry per row would cost the app's statement more than the statement itself.
  -- Not on a target that adopts vectors: a vector set later must find no noted key to queue again.
  if cardinality(changes.queue_keys) >= embeddings._bulk_statement_rows() and not target.adopt_existing_vectors then
    perform embeddings._note_queued_keys(target.id, changes.queue_keys);
  elsif cardinality(changes.queue_keys) > 0 then
    perform embeddings._queue_keys(target.id, changes.queue_keys);
  end if;
end;
$$;
comment on function embeddings._apply_changes(embeddings.targets, embeddings._book_changes) is
  'Keeps the books of a statement''s changes, given as sorted key arrays: gone keys forget their queue entries and records; adopted vectors (a target that adopts existing vectors) are recorded and leave the queue unless leased; vectors set or cleared by someone else lose their record; the rest is queued by embeddings._queue_keys, or, 1,000 keys or more on a target that does not adopt vectors, noted in embeddings.queued_key_sets for the next claim to queue. Each step probes by key, in key order.';

/** Forgets the queue entries, records and chunks of the given keys. */
create or replace function embeddings._forget_rows(target embeddings.targets, row_keys text[])
returns void
language plpgsql volatile set search_path = ''
as $$
declare
  -- Looked up only for a chunked target: this runs on every small INSERT and every UPDATE.
  chunks regclass := case when target.chunking is not null then embeddings.chunk_table(target.id) end;
begin
  delete from embeddings.queue as q where q.target_id = target.id and q.row_key = any(row_keys);
  delete from embeddings.embedded_rows as e where e.target_id = target.id and e.row_key = any(row_keys);
  if chunks is not null then
    -- The primary key (row_key, chunk_index) is probed by its first column.
    execute format('delete from %s as c where c.row_key = any($1)', chunks) using row_keys;
  end if;
end;
$$;
comment on function embeddings._forget_rows(embeddings.targets, text[]) is
  'Removes the queue entries, embedding records and (a chunked target) chunks of the given row keys of a target (keys an UPDATE changed, keys an INSERT used again before the sweep), probing each table by key.';

-- The triggers run with jit off: a transition table has no statistics, so the planner's guess at a
-- join of two of them crosses jit_above_cost on a few thousand rows, and compiling the query then
-- costs a second for a statement the books do in milliseconds. And with 64 MB to sort in: the keys
-- of a million-row statement are sorted in memory, not on disk (only while the trigger runs).

/**
 * Statement trigger after INSERT (argument: the target id): new rows are queued. A target that
 * does not adopt vectors (the default) needs nothing of a new row but its key: a statement of
 * 1,000 rows or more notes its keys (embeddings.queued_key_sets), which claims move into
 * the queue. For smaller statements and on a target that adopts vectors, the general path: sorted,
 * the books of a key used again before the sweep forgotten first.
 */
create or replace function embeddings._queue_inserted_rows()
returns trigger
language plpgsql security definer set search_path = '' set jit = off set work_mem = '64MB'
as $$
declare
  target embeddings.targets := embeddings._target_by_id(tg_argv[0]::bigint);
  changes embeddings._book_changes;
  inserted integer := 0;
  inserted_keys text[];
begin
  -- A small statement's books cost little on the general path; the sets are for bulk statements.
  if not target.adopt_existing_vectors then
    -- At most a bulk statement's rows read to count (the transition table is visible to this
    -- function's own queries only).
    execute format('select count(*)::integer from (select from new_rows limit %s) as n', embeddings._bulk_statement_rows())
      into inserted;
  end if;
  if inserted >= embeddings._bulk_statement_rows() then
    -- The keys are noted (one row, one insert), unsorted and unchecked: the claim that moves
    -- them into the queue renews an entry a deleted row of the same key left (its lease stays,
    -- and that write finds the text changed and queues it again).
    execute format('select pg_catalog.array_agg(n.%I::text) from new_rows as n', target.key_column)
      into inserted_keys;
    perform embeddings._note_queued_keys(target.id, inserted_keys);
    return null;
  end if;
  -- The trigger runs the query itself: transition tables are visible to its own queries only.
  execute embeddings._collect_changes_sql(target, format(
    'select n.%1$I::text, %3$s, true, true, false, %2$s, false from new_rows as n',
    target.key_column, embeddings._vector_present_sql(target, 'n'), embeddings._source_row_sql(target)))
    into changes;
  -- A key used again before the sweep: the books still there are the deleted row's (a lease of
  -- its batch, a record of its text). The new row starts afresh, claimable at once.
  perform embeddings._forget_rows(target, changes.queue_keys || changes.adopt_keys);
  perform embeddings._apply_changes(target, changes);
  return null;
end;
$$;
comment on function embeddings._queue_inserted_rows() is
  'Statement trigger installed by register_target (argument: target id), with the inserted rows as new_rows: queues them (a statement of 1,000 rows or more notes their keys in embeddings.queued_key_sets for the next claim to queue; the general, sorted path for smaller ones, or on a target that adopts existing vectors, which records those inserted with a vector). On the general path the books a reused key still has (its deleted row''s lease and record) are forgotten first.';

/**
 * Whether a row's content changed, as an expression over its old (o) and new (n) versions: the
 * columns its content function reads compared, when they are known (no call at all, so an UPDATE
 * of other columns costs the books nothing per row); else the function called on both versions.
 */
create or replace function embeddings._content_changed_sql(target embeddings.targets)
returns text
language plpgsql stable set search_path = ''
as $$
declare
  columns name[] := embeddings._content_columns(target);
begin
  if columns is null then
    return format('%1$s(row(o.*)::%2$I.%3$I) is distinct from %1$s(row(n.*)::%2$I.%3$I)',
      embeddings._content_function_name(target), target.table_schema, target.table_name);
  end if;
  -- As text: a column type may have no equality operator (json), and text always compares.
  return format('row(%s)::text is distinct from row(%s)::text',
    (select pg_catalog.string_agg(format('o.%I', c), ', ') from unnest(columns) as c),
    (select pg_catalog.string_agg(format('n.%I', c), ', ') from unnest(columns) as c));
end;
$$;
comment on function embeddings._content_changed_sql(embeddings.targets) is
  'The UPDATE trigger''s test of whether a row''s content changed, as SQL over its old (o) and new (n) versions: the columns the content function reads compared (see embeddings._content_columns), or, when those are unknown, the content function called on both.';

/** Statement trigger after UPDATE (argument: the target id): changes compared old to new, by key. */
create or replace function embeddings._queue_updated_rows()
returns trigger
language plpgsql security definer set search_path = '' set jit = off set work_mem = '64MB'
as $$
declare
  target embeddings.targets;
  changes embeddings._book_changes;
begin
  if embeddings._engine_is_writing(tg_argv[0]::bigint) then
    return null;  -- write_batch keeps its own books
  end if;
  target := embeddings._target_by_id(tg_argv[0]::bigint);
  -- Old and new rows paired by key in a FULL JOIN, which PostgreSQL runs only as a hash or merge
  -- join: never a nested loop over the two transition tables, whatever their estimates. A key
  -- that changed is a row gone (the old key) and a new row (the new key).
  -- pgvector's = lives in extensions, out of this empty search_path: named, with nulls apart.
  execute embeddings._collect_changes_sql(target, format(
    $sql$
      select coalesce(n.%1$I, o.%1$I)::text, %4$s, o.%1$I is null,
             o.%1$I is not null and n.%1$I is not null and %3$s,
             o.%1$I is not null and n.%1$I is not null and %2$s,
             %5$s, n.%1$I is null
      from new_rows as n full join old_rows as o on o.%1$I = n.%1$I
    $sql$, target.key_column,
    -- A chunked target's rows hold no vector: it never changes.
    case when target.embedding_column is null then 'false'
         else format('coalesce(not (o.%1$I operator(extensions.=) n.%1$I), (o.%1$I is null) <> (n.%1$I is null))',
                target.embedding_column) end,
    embeddings._content_changed_sql(target), embeddings._source_row_sql(target),
    embeddings._vector_present_sql(target, 'n')))
    into changes;
  perform embeddings._apply_changes(target, changes);
  return null;
end;
$$;
comment on function embeddings._queue_updated_rows() is
  'Statement trigger installed by register_target (argument: target id), with old_rows and new_rows paired by key (a full join: hash or merge, never a nested loop): a row whose content changed is queued; a vector set or cleared by anyone but write_batch loses its record and is queued again (on a target that adopts existing vectors, a vector set is recorded as the target''s model); a changed key forgets the old key''s books and queues the new key. Leaves write_batch''s own writes alone.';

/**
 * Statement trigger after DELETE (argument: the target id), with no transition table: it only
 * notes that the target lost rows. Their queue entries and records are removed later, by a sweep
 * (embeddings._sweep_deleted_rows); until then status and verify count from the table, and a claim
 * drops an entry whose row is gone. Forgetting them here would cost the DELETE several times itself.
 */
create or replace function embeddings._note_deleted_rows()
returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  insert into embeddings.pending_sweeps (target_id) values (tg_argv[0]::bigint);
  return null;
end;
$$;
comment on function embeddings._note_deleted_rows() is
  'Statement trigger installed by register_target (argument: target id), after DELETE: notes in embeddings.pending_sweeps that the target lost rows, whose queue entries and records the next sweep (embeddings._sweep_deleted_rows) removes.';

/**
 * Removes the queue entries and records of a target's deleted rows, when a DELETE noted some at
 * least min_age ago: takes the notes, then deletes what has no row in the table, locking in key
 * order and skipping what another transaction holds. Two sweeps at once: the second waits for the
 * first's notes, then finds them taken. Joins only, hash or merge: the key sets are as big as the
 * target's books, and a nested loop over a CTE the planner guessed small would cost their square;
 * nor `= any(array)`, which over an array computed at run time is a linear search per row.
 */
create or replace function embeddings._sweep_deleted_rows(target_id bigint, min_age interval default '0 seconds')
returns integer
language plpgsql volatile set search_path = '' set enable_nestloop = off set work_mem = '64MB'
as $$
declare
  target embeddings.targets;
  book name;
  forgotten integer;
  candidates integer;
  skipped boolean := false;
  swept integer := 0;
begin
  if not exists (select 1 from embeddings.pending_sweeps as p
                 where p.target_id = _sweep_deleted_rows.target_id and p.noted_at <= pg_catalog.now() - min_age) then
    return 0;
  end if;
  target := embeddings._target_by_id(target_id);
  if embeddings._broken_reason(target) is not null then
    return 0;  -- its table is gone or changed: nothing to compare with; doctor says why
  end if;
  -- The notes first: a DELETE that commits after this statement leaves its note for the next sweep.
  delete from embeddings.pending_sweeps as p where p.target_id = target.id;
  get diagnostics forgotten = row_count;
  if forgotten = 0 then
    return 0;
  end if;
  -- The queue before the records, each in key order: the engine's lock order. An entry or record
  -- another transaction holds is skipped, not waited for (it may hold the row's new key too), and
  -- noted again for the next sweep.
  foreach book in array array['queue', 'embedded_rows']::name[] loop
    execute format(
      $sql$
        with candidates as materialized (
          select g.row_key from embeddings.%5$I as g
          where g.target_id = $1 and not exists (select 1 from %1$I.%2$I as t where t.%3$I = g.row_key::%4$s)
        ),
        locked as materialized (
          select l.row_key from embeddings.%5$I as l
          where l.target_id = $1 and l.row_key in (select c.row_key from candidates as c)
          order by l.row_key for update of l skip locked
        ),
        gone as (
          delete from embeddings.%5$I as b
          where b.target_id = $1 and b.row_key in (select k.row_key from locked as k)
          returning 1
        )
        select (select count(*)::integer from gone), (select count(*)::integer from candidates)
      $sql$,
      target.table_schema, target.table_name, target.key_column, target.key_type, book)
    into forgotten, candidates using target.id;
    swept := swept + forgotten;
    skipped := skipped or forgotten < candidates;
  end loop;
  -- A chunked target's chunks of gone rows, last (the engine writes a row's chunks after locking
  -- its queue entry), by the same rule; counted as rows, not chunks.
  if embeddings.chunk_table(target.id) is not null then
    execute format(
      $sql$
        with candidates as materialized (
          select distinct g.row_key from %5$s as g
          where not exists (select 1 from %1$I.%2$I as t where t.%3$I = g.row_key::%4$s)
        ),
        locked as materialized (
          select l.row_key, l.chunk_index from %5$s as l
          where l.row_key in (select c.row_key from candidates as c)
          order by l.row_key, l.chunk_index for update of l skip locked
        ),
        gone as (
          delete from %5$s as b
          where (b.row_key, b.chunk_index) in (select k.row_key, k.chunk_index from locked as k)
          returning b.row_key
        )
        select (select count(distinct g.row_key)::integer from gone as g), (select count(*)::integer from candidates)
      $sql$,
      target.table_schema, target.table_name, target.key_column, target.key_type, embeddings.chunk_table(target.id))
    into forgotten, candidates;
    swept := swept + forgotten;
    skipped := skipped or forgotten < candidates;
  end if;
  if skipped then
    insert into embeddings.pending_sweeps (target_id) values (target.id);
  end if;
  return swept;
end;
$$;
comment on function embeddings._sweep_deleted_rows(bigint, interval) is
  'When a DELETE on the target''s table was noted (embeddings.pending_sweeps) at least min_age ago: takes the target''s notes and removes the queue entries, records and (a chunked target) chunks of rows no longer in the table (anti join; locks in key order, skipping what another transaction holds, which it notes again for the next sweep). Returns how many it removed. Called by claim_batch and the scheduled dispatch (notes a minute old, so a busy table is swept about once a minute) and by verify (all of them, before it reads).';

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
  delete from embeddings.pending_sweeps as p where p.target_id = target.id;
  delete from embeddings.queued_key_sets as s where s.target_id = target.id;
  if embeddings.chunk_table(target.id) is not null then
    execute format('truncate %s', embeddings.chunk_table(target.id));
  end if;
  update embeddings.targets as t set backfill_after = null, backfill_done = false where t.id = target.id;
  return null;
end;
$$;
comment on function embeddings._forget_truncated_rows() is
  'Statement trigger installed by register_target (argument: target id): after a TRUNCATE, the target''s queue entries (and queued key sets) and records go (a chunked target''s chunk table is truncated too) and its backfill starts again, so rows loaded afterwards (a restore) are embedded.';

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
        select t.%1$I::text as row_key, $5 and %5$s as adopt, t as source_row,
               pg_catalog.md5(%7$s) as vector_hash
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
            and ($6::timestamptz is null or e.embedded_at > $6)
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
        -- In key order as text, the order the sync triggers queue rows in: no deadlock with them.
        select $3, n.row_key from needed as n where not n.adopt order by n.row_key
        on conflict (target_id, row_key) do nothing
        returning 1
      )
      select (select count(*) from inserted)::integer,
             (select count(*) from chunk)::integer,
             (select c.row_key from chunk as c order by c.row_key::%4$s desc limit 1)
    $sql$,
    target.key_column, target.table_schema, target.table_name, target.key_type,
    embeddings._vector_present_sql(target, 't'), embeddings._content_function_name(target),
    case when target.embedding_column is null then 'null::text' else format('t.%I::text', target.embedding_column) end
  ) into queued, scanned, last_key
  using target.backfill_after, chunk_size, target.id, target.model, target.adopt_existing_vectors,
        target.chunking_changed_at;

  update embeddings.targets as t
    set backfill_after = coalesce(last_key, t.backfill_after),
        backfill_done = scanned < chunk_size
    where t.id = target.id;
  return queued;
end;
$$;
comment on function embeddings.queue_backfill_chunk(bigint, integer) is
  'Queues the next chunk_size rows (10,000 unless given; in key order after the backfill cursor) that were not embedded with the target''s model, or (a chunked target) were chunked before its chunking last changed (on a target that adopts existing vectors, rows that have one are recorded instead); marks the backfill done at the end of the table. Returns how many it queued.';

-- =============================================================================================
-- Chunk tables: where a chunked target's vectors live
-- =============================================================================================

/**
 * Creates a chunked target's chunk table, embedding_chunks.<name>: a row's chunks by (row_key,
 * chunk_index), their offsets and text, the md5 of the whole text they were cut from, the model,
 * the vector; an HNSW index for cosine search. RLS on with no policy, and no privilege but
 * service_role's: clients reach chunks only through the search, under their parent rows' RLS.
 */
create or replace function embeddings._create_chunk_table(target embeddings.targets)
returns regclass
language plpgsql volatile set search_path = ''
as $$
declare
  chunks text := format('embedding_chunks.%I', target.name);
begin
  if pg_catalog.octet_length(target.name) > 63 then
    raise exception using errcode = '22023',
      message = format('a chunked target''s name names its chunk table, and %s is longer than 63 bytes: pass a shorter target_name', target.name);
  end if;
  if pg_catalog.to_regclass(chunks) is not null then
    raise exception using errcode = '42P07',
      message = format('chunk table %s exists already (left by another target?): drop it, or pass another target_name', chunks);
  end if;
  execute format(
    $ddl$
      create table %1$s (
        row_key text not null,
        chunk_index integer not null check (chunk_index >= 0),
        start_offset integer not null check (start_offset >= 0),
        end_offset integer not null,
        chunk_text text not null,
        content_hash text not null,
        model text not null,
        embedding extensions.vector(%2$s) not null,
        embedded_at timestamptz not null default pg_catalog.now(),
        primary key (row_key, chunk_index),
        check (end_offset > start_offset)
      )
    $ddl$, chunks, target.dimensions);
  execute format('comment on table %s is %L', chunks, format(
    'Chunks of target %s (%I.%I), written only by embeddings.write_chunks: each row''s chunks by row_key and chunk_index (0, 1, ... in text order), their UTF-16 offsets [start_offset, end_offset) into the content function''s text and their text, the md5 of the whole text they were cut from, the model and the vector. Created by register_target, dropped by unregister_target. RLS on with no policy, service_role only.',
    target.name, target.table_schema, target.table_name));
  execute format('alter table %s enable row level security', chunks);
  execute format('revoke all on table %s from public, anon, authenticated, service_role', chunks);
  execute format('grant select, insert, update, delete on table %s to service_role', chunks);
  perform embeddings._create_chunk_index(target);
  return chunks::regclass;
end;
$$;
comment on function embeddings._create_chunk_table(embeddings.targets) is
  'Creates the chunk table embedding_chunks.<target name> of a chunked target (columns row_key, chunk_index, start_offset, end_offset, chunk_text, content_hash, model, embedding vector(<dimensions>), embedded_at; primary key row_key, chunk_index), RLS on, privileges to service_role only, with its HNSW index. Raises when the name is over 63 bytes or the table exists.';

/** The name of a chunk table's HNSW index: how the engine finds it again to drop or rename it. */
create or replace function embeddings._chunk_index_name(target_name text)
returns text
language sql immutable set search_path = ''
as $$
  select left(target_name, 52) || '_hnsw_idx'
$$;
comment on function embeddings._chunk_index_name(text) is
  'The name of the HNSW index on chunk table embedding_chunks.<target name>: the name''s first 52 characters and _hnsw_idx (63 bytes at most). Used wherever the engine creates, drops or renames it.';

/** The chunk table's HNSW index for cosine distance (pgvector indexes up to 2,000 dimensions). */
create or replace function embeddings._create_chunk_index(target embeddings.targets)
returns void
language plpgsql volatile set search_path = ''
as $$
begin
  if target.dimensions <= 2000 then
    execute format('create index %I on embedding_chunks.%I using hnsw (embedding extensions.vector_cosine_ops)',
      embeddings._chunk_index_name(target.name), target.name);
  end if;
end;
$$;
comment on function embeddings._create_chunk_index(embeddings.targets) is
  'Creates the HNSW index (vector_cosine_ops) on a chunk table''s embedding, when the model''s dimensions are within pgvector''s 2,000 for HNSW (beyond, the search scans).';

/** Drops the engine's views on a chunk table (the search's chunk view), which would block its drop or a change of its columns. */
create or replace function embeddings._drop_engine_views_on(chunk_table regclass)
returns void
language plpgsql volatile set search_path = ''
as $$
declare
  engine_view regclass;
begin
  -- Only views in embedding_search (the chunk views, made again by the search's event trigger at
  -- the end of the ALTER): a user's own view on a chunk table still blocks, loudly.
  for engine_view in
    select distinct r.ev_class::regclass from pg_catalog.pg_depend as d
    join pg_catalog.pg_rewrite as r on r.oid = d.objid
    join pg_catalog.pg_class as v on v.oid = r.ev_class
    where d.classid = 'pg_catalog.pg_rewrite'::regclass and d.refobjid = chunk_table
      and r.ev_class <> chunk_table and v.relnamespace = 'embedding_search'::regnamespace
  loop
    execute format('drop view %s', engine_view);
  end loop;
end;
$$;
comment on function embeddings._drop_engine_views_on(regclass) is
  'Drops the views in schema embedding_search that read the given chunk table (the search''s per-target chunk view), before the engine drops the table or changes its embedding column; the search''s event trigger makes the view again after an ALTER TABLE in embedding_chunks.';

/** Gives a chunk table the model's dimensions: its chunks (of the old model) go, the index is made again. */
create or replace function embeddings._resize_chunk_table(target embeddings.targets)
returns void
language plpgsql volatile set search_path = ''
as $$
begin
  perform embeddings._drop_engine_views_on(format('embedding_chunks.%I', target.name)::regclass);
  execute format('drop index if exists embedding_chunks.%I', embeddings._chunk_index_name(target.name));
  execute format('truncate embedding_chunks.%I', target.name);
  execute format('alter table embedding_chunks.%I alter column embedding type extensions.vector(%s)',
    target.name, target.dimensions);
  perform embeddings._create_chunk_index(target);
end;
$$;
comment on function embeddings._resize_chunk_table(embeddings.targets) is
  'For set_target_model on a chunked target whose new model has other dimensions: empties its chunk table (vectors of other dimensions cannot stay), changes the embedding column to vector(<dimensions>) and makes the HNSW index again.';

-- =============================================================================================
-- Registration
-- =============================================================================================

/** What register_target learns of the table while checking it: its names and its key's type. */
create type embeddings._registration as (table_schema name, table_name name, key_type text);
comment on type embeddings._registration is
  'The table''s schema and name and its key column''s type, as embeddings._check_registration found them.';

/** Raises a clear error unless the model's name, dimensions and max_attempts are usable. */
create or replace function embeddings._check_model_settings(model text, dimensions integer, max_attempts integer)
returns void
language plpgsql immutable set search_path = ''
as $$
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
end;
$$;
comment on function embeddings._check_model_settings(text, integer, integer) is
  'Raises a clear error unless the model has a name, dimensions are between 1 and 16000 and max_attempts between 1 and 100.';

/** Raises a clear error unless the key column is a unique, not-null uuid, bigint, integer or text. */
create or replace function embeddings._check_key_column(source_table regclass, key_column name)
returns text
language plpgsql stable set search_path = ''
as $$
declare
  key_type text;
  key_not_null boolean;
begin
  select pg_catalog.format_type(a.atttypid, null), a.attnotnull into key_type, key_not_null
    from pg_catalog.pg_attribute as a
    where a.attrelid = source_table and a.attname = key_column and a.attnum > 0 and not a.attisdropped;
  if not found then
    raise exception using errcode = '42703', message = format('table %s has no column %I for the key', source_table, key_column);
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
      message = format('key column %I of %s is not the primary key or unique', key_column, source_table);
  end if;
  if not key_not_null then
    raise exception using errcode = '22023',
      message = format('key column %I of %s can hold NULL, and a row without a key can never be embedded: add NOT NULL to it, or use the primary key',
        key_column, source_table);
  end if;
  return key_type;
end;
$$;
comment on function embeddings._check_key_column(regclass, name) is
  'Returns the key column''s type; raises a clear error unless it exists, is uuid, bigint, integer or text, is the primary key or unique on its own, and is NOT NULL.';

/** Checks everything register_target needs of the table, the column and the content function. */
create or replace function embeddings._check_registration(
  source_table regclass,
  key_column name,
  content_function regprocedure,
  embedding_column name,
  model text,
  dimensions integer,
  max_attempts integer
)
returns embeddings._registration
language plpgsql stable set search_path = ''
as $$
declare
  found_table embeddings._registration;
  table_type oid;
  function_takes_row boolean;
  function_result oid;
begin
  perform embeddings._check_model_settings(model, dimensions, max_attempts);
  select n.nspname, c.relname, c.reltype into found_table.table_schema, found_table.table_name, table_type
    from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where c.oid = source_table and c.relkind in ('r', 'p');
  if not found then
    raise exception using errcode = '42P01', message = format('%s is not a table', source_table);
  end if;
  found_table.key_type := embeddings._check_key_column(source_table, key_column);
  if embedding_column is not null then  -- a chunked target has none: register_target checks which
    perform embeddings._check_column_dimensions(source_table, embedding_column, model, dimensions);
  end if;
  select p.pronargs = 1 and p.proargtypes[0] = table_type, p.prorettype
    into function_takes_row, function_result
    from pg_catalog.pg_proc as p where p.oid = content_function::oid;
  if not function_takes_row or function_result <> 'text'::regtype then
    raise exception using errcode = '22023',
      message = format('content function %s must take one %I.%I row and return text',
        content_function, found_table.table_schema, found_table.table_name);
  end if;
  return found_table;
end;
$$;
comment on function embeddings._check_registration(regclass, name, regprocedure, name, text, integer, integer) is
  'Checks what register_target needs (the model''s settings, a table, a usable key, a vector column of the model''s dimensions unless embedding_column is null (a chunked target), a content function taking the table''s row and returning text) and returns the table''s names and key type; raises a clear error naming what is wrong.';

/** Raises unless the name and the column are free: one target per name and per vector column. */
create or replace function embeddings._check_target_is_new(source_table regclass, embedding_column name, target_name text)
returns void
language plpgsql stable set search_path = ''
as $$
declare
  existing_id bigint;
begin
  select t.id into existing_id from embeddings.targets as t where t.name = target_name;
  if found then
    raise exception using errcode = '23505',
      message = format('a target named %s is already registered (id %s): pass target_name to give this one another name',
        target_name, existing_id);
  end if;
  select t.id into existing_id from embeddings.targets as t
    where pg_catalog.to_regclass(format('%I.%I', t.table_schema, t.table_name)) = source_table
      and t.embedding_column = _check_target_is_new.embedding_column;
  if found then
    raise exception using errcode = '23505',
      message = format('%s.%I is already registered as target %s', source_table, embedding_column, existing_id);
  end if;
end;
$$;
comment on function embeddings._check_target_is_new(regclass, name, text) is
  'Raises a clear error when a target of that name exists, or the table''s vector column is already registered.';

/**
 * Installs a target's sync triggers: statement triggers, those after INSERT and UPDATE with
 * transition tables (one set-based query per statement, so a bulk load or a batch write costs the
 * books one query, not one per row); the DELETE trigger only notes the statement for a sweep.
 */
create or replace function embeddings._install_sync_triggers(target_id bigint, table_schema name, table_name name)
returns void
language plpgsql volatile set search_path = ''
as $$
begin
  execute format(
    'create trigger %I after insert on %I.%I referencing new table as new_rows for each statement execute function embeddings._queue_inserted_rows(%L)',
    'embeddings_queue_' || target_id, table_schema, table_name, target_id);
  execute format(
    'create trigger %I after update on %I.%I referencing old table as old_rows new table as new_rows for each statement execute function embeddings._queue_updated_rows(%L)',
    'embeddings_requeue_' || target_id, table_schema, table_name, target_id);
  execute format(
    'create trigger %I after delete on %I.%I for each statement execute function embeddings._note_deleted_rows(%L)',
    'embeddings_forget_' || target_id, table_schema, table_name, target_id);
  execute format(
    'create trigger %I after truncate on %I.%I for each statement execute function embeddings._forget_truncated_rows(%L)',
    'embeddings_truncate_' || target_id, table_schema, table_name, target_id);
end;
$$;
comment on function embeddings._install_sync_triggers(bigint, name, name) is
  'Installs a target''s four sync triggers on its table (after INSERT and UPDATE with transition tables, after DELETE and TRUNCATE without), named embeddings_<queue|requeue|forget|truncate>_<target id>.';

/** Registers a table's vector column as a target; returns the target id. */
create or replace function embeddings.register_target(
  source_table regclass,
  key_column name,
  content_function regprocedure,
  embedding_column name,
  model text,
  dimensions integer,
  max_attempts integer default 5,
  target_name text default null,
  chunking jsonb default null
)
returns bigint
language plpgsql security definer set search_path = ''
as $$
declare
  checked embeddings._registration;
  new_target embeddings.targets;
begin
  if chunking is not null and embedding_column is not null then
    raise exception using errcode = '22023',
      message = format('a chunked target keeps its vectors in its chunk table, not in a column: pass embedding_column => null with chunking, or no chunking to embed %I', embedding_column);
  end if;
  if chunking is null and embedding_column is null then
    raise exception using errcode = '22023',
      message = 'embedding_column is null: name the vector column, or pass chunking to keep chunks in a chunk table';
  end if;
  checked := embeddings._check_registration(
    source_table, key_column, content_function, embedding_column, model, dimensions, max_attempts);
  perform embeddings._check_target_is_new(source_table, embedding_column, coalesce(target_name, checked.table_name));
  -- With search_path '' the signature's text is fully schema-qualified.
  insert into embeddings.targets (name, table_schema, table_name, key_column, key_type,
      content_function, embedding_column, chunking, model, dimensions, max_attempts)
    values (coalesce(target_name, checked.table_name), checked.table_schema, checked.table_name, key_column,
      checked.key_type, content_function::text, embedding_column,
      case when chunking is not null then embeddings._check_chunking(chunking) end, model, dimensions, max_attempts)
    returning * into new_target;
  if new_target.chunking is not null then
    perform embeddings._create_chunk_table(new_target);
  end if;
  perform embeddings._refresh_content_columns(new_target.id);
  perform embeddings._install_sync_triggers(new_target.id, checked.table_schema, checked.table_name);
  perform embeddings.queue_backfill_chunk(new_target.id);
  return new_target.id;
end;
$$;
comment on function embeddings.register_target(regclass, name, regprocedure, name, text, integer, integer, text, jsonb) is
  'Registers a table as an embedding target: checks the key, the content function and that the embedding column''s dimensions match the model; installs the sync triggers (rows, and TRUNCATE); queues the first backfill chunk (claims queue the rest). Returns the target id. With chunking (embedding_column null; see embeddings._check_chunking, defaults from embeddings.default_chunking()) each row is cut into chunks, whose vectors live in the chunk table embedding_chunks.<target name> it creates.';

/** Removes a target: its trigger, queue entries and records. Stored vectors stay. */
create or replace function embeddings.unregister_target(target_id bigint)
returns void
language plpgsql security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  trigger_name text;
begin
  -- A claim moving its key sets holds the target: waited for, so what it notes again is seen below.
  perform from embeddings.targets as t where t.id = target.id for update;
  perform embeddings._refuse_during_model_change(target, 'unregistered');  -- model change migration
  -- A dropped table took its triggers with it.
  if pg_catalog.to_regclass(format('%I.%I', target.table_schema, target.table_name)) is not null then
    for trigger_name in select unnest(array['queue', 'requeue', 'forget', 'truncate']) loop
      execute format('drop trigger if exists %I on %I.%I',
        'embeddings_' || trigger_name || '_' || target.id, target.table_schema, target.table_name);
    end loop;
  end if;
  delete from embeddings.queue as q where q.target_id = target.id;
  delete from embeddings.embedded_rows as e where e.target_id = target.id;
  delete from embeddings.pending_sweeps as p where p.target_id = target.id;
  delete from embeddings.queued_key_sets as s where s.target_id = target.id;
  if target.chunking is not null and pg_catalog.to_regclass(format('embedding_chunks.%I', target.name)) is not null then
    perform embeddings._drop_engine_views_on(format('embedding_chunks.%I', target.name)::regclass);
    execute format('drop table embedding_chunks.%I', target.name);
  end if;
  delete from embeddings.targets as t where t.id = target.id;
end;
$$;
comment on function embeddings.unregister_target(bigint) is
  'Removes everything register_target installed: the triggers, the queue entries and the embedding records of the target, and a chunked target''s chunk table. A whole-row target''s vectors stay in its column.';

/** Switches a target to another model of the column's size and queues every row again. */
create or replace function embeddings.set_target_model(target_id bigint, model text, dimensions integer)
returns void
language plpgsql security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  resized boolean;
begin
  perform embeddings._refuse_during_model_change(target, 'given another model');  -- model change migration
  if target.chunking is null then
    perform embeddings._check_column_dimensions(
      format('%I.%I', target.table_schema, target.table_name)::regclass,
      target.embedding_column, set_target_model.model, set_target_model.dimensions);
  else
    perform embeddings._check_model_settings(set_target_model.model, set_target_model.dimensions, target.max_attempts);
  end if;
  if set_target_model.model = target.model and set_target_model.dimensions = target.dimensions then
    return;
  end if;
  resized := set_target_model.dimensions <> target.dimensions;
  -- Every row must be embedded again; until then, status counts only vectors of the new model.
  update embeddings.targets as t
    set model = set_target_model.model, dimensions = set_target_model.dimensions,
        backfill_after = null, backfill_done = false
    where t.id = target.id
    returning * into target;
  -- A whole-row target's column already has the new dimensions (checked above: its owner altered
  -- it); a chunked target's chunk table is the engine's to resize.
  if resized and target.chunking is not null then
    perform embeddings._resize_chunk_table(target);
  end if;
  perform embeddings.queue_backfill_chunk(target.id);
end;
$$;
comment on function embeddings.set_target_model(bigint, text, integer) is
  'Switches a target to another model and queues every row again; writes of the old model are refused from then on. A whole-row target''s model must make the column''s dimensions; a chunked target may change dimensions, which empties its chunk table (old chunks stay searchable only while the dimensions are the same).';

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
  if target.chunking is not null and set_target_options.adopt_existing_vectors then
    raise exception using errcode = '22023',
      message = format('target %s is chunked: its chunks are written only by embeddings.write_chunks, so there are no existing vectors to adopt', target.name);
  end if;
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

/** Changes a chunked target's chunking; every row is chunked again in the background. */
create or replace function embeddings.set_target_chunking(target_id bigint, chunking jsonb)
returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  checked jsonb;
begin
  if target.chunking is null then
    raise exception using errcode = '22023',
      message = format('target %s embeds one vector per row in column %I, not chunks: to chunk its rows, select embeddings.unregister_target(%s); then register the table again with chunking',
        target.name, target.embedding_column, target.id);
  end if;
  checked := embeddings._check_chunking(set_target_chunking.chunking);
  if checked = target.chunking then
    return checked;
  end if;
  -- Batches in flight were cut the old way: their leases are taken back (their writes come back
  -- lost), so those rows are cut again. The entries are locked in key order, the engine's order;
  -- a write already holding some is waited for, and its records are older than the change below.
  update embeddings.queue as q
    set lease_token = null, leased_until = null
    where q.target_id = target.id and q.row_key = any(array(
      select l.row_key from embeddings.queue as l
      where l.target_id = target.id and l.lease_token is not null
      order by l.row_key for update));
  -- The records stay, and the old chunks stay searchable: each row's new chunks replace its old
  -- ones in one statement (write_chunks). The backfill queues every row whose record is older than
  -- the change: the clock now, after the leases were taken back (a write's record bears the start
  -- of its transaction, so a write that began before now is chunked again).
  update embeddings.targets as t
    set chunking = checked, chunking_changed_at = pg_catalog.clock_timestamp(),
        backfill_after = null, backfill_done = false
    where t.id = target.id;
  perform embeddings.queue_backfill_chunk(target.id);
  return checked;
end;
$$;
comment on function embeddings.set_target_chunking(bigint, jsonb) is
  'Changes a chunked target''s chunking (checked and completed as by register_target; see embeddings._check_chunking) and returns it: every row is queued again by the chunked backfill (claims queue the rest), and its old chunks stay searchable until its new ones replace them. Batches in flight lose their leases (their writes come back as lost_keys), so no row keeps chunks cut the old way. Raises, with what to do, on a target that embeds one vector per row.';
