-- =============================================================================================
-- EMBEDDING ENGINE: search over the stored embeddings, for every registered target
-- =============================================================================================
-- public.search_embeddings(target, ...) answers semantic (cosine, through the vector index),
-- keyword (full text) and hybrid (reciprocal rank fusion of both) queries. It is SECURITY
-- INVOKER: every row it reads is read as the caller, so the target table's RLS decides what each
-- caller sees. It returns only rows whose vector is current: the engine's record of the row names
-- the target's model, holds the md5 of the row's text as the content function gives it now, and
-- the md5 of the vector the column holds now.
--
-- A chunked target (registered with chunking) keeps its vectors in a chunk table, one per chunk
-- of each row's text: its semantic side ranks rows by their best chunk, through the chunk table's
-- HNSW index, and answers that chunk (text, index, offsets) with the row; its keyword side reads
-- the whole text, as for any target; one result per row. A chunk counts only when it is of the
-- target's model and was cut from the row's text as it is now.
--
-- Least privilege: clients may execute two functions here and nothing else, public.search_embeddings
-- and embedding_search.plan_search. The plan is SECURITY DEFINER: it checks the arguments, finds
-- the target, checks that the calling role may read its table and run its content function, and
-- answers the search's SQL, built with format('%I'/'%L') from the registry and the validated
-- filters; the `_` builders it calls need no grant. No function a client can call takes SQL text.
-- The search then runs that SQL itself, as its caller, with the caller's values as parameters.
--
-- Currency without opening the engine: clients get nothing in the embeddings schema. The records
-- reach the caller through one view, embedding_search.current_vectors, owned by postgres, in a
-- schema the API does not expose: it lists a record only when the caller can read the record's row
-- in the target table (checked as the caller, so through that table's RLS), and shows nothing but
-- the key and two md5 hashes. The search compares those hashes with what it reads from the row as
-- the caller, so the view answers nothing the caller could not learn from the rows it may read.

-- pgvector 0.8 keeps an HNSW scan going past ef_search when filters (RLS among them) drop rows:
-- without it a search under a selective policy would answer fewer rows than asked.
do $$
declare
  installed text := (select e.extversion from pg_catalog.pg_extension as e where e.extname = 'vector');
begin
  if installed is null or pg_catalog.string_to_array(installed, '.')::integer[] < array[0, 8] then
    raise exception using errcode = '0A000',
      message = pg_catalog.format('search needs pgvector 0.8 or later (iterative index scans); this database has %s',
        coalesce(installed, 'no pgvector')),
      hint = 'on Supabase: alter extension vector update;';
  end if;
end;
$$;

create schema if not exists embedding_search;
comment on schema embedding_search is
  'Search over stored embeddings: per-target keyword settings, the views public.search_embeddings reads as its caller (target metadata; the current-vector records of rows the caller may read), and its query builders. Not exposed through the API.';
-- Who may use the schema and call each step: embeddings_privileges, with the engine's.

-- =============================================================================================
-- Keyword settings: which text each target's keyword search reads
-- =============================================================================================

/** A target's full-text source: its tsvector column, or else its content function's text. */
create table if not exists embedding_search.keyword_sources (
  target_name text primary key,
  -- A tsvector column of the target's table; null: to_tsvector(text_search_config, content(row)).
  tsvector_column name,
  -- The text search configuration the column was built with; queries are parsed with it too.
  text_search_config text not null default 'english'
);
comment on table embedding_search.keyword_sources is
  'Per target (by embeddings.targets.name): the tsvector column keyword search reads and the text search configuration it was built with. A target without a row searches to_tsvector(''english'', <content function>(row)). Only postgres writes it; the search reads it through embedding_search.targets.';

-- =============================================================================================
-- What the search reads as its caller
-- =============================================================================================

/** Each chunked target's chunk view: its name, and the view itself while it exists. */
create or replace view embedding_search.chunk_views as
  select t.id as target_id,
         t.name as target_name,
         names.chunk_view_name,
         pg_catalog.to_regclass(pg_catalog.format('embedding_search.%I', names.chunk_view_name)) as chunk_view,
         pg_catalog.to_regclass(pg_catalog.format('embedding_chunks.%I', t.name)) as chunk_table
  from embeddings.targets as t
  cross join lateral (
    -- chunks_<target name>, or chunks_<md5 of it> when that would pass 63 bytes.
    select case when pg_catalog.octet_length(t.name) <= 56 then 'chunks_' || t.name
                else 'chunks_' || pg_catalog.md5(t.name) end as chunk_view_name
  ) as names
  where t.chunking is not null;
comment on view embedding_search.chunk_views is
  'Every chunked target''s chunk view name (chunks_<target name>, or chunks_<md5 of the name> past 56 bytes), the view (null while it is missing) and the chunk table (null when gone). Read by embedding_search.targets and by the event triggers that keep the views; owned by postgres, not granted to clients, not exposed through the API.';

/** Target metadata for the search; what the caller may do with each target. */
create or replace view embedding_search.targets as
  select t.name as target_name,
         t.id as target_id,
         source.source_table,
         t.key_column,
         t.key_type,
         t.embedding_column,
         -- A chunked target's vectors are in its chunk table, read through its chunk view.
         t.chunking is not null as chunked,
         chunks.chunk_view_name,
         chunks.chunk_view,
         -- vector or halfvec: the query vector is cast to it, so the column's index serves the search.
         (select ty.typname::text from pg_catalog.pg_attribute as a
          join pg_catalog.pg_type as ty on ty.oid = a.atttypid
          where a.attrelid = source.source_table and a.attname = t.embedding_column
            and a.attnum > 0 and not a.attisdropped) as embedding_type,
         t.model,
         t.dimensions,
         content.content_function_oid,
         content.content_function,
         content.content_function_name,
         k.tsvector_column,
         coalesce(k.text_search_config, 'english') as text_search_config,
         -- Vectors and tsvectors are left out of the rows the search answers with.
         array(
           select a.attname from pg_catalog.pg_attribute as a
           join pg_catalog.pg_type as ty on ty.oid = a.atttypid
           where a.attrelid = source.source_table and a.attnum > 0 and not a.attisdropped
             and ty.typname in ('vector', 'halfvec', 'sparsevec', 'tsvector')
           order by a.attnum
         ) as hidden_columns,
         coalesce(pg_catalog.has_table_privilege(source.source_table, 'select'), false) as caller_can_read,
         coalesce(pg_catalog.has_function_privilege(content.content_function_oid, 'execute'), false)
           as caller_can_run_content_function
  from embeddings.targets as t
  cross join lateral (
    select pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.table_schema, t.table_name)) as source_table
  ) as source
  left join embedding_search.chunk_views as chunks on chunks.target_id = t.id
  left join lateral (
    -- The stored signature names a type that no longer exists after a rename: then no function.
    select p.oid as content_function_oid,
           p.oid::pg_catalog.regprocedure::text as content_function,
           pg_catalog.format('%I.%I', n.nspname, p.proname) as content_function_name
    from pg_catalog.pg_proc as p
    join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
    -- to_regprocedure raises (PostgreSQL 15) on a type name that does not resolve, and the
    -- planner may make p.oid = ... the index condition, evaluated before any other: so a CASE.
    where p.oid = case
      when pg_catalog.to_regtype(pg_catalog.rtrim(pg_catalog.split_part(t.content_function, '(', 2), ')')) is not null
      then pg_catalog.to_regprocedure(t.content_function) end
  ) as content on true
  left join embedding_search.keyword_sources as k on k.target_name = t.name
  -- A client lists only the targets whose table it may read; a role that may use the embeddings
  -- schema (the owner, service_role) can read the registry itself, so it sees every target.
  where pg_catalog.has_schema_privilege('embeddings', 'usage')
     or coalesce(pg_catalog.has_table_privilege(source.source_table, 'select'), false);
comment on view embedding_search.targets is
  'The registered targets as the search needs them: table, key, vector column and its type (vector or halfvec), whether the target is chunked and the name of its chunk view (chunk_view null while the view is missing), model and dimensions, content function, keyword source, the columns left out of answers, and whether the reader may read the table and run the content function. A client (no usage on the embeddings schema) sees only the targets whose table it may SELECT; the owner and service_role see them all. Owned by postgres; not exposed through the API.';

/** The engine's records of current-model vectors, for rows the caller may read. */
create or replace view embedding_search.current_vectors with (security_barrier = true) as
  select e.target_id, t.name as target_name, e.row_key, e.content_hash, e.vector_hash
  from embeddings.embedded_rows as e
  join embeddings.targets as t on t.id = e.target_id
  cross join lateral (
    select pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.table_schema, t.table_name)) as source_table
  ) as source
  where e.model = t.model
    -- The row is looked up as the caller, through the table's grants and RLS. query_to_xml runs a
    -- query as the current role and is a built-in, so clients need EXECUTE on no engine function
    -- for this check: a plpgsql look-up here would have to be granted to them. Its text is built
    -- from the registry (%s of a regclass, %I) and the stored key (%L); the key type is one of four.
    and case
      when source.source_table is null or t.key_type not in ('uuid', 'bigint', 'integer', 'text')
           or not pg_catalog.has_table_privilege(source.source_table, 'select') then false
      else pg_catalog.query_to_xml(
             pg_catalog.format('select 1 as visible from %s as t where t.%I = %L::%s',
               source.source_table, t.key_column, e.row_key, t.key_type),
             false, true, '')::text <> ''
    end;
comment on view embedding_search.current_vectors is
  'The engine''s record of each vector made with its target''s current model (key, md5 of the text embedded, md5 of the vector written), listed only when the caller can read the row (looked up as the caller through query_to_xml, so the table''s grants and RLS decide). A security barrier: a caller''s own conditions run after that check. Owned by postgres, so clients never read embeddings.embedded_rows itself; not exposed through the API. The search keeps a row only when both hashes match the row as it reads it.';

-- =============================================================================================
-- Chunk views: a chunked target's chunks, for rows the caller may read
-- =============================================================================================
-- A chunked target's vectors live in its chunk table (embedding_chunks.<name>), on which clients
-- have no privilege. The search reads it through a view per chunked target,
-- embedding_search.chunks_<name>: owned by the engine's owner (so it may read the table), a
-- security barrier, listing a chunk only when the caller can read its parent row, looked up as the
-- caller with query_to_xml as current_vectors does. A view is the only way: a function that read
-- the chunks for clients would have to be granted to them.
--
-- The views follow the chunk tables by an event trigger: made at the end of a CREATE TABLE or
-- ALTER TABLE in schema embedding_chunks (a registration; set_target_model's new dimensions). The
-- engine drops a chunk view itself before it drops its table or changes its column
-- (embeddings._drop_engine_views_on), since a view blocks both. DDL elsewhere is left alone.

/** The per-row visibility check of a chunk view: its query text, built once per query from the registry. */
create or replace function embedding_search._chunk_view_sql(target_name text, view_name text)
returns text
language sql stable set search_path = ''
as $$
  -- A security barrier is never merged into the query that reads it, so that query's ORDER BY
  -- could not reach the chunk table's index: the view orders and limits itself, by the query
  -- vector and the number of chunks the search sets for its transaction (the settings
  -- embedding_search.query_vector and embedding_search.nearest_chunks; unset, the view lists every
  -- chunk it shows, in no order). Inside, ORDER BY <=> LIMIT over the chunk table alone is the
  -- shape its HNSW index serves, with the visibility check as the scan's filter. The registry (the
  -- target's model, its table and key) and the settings are read in scalar subqueries, each once
  -- per query (an InitPlan). The row is looked up as the caller: query_to_xml runs its query as
  -- the current role; its text joins the registry's quoted names (%I), never format()ted twice,
  -- and the key as a literal.
  select pg_catalog.format(
    $sql$
      create view embedding_search.%1$I with (security_barrier = true) as
        select c.row_key, c.chunk_index, c.start_offset, c.end_offset, c.chunk_text, c.content_hash, c.model,
               c.embedding
        from embedding_chunks.%2$I as c
        where c.model = (select t.model from embeddings.targets as t where t.name = %5$L)
          and case
            when %3$s is null then false
            else pg_catalog.query_to_xml(%3$s || pg_catalog.quote_literal(c.row_key) || %4$s, false, true, '')::text <> ''
          end
        order by c.embedding operator(extensions.<=>) (
          select nullif(pg_catalog.current_setting('embedding_search.query_vector', true), '')::extensions.vector)
        limit (select nullif(pg_catalog.current_setting('embedding_search.nearest_chunks', true), '')::integer)
    $sql$,
    view_name, target_name,
    -- The look-up's text up to the key: null when the caller may not read the table (or it is gone).
    pg_catalog.format(
      $sql$(select pg_catalog.format('select 1 as visible from %%I.%%I as t where t.%%I = ', t.table_schema, t.table_name, t.key_column)
            from embeddings.targets as t
            where t.name = %1$L and t.key_type in ('uuid', 'bigint', 'integer', 'text')
              and coalesce(pg_catalog.has_table_privilege(
                    pg_catalog.to_regclass(pg_catalog.format('%%I.%%I', t.table_schema, t.table_name)), 'select'), false))$sql$,
      target_name),
    pg_catalog.format(
      $sql$(select '::' || t.key_type from embeddings.targets as t where t.name = %1$L)$sql$, target_name),
    target_name)
$$;
comment on function embedding_search._chunk_view_sql(text, text) is
  'The CREATE VIEW of a chunked target''s chunk view: the chunk table''s columns, for the chunks of the target''s current model whose parent row the caller can read (looked up as the caller with query_to_xml, so the table''s grants and RLS decide; the registry read once per query), the nearest to the setting embedding_search.query_vector first and at most embedding_search.nearest_chunks of them (through the chunk table''s HNSW index; unset: all, in no order). A security barrier.';

/** Drops the chunk views but those named: those of targets no longer chunked or registered. */
create or replace function embedding_search._set_aside_chunk_views(kept text[])
returns integer
language plpgsql volatile set search_path = ''
as $$
declare
  view_name name;
  dropped integer := 0;
begin
  for view_name in
    select c.relname from pg_catalog.pg_class as c
    where c.relnamespace = 'embedding_search'::regnamespace and c.relkind = 'v' and c.relname like 'chunks\_%'
      and not c.relname = any (kept)
    order by c.relname
  loop
    execute pg_catalog.format('drop view embedding_search.%I', view_name);
    dropped := dropped + 1;
  end loop;
  return dropped;
end;
$$;
comment on function embedding_search._set_aside_chunk_views(text[]) is
  'Drops every chunk view (embedding_search.chunks_*) whose name is not in kept and answers how many: from _follow_chunk_tables, those no chunked target names.';

/** Makes the chunk view of every chunked target whose chunk table exists, and drops those of no target. */
create or replace function embedding_search._follow_chunk_tables()
returns integer
language plpgsql volatile set search_path = ''
as $$
declare
  target record;
  engine_owner name := (select c.relowner::regrole::name from pg_catalog.pg_class as c where c.oid = 'embeddings.targets'::regclass);
  made integer := 0;
begin
  -- embedding_search.chunk_views, not embedding_search.targets: the latter looks up each target's
  -- table and content function, and this runs after a DROP TABLE too.
  perform embedding_search._set_aside_chunk_views(array(select v.chunk_view_name from embedding_search.chunk_views as v));
  for target in
    select v.target_name, v.chunk_view_name from embedding_search.chunk_views as v
    where v.chunk_view is null and v.chunk_table is not null
    order by v.target_id
  loop
    execute embedding_search._chunk_view_sql(target.target_name, target.chunk_view_name);
    execute pg_catalog.format('alter view embedding_search.%I owner to %I', target.chunk_view_name, engine_owner);
    execute pg_catalog.format('comment on view embedding_search.%I is %L', target.chunk_view_name, pg_catalog.format(
      'The chunks of chunked target %s (embedding_chunks.%I) whose parent row the caller can read, checked as the caller (the table''s grants and RLS decide). A security barrier, owned by the engine; public.search_embeddings reads it as its caller. Made by embedding_search._follow_chunk_tables; not exposed through the API.',
      target.target_name, target.target_name));
    -- Views are made at run time, so their privileges are given here: as current_vectors'.
    execute pg_catalog.format('revoke all on embedding_search.%I from public', target.chunk_view_name);
    execute pg_catalog.format('grant select on embedding_search.%I to anon, authenticated, service_role', target.chunk_view_name);
    made := made + 1;
  end loop;
  return made;
end;
$$;
comment on function embedding_search._follow_chunk_tables() is
  'Makes the chunk view (embedding_search._chunk_view_sql) of every chunked target whose chunk table exists and has none, owned by the engine''s owner, commented, readable by anon, authenticated and service_role; drops a chunk view no chunked target names. Answers how many it made. Run by the event trigger function embedding_search._chunk_views_follow_ddl and at the end of this migration.';

/** Event trigger function: makes the chunk views after DDL in schema embedding_chunks. */
create or replace function embedding_search._chunk_views_follow_ddl()
returns event_trigger
language plpgsql set search_path = ''
as $$
begin
  -- Event triggers fire for every role's DDL (a user's ALTER TABLE of a temporary table too), and
  -- the functions this calls are the engine owner's: a role that is not that owner (nor a member)
  -- can neither alter nor drop a chunk table, so for it there is nothing to do. Read from the
  -- catalog by name, which needs no privilege on the engine's schemas.
  if not coalesce((
    select pg_catalog.pg_has_role(c.relowner, 'member')
    from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = 'embeddings' and c.relname = 'targets'), false) then
    return;
  end if;
  -- Only DDL on the chunk tables concerns the views: an app's own migrations pass untouched.
  if exists (select 1 from pg_catalog.pg_event_trigger_ddl_commands() as c where c.schema_name = 'embedding_chunks') then
    perform embedding_search._follow_chunk_tables();
  end if;
end;
$$;
comment on function embedding_search._chunk_views_follow_ddl() is
  'Event trigger function (ddl_command_end of CREATE TABLE / ALTER TABLE), for a role that owns the engine''s tables or is a member of their owner (nothing for any other): when the command touched schema embedding_chunks, makes the chunk views of the chunk tables there are (embedding_search._follow_chunk_tables). The engine drops a chunk view itself before dropping its table or changing its column (embeddings._drop_engine_views_on).';

-- =============================================================================================
-- Query builders
-- =============================================================================================

/** The SQL conditions of a filters object: {"column": value | [values] | null}, equality each. */
create or replace function embedding_search._filter_sql(
  source_table regclass,
  filters jsonb,
  hidden_columns name[]
)
returns text
language plpgsql stable set search_path = ''
as $$
declare
  filter_column text;
  filter_value jsonb;
  column_type text;
  conditions text := '';
begin
  if filters is null then
    return '';
  end if;
  if pg_catalog.jsonb_typeof(filters) <> 'object' then
    raise exception using errcode = '22023',
      message = pg_catalog.format('filters must be a JSON object of column names to values, got %s',
        pg_catalog.jsonb_typeof(filters));
  end if;
  for filter_column, filter_value in select f.key, f.value from pg_catalog.jsonb_each(filters) as f order by f.key loop
    select pg_catalog.format_type(a.atttypid, a.atttypmod) into column_type
      from pg_catalog.pg_attribute as a
      where a.attrelid = source_table and a.attname = filter_column and a.attnum > 0 and not a.attisdropped;
    if column_type is null then
      raise exception using errcode = '42703',
        message = pg_catalog.format('cannot filter on %s: %s has no such column', filter_column, source_table);
    end if;
    if filter_column = any (hidden_columns) then
      raise exception using errcode = '22023',
        message = pg_catalog.format('cannot filter on %s: it is a vector or tsvector column', filter_column);
    end if;
    if pg_catalog.jsonb_typeof(filter_value) = 'null' then
      conditions := conditions || pg_catalog.format(' and t.%I is null', filter_column);
    elsif pg_catalog.jsonb_typeof(filter_value) = 'array' then
      if exists (select 1 from pg_catalog.jsonb_array_elements(filter_value) as v(value)
                 where pg_catalog.jsonb_typeof(v.value) not in ('string', 'number', 'boolean')) then
        raise exception using errcode = '22023',
          message = pg_catalog.format('filter on %s: a list may hold only strings, numbers and booleans', filter_column);
      end if;
      conditions := conditions || pg_catalog.format(
        ' and t.%1$I = any ((select pg_catalog.array_agg(v.value) from pg_catalog.jsonb_array_elements_text($5 -> %2$L) as v(value))::%3$s[])',
        filter_column, filter_column, column_type);
    elsif pg_catalog.jsonb_typeof(filter_value) in ('string', 'number', 'boolean') then
      conditions := conditions || pg_catalog.format(' and t.%1$I = ($5 ->> %2$L)::%3$s',
        filter_column, filter_column, column_type);
    else
      raise exception using errcode = '22023',
        message = pg_catalog.format('filter on %s must be a string, number, boolean, null or a list of them, got an %s',
          filter_column, pg_catalog.jsonb_typeof(filter_value));
    end if;
  end loop;
  return conditions;
end;
$$;
comment on function embedding_search._filter_sql(regclass, jsonb, name[]) is
  'The WHERE conditions (each starting with " and ") of a search''s filters: {"column": value} is equality, {"column": [values]} any of them, {"column": null} IS NULL; the value is read from parameter $5 and cast to the column''s type. Raises 42703 for a column the table lacks and 22023 for a vector or tsvector column or a value that is an object.';

/** The full-text query of the caller's words: any of them (OR), all of them, or web syntax. */
create or replace function embedding_search._keyword_query(text_search_config text, query_text text, keyword_match text)
returns tsquery
language sql stable set search_path = ''
as $$
  -- An unknown configuration raises 42704, naming it. plainto_tsquery joins the normalised words
  -- with &; for 'any' one word is enough, so they are joined with | instead.
  select case keyword_match
    when 'any' then pg_catalog.replace(
      pg_catalog.plainto_tsquery(text_search_config::regconfig, query_text)::text, ' & ', ' | ')::tsquery
    when 'all' then pg_catalog.plainto_tsquery(text_search_config::regconfig, query_text)
    when 'websearch' then pg_catalog.websearch_to_tsquery(text_search_config::regconfig, query_text)
  end
$$;
comment on function embedding_search._keyword_query(text, text, text) is
  'The tsquery of a search''s words in the target''s text search configuration: keyword_match ''any'' matches rows holding any of the words (stop words dropped, words stemmed), ''all'' only rows holding every word (plainto_tsquery), ''websearch'' reads quotes, OR and - as websearch_to_tsquery does.';

/** The SQL expressions a search builds on: the row's document, its keyword rank, the query vector. */
create or replace function embedding_search._expression_sql(
  target embedding_search.targets,
  expression text,
  query_parameter text
)
returns text
language plpgsql stable set search_path = ''
as $$
declare
  document text := case
    when target.tsvector_column is not null then pg_catalog.format('t.%I', target.tsvector_column)
    else pg_catalog.format('pg_catalog.to_tsvector(%L::regconfig, %s(t))',
      target.text_search_config, target.content_function_name)
  end;
begin
  if expression = 'document' then
    return document;
  elsif expression = 'keyword_rank' then
    -- ts_rank, not ts_rank_cd: an OR query's cover is one word, so cover density says little.
    -- Normalisation 1 divides by 1 + log(length): long rows do not win by having more words that
    -- happen to match, yet a long row about exactly the words still ranks first (dividing by the
    -- length itself, 2, lost "bass layering" to a shorter row that mentions bass once). tools/eval:
    -- keyword MRR@10 0.824 with ts_rank_cd(d, q, 1), 0.848 with this.
    return pg_catalog.format('pg_catalog.ts_rank(%s, %s, 1)', document, query_parameter);
  elsif expression = 'query_vector' then
    if target.embedding_type not in ('vector', 'halfvec') then
      raise exception using errcode = '55000',
        message = pg_catalog.format('target %s: column %I is %s, not a vector or halfvec', target.target_name,
          target.embedding_column, coalesce(target.embedding_type, 'missing'));
    end if;
    return pg_catalog.format('%s::extensions.%s', query_parameter, target.embedding_type);
  end if;
  raise exception using errcode = '22023', message = pg_catalog.format('unknown search expression %s', expression);
end;
$$;
comment on function embedding_search._expression_sql(embedding_search.targets, text, text) is
  'One SQL expression of a search over the target''s table (alias t), defined once: ''document'' the tsvector keyword search reads (the tsvector column, or to_tsvector of the content function''s text); ''keyword_rank'' ts_rank of it against the tsquery parameter, divided by 1 + log(document length); ''query_vector'' the query vector parameter cast to the column''s type (vector or halfvec).';

/** The candidate query of one side of a search, as the search runs it (and the plan test explains). */
create or replace function embedding_search._candidate_sql(target embedding_search.targets, side text, filter_sql text)
returns text
language plpgsql stable set search_path = ''
as $$
begin
  -- Parameters: $1 query vector, $2 tsquery, $3 largest cosine distance (or null), $4 limit, $5 filters.
  if side = 'semantic' then
    return pg_catalog.format(
      $sql$
        select t.%1$I::text as row_key,
               (t.%4$I operator(extensions.<=>) %6$s)::double precision as sort_key,
               pg_catalog.md5(%5$s(t)) as content_hash,
               pg_catalog.md5(t.%4$I::text) as vector_hash
        from %2$s as t
        where t.%4$I is not null
          and ($3::double precision is null or (t.%4$I operator(extensions.<=>) %6$s) <= $3::double precision)%3$s
        order by t.%4$I operator(extensions.<=>) %6$s
        limit $4
      $sql$,
      target.key_column, target.source_table, filter_sql, target.embedding_column,
      target.content_function_name, embedding_search._expression_sql(target, 'query_vector', '$1'));
  elsif side = 'keyword' then
    return pg_catalog.format(
      $sql$
        select t.%1$I::text as row_key,
               (-%7$s)::double precision as sort_key,
               pg_catalog.md5(%5$s(t)) as content_hash,
               %6$s as vector_hash
        from %2$s as t
        where %4$s operator(pg_catalog.@@) $2%3$s
        order by 2, 1
        limit $4
      $sql$,
      target.key_column, target.source_table,
      -- A chunked target's rows hold no vector: its record's content hash alone says it is current.
      case when target.chunked then filter_sql
           else pg_catalog.format(' and t.%I is not null', target.embedding_column) || filter_sql end,
      embedding_search._expression_sql(target, 'document', null),
      target.content_function_name,
      case when target.chunked then 'null::text'
           else pg_catalog.format('pg_catalog.md5(t.%I::text)', target.embedding_column) end,
      embedding_search._expression_sql(target, 'keyword_rank', '$2'));
  end if;
  raise exception using errcode = '22023', message = pg_catalog.format('unknown search side %s', side);
end;
$$;
comment on function embedding_search._candidate_sql(embedding_search.targets, text, text) is
  'The SQL of one side of a search over a target''s table, best first, with each row''s key, sort key (cosine distance; or minus the keyword rank) and md5 of its text and of its vector (null for a chunked target, whose rows hold none; its semantic side is _chunk_candidates_sql). Semantic: ORDER BY <=> LIMIT with the query cast to the column''s type, the shape the HNSW index serves. Parameters: $1 query vector, $2 tsquery, $3 largest distance or null, $4 limit, $5 filters.';

/** One round of one side of a search: its candidates read as the caller, kept only when current. */
create or replace function embedding_search._current_candidates_sql(
  target embedding_search.targets,
  side text,
  filter_sql text
)
returns text
language sql stable set search_path = ''
as $$
  -- Parameters: those of _candidate_sql, and $6 the target's id. Answers how many candidates
  -- there were, and the keys and sort keys of the current ones, best first.
  select pg_catalog.format(
    $sql$
      with candidates as materialized (%s),
      recorded as materialized (
        select v.row_key, v.content_hash, v.vector_hash
        from embedding_search.current_vectors as v
        where v.target_id = $6 and v.row_key = any (array(select c.row_key from candidates as c))
      )
      select (select count(*) from candidates)::integer,
             array(select c.row_key from candidates as c
                   join recorded as r on r.row_key = c.row_key and r.content_hash = c.content_hash
                                     and (c.vector_hash is null or r.vector_hash = c.vector_hash)
                   order by c.sort_key, c.row_key),
             array(select c.sort_key from candidates as c
                   join recorded as r on r.row_key = c.row_key and r.content_hash = c.content_hash
                                     and (c.vector_hash is null or r.vector_hash = c.vector_hash)
                   order by c.sort_key, c.row_key),
             -- A whole-row target ranks rows, not chunks.
             null::integer[], null::integer[], null::integer[], null::text[]
    $sql$,
    embedding_search._candidate_sql(target, side, filter_sql))
$$;
comment on function embedding_search._current_candidates_sql(embedding_search.targets, text, text) is
  'The SQL of one round of one side of a search (semantic or keyword): the side''s candidates (_candidate_sql, read as the caller), kept only when current: a record in embedding_search.current_vectors with the target''s model whose content hash is the md5 of the row''s text now and whose vector hash is the md5 of the vector the row holds now (a chunked target''s rows hold none: the content hash decides). Answers the number of candidates fetched and two arrays, the current rows'' keys and sort keys, best first. Parameters: $1-$5 as _candidate_sql, $6 the target id.';

/** The semantic side of a chunked target: rows ranked by their best current chunk, through the chunk table's index. */
create or replace function embedding_search._chunk_candidates_sql(target embedding_search.targets, filter_sql text)
returns text
language sql stable set search_path = ''
as $$
  -- Parameters: those of _candidate_sql, and $6 the target's id (unused: the view is the
  -- target's). The nearest chunks come from the chunk view, which the search has told the query
  -- vector and how many ($1 and $4, as the settings embedding_search.query_vector and
  -- embedding_search.nearest_chunks): it keeps the chunks of the target's model of rows the caller
  -- may read, through the chunk table's HNSW index. A chunk counts when it was cut from the row's
  -- text as the caller reads it now; each row keeps its best. Answers how many chunks were
  -- fetched, then the rows' keys, distances and best chunks, best first.
  select pg_catalog.format(
    $sql$
      with nearest as materialized (
        select c.row_key, c.chunk_index, c.start_offset, c.end_offset, c.chunk_text, c.content_hash,
               (c.embedding operator(extensions.<=>) $1::extensions.vector)::double precision as distance
        from %1$s as c
      ),
      best as materialized (
        select distinct on (n.row_key) n.row_key, n.distance, n.chunk_index, n.start_offset, n.end_offset, n.chunk_text
        from nearest as n
        join %2$s as t on t.%3$I = n.row_key::%4$s
        where n.content_hash = pg_catalog.md5(%5$s(t))
          and ($3::double precision is null or n.distance <= $3::double precision)%6$s
        order by n.row_key, n.distance, n.chunk_index
      )
      select (select count(*) from nearest)::integer,
             array(select b.row_key from best as b order by b.distance, b.row_key),
             array(select b.distance from best as b order by b.distance, b.row_key),
             array(select b.chunk_index from best as b order by b.distance, b.row_key),
             array(select b.start_offset from best as b order by b.distance, b.row_key),
             array(select b.end_offset from best as b order by b.distance, b.row_key),
             array(select b.chunk_text from best as b order by b.distance, b.row_key)
    $sql$,
    target.chunk_view, target.source_table, target.key_column, target.key_type,
    target.content_function_name, filter_sql)
$$;
comment on function embedding_search._chunk_candidates_sql(embedding_search.targets, text) is
  'The SQL of one round of the semantic side of a chunked target: the chunks nearest the query vector from the target''s chunk view (of the target''s model, of rows the caller may read, through the chunk table''s HNSW index; the search sets embedding_search.query_vector and embedding_search.nearest_chunks to $1 and $4 first), kept when cut from the row''s text as the caller reads it now (content_hash = md5 of the content function''s text), within the largest distance $3 and when the filters keep the row; each row ranked by its best chunk. Answers the number of chunks fetched and, best first, the rows'' keys, cosine distances and best chunks (index, start, end, text). Parameters as _current_candidates_sql.';

-- =============================================================================================
-- The search, in steps
-- =============================================================================================

/** Raises, naming the argument, when one of a search's arguments is out of its range. */
create or replace function embedding_search._check_search_arguments(
  mode text,
  match_count integer,
  query_text text,
  has_query_embedding boolean,
  match_threshold double precision,
  semantic_weight double precision,
  keyword_weight double precision,
  rrf_k integer,
  keyword_match text
)
returns void
language plpgsql immutable set search_path = ''
as $$
begin
  if mode is null or mode not in ('hybrid', 'semantic', 'keyword') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('mode must be hybrid, semantic or keyword, got %s', coalesce(mode, 'null'));
  end if;
  if match_count is null or match_count not between 1 and 100 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('match_count must be between 1 and 100, got %s', coalesce(match_count::text, 'null'));
  end if;
  if mode in ('hybrid', 'keyword') and (query_text is null or pg_catalog.btrim(query_text) = '') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s search needs query_text: words to look for', mode);
  end if;
  if mode in ('hybrid', 'semantic') and not has_query_embedding then
    raise exception using errcode = '22023',
      message = pg_catalog.format('%s search needs query_embedding: the query embedded with the target''s model', mode);
  end if;
  if match_threshold is not null and (match_threshold = 'NaN' or match_threshold not between -1 and 1) then
    raise exception using errcode = '22023',
      message = pg_catalog.format('match_threshold is a cosine similarity between -1 and 1, got %s', match_threshold);
  end if;
  if semantic_weight is null or keyword_weight is null
     or semantic_weight not between 0 and 1000 or keyword_weight not between 0 and 1000
     or semantic_weight = 'NaN' or keyword_weight = 'NaN' or semantic_weight + keyword_weight = 0 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('semantic_weight and keyword_weight must be between 0 and 1000 and not both 0, got %s and %s',
        coalesce(semantic_weight::text, 'null'), coalesce(keyword_weight::text, 'null'));
  end if;
  if rrf_k is null or rrf_k not between 0 and 1000 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('rrf_k must be between 0 and 1000, got %s', coalesce(rrf_k::text, 'null'));
  end if;
  if keyword_match is null or keyword_match not in ('any', 'all', 'websearch') then
    raise exception using errcode = '22023',
      message = pg_catalog.format('keyword_match must be any, all or websearch, got %s', coalesce(keyword_match, 'null'));
  end if;
end;
$$;
comment on function embedding_search._check_search_arguments(text, integer, text, boolean, double precision, double precision, double precision, integer, text) is
  'The argument checks of public.search_embeddings, in its order: mode, match_count (1-100), query_text for hybrid and keyword, a query embedding for hybrid and semantic, match_threshold (-1 to 1), the weights (0 to 1000, not both 0), rrf_k (0 to 1000), keyword_match. Raises 22023 with a message naming the argument and the value given.';

/** The role a search runs as: the one its caller set, else the session's. */
create or replace function embedding_search._invoking_role()
returns name
language sql stable set search_path = ''
as $$
  -- Inside a SECURITY DEFINER function current_user is the owner, but the role the caller set
  -- (PostgREST and the search function set local role anon or authenticated) is still the setting.
  select case when pg_catalog.current_setting('role') = 'none' then session_user
              else pg_catalog.current_setting('role')::name end
$$;
comment on function embedding_search._invoking_role() is
  'The role public.search_embeddings runs as, read from inside the SECURITY DEFINER plan: the role the caller set (set role, as PostgREST and the search function do), or the session''s role when none was set.';

/** The target by name, once the caller is known to be able to search it with that query vector. */
create or replace function embedding_search._searchable_target(
  target text,
  query_embedding extensions.vector,
  caller name
)
returns embedding_search.targets
language plpgsql stable set search_path = ''
as $$
declare
  info embedding_search.targets;
begin
  -- Read by the plan's owner, which sees every target; the caller's rights are checked below.
  select * into info from embedding_search.targets as t where t.target_name = _searchable_target.target;
  if not found then
    raise exception using errcode = 'P0002',
      message = pg_catalog.format('no embedding target named %s', coalesce(_searchable_target.target, 'null'));
  end if;
  if info.source_table is null or info.content_function is null then
    raise exception using errcode = '55000',
      message = pg_catalog.format('target %s cannot be searched: its table or content function is gone (see embeddings.status)', info.target_name);
  end if;
  if info.chunked and info.chunk_view is null then
    raise exception using errcode = '55000',
      message = pg_catalog.format('target %s cannot be searched: its chunk table or its chunk view embedding_search.%I is missing (see embeddings.status; the owner makes the view with select embedding_search._follow_chunk_tables();)',
        info.target_name, info.chunk_view_name);
  end if;
  if not pg_catalog.has_table_privilege(caller, info.source_table, 'select') then
    raise exception using errcode = '42501',
      message = pg_catalog.format('role %s may not read %s, so it cannot search target %s', caller, info.source_table, info.target_name);
  end if;
  -- The content function tells a current vector from a stale one, so the search needs it too.
  if not pg_catalog.has_function_privilege(caller, info.content_function_oid, 'execute') then
    raise exception using errcode = '42501',
      message = pg_catalog.format('role %s may not run %s, which the search needs to tell current vectors from stale ones; fix: grant execute on function %s to %s',
        caller, info.content_function, info.content_function, caller);
  end if;
  if query_embedding is not null and extensions.vector_dims(query_embedding) <> info.dimensions then
    raise exception using errcode = '22000',
      message = pg_catalog.format('query_embedding has %s dimensions; target %s holds %s-dimension vectors of model %s',
        extensions.vector_dims(query_embedding), info.target_name, info.dimensions, info.model);
  end if;
  return info;
end;
$$;
comment on function embedding_search._searchable_target(text, extensions.vector, name) is
  'The embedding_search.targets row of the named target, once the caller (a role name) may search it: P0002 when no target has the name, 55000 when its table or content function (a chunked target: its chunk view) is gone, 42501 when the caller may not read the table or run the content function (the message says which grant is missing), 22000 when the query embedding''s dimensions are not the target''s.';

/** The query that fuses both sides' rankings, keeps the best and reads those rows as the caller. */
create or replace function embedding_search._fusion_sql(target embedding_search.targets)
returns text
language sql stable set search_path = ''
as $$
  -- Reciprocal rank fusion: each list adds weight / (k + rank). Reading the rows last, as the
  -- caller, drops one deleted meanwhile.
  select pg_catalog.format(
    $sql$
      with semantic as (
        select s.row_key, s.position::integer as position, s.sort_key,
               s.chunk_index, s.chunk_start, s.chunk_end, s.chunk_text
        from rows from (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::double precision[]),
                        pg_catalog.unnest($13::integer[]), pg_catalog.unnest($14::integer[]),
                        pg_catalog.unnest($15::integer[]), pg_catalog.unnest($16::text[]))
          with ordinality as s(row_key, sort_key, chunk_index, chunk_start, chunk_end, chunk_text, position)
      ),
      keyword as (
        select k.row_key, k.position::integer as position, k.sort_key
        from rows from (pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::double precision[])) with ordinality as k(row_key, sort_key, position)
      ),
      fused as (
        select coalesce(s.row_key, k.row_key) as row_key, s.position as semantic_rank, k.position as keyword_rank,
               s.sort_key as semantic_distance, s.chunk_index, s.chunk_start, s.chunk_end, s.chunk_text,
               case $5
                 when 'semantic' then 1 - s.sort_key
                 when 'keyword' then -k.sort_key
                 else coalesce($6 / ($8 + s.position), 0) + coalesce($7 / ($8 + k.position), 0)
               end as score
        from semantic as s full join keyword as k on k.row_key = s.row_key
      ),
      best as (
        select f.* from fused as f
        order by f.score desc, least(f.semantic_rank, f.keyword_rank), f.row_key
        limit $9
      )
      select b.row_key, b.score,
             pg_catalog.array_remove(array[
               case when b.semantic_rank is not null then 'semantic' end,
               case when b.keyword_rank is not null then 'keyword' end], null),
             b.semantic_rank, b.keyword_rank,
             %2$s,
             case when $11::tsquery is not null then (%5$s)::double precision end,
             pg_catalog.to_jsonb(t) operator(pg_catalog.-) $12::text[],
             b.chunk_text, b.chunk_index, b.chunk_start, b.chunk_end
      from best as b
      join %1$s as t on t.%3$I = b.row_key::%4$s
      order by b.score desc, least(b.semantic_rank, b.keyword_rank), b.row_key
    $sql$,
    target.source_table,
    -- The row's cosine similarity to the query: a chunked target's is its best chunk's, as ranked.
    case when target.chunked then '(1 - b.semantic_distance)::double precision'
         else pg_catalog.format(
           'case when $10::extensions.vector is not null then (1 - (t.%I operator(extensions.<=>) %s))::double precision end',
           target.embedding_column, embedding_search._expression_sql(target, 'query_vector', '$10')) end,
    target.key_column, target.key_type,
    embedding_search._expression_sql(target, 'keyword_rank', '$11::tsquery'))
$$;
comment on function embedding_search._fusion_sql(embedding_search.targets) is
  'The last query of a search over the target''s table (alias t): fuses the semantic and keyword rankings (reciprocal rank fusion in hybrid mode; the side''s own score otherwise), keeps the best and reads those rows as the caller, answering public.search_embeddings'' columns. Parameters: $1, $2 semantic keys and sort keys, $3, $4 keyword keys and sort keys, $5 mode, $6, $7 semantic and keyword weights, $8 rrf_k, $9 match_count, $10 query vector, $11 tsquery, $12 the columns left out of row_data, $13-$16 the chunk index, start, end and text of each semantic key (a chunked target''s best chunk of the row; null arrays for a whole-row target). A chunked target''s similarity is its best chunk''s.';

-- =============================================================================================
-- The plan: what a caller may search, checked by the engine, as SQL the search runs as the caller
-- =============================================================================================

/** A checked search, ready to run as its caller. */
create type embedding_search.search_plan as (
  target_id bigint,
  -- A chunked target: the semantic side reads its chunk view, told the query vector by settings.
  chunked boolean,
  -- The query's words as the target's text search configuration parses them; null without words.
  text_query tsquery,
  -- How many current rows each side looks for.
  side_count integer,
  -- One round of each side (_current_candidates_sql); null when the mode leaves the side out.
  semantic_sql text,
  keyword_sql text,
  fusion_sql text,
  hidden_columns text[]
);
comment on type embedding_search.search_plan is
  'What embedding_search.plan_search answers: the target''s id, whether it is chunked (its semantic side reads the chunk view, which the search first tells the query vector and the number of chunks by the settings embedding_search.query_vector and embedding_search.nearest_chunks), the tsquery of the words, how many current rows each side looks for, the SQL of one round of the semantic and of the keyword side (null when the mode leaves it out; parameters $1 query vector, $2 tsquery, $3 largest cosine distance, $4 limit, $5 filters, $6 target id), the fusion query (parameters as _fusion_sql) and the columns left out of row_data.';

/** Checks a search for its caller and answers the SQL public.search_embeddings runs as the caller. */
create or replace function embedding_search.plan_search(
  target text,
  query_text text,
  query_embedding extensions.vector,
  mode text,
  match_count integer,
  filters jsonb,
  match_threshold double precision,
  semantic_weight double precision,
  keyword_weight double precision,
  rrf_k integer,
  keyword_match text
)
returns embedding_search.search_plan
language plpgsql stable security definer set search_path = ''
as $$
declare
  info embedding_search.targets;
  filter_sql text;
  plan embedding_search.search_plan;
begin
  perform embedding_search._check_search_arguments(mode, match_count, query_text, query_embedding is not null,
    match_threshold, semantic_weight, keyword_weight, rrf_k, keyword_match);
  -- Only a caller that may read the table gets its SQL: what the plan reveals (table, column and
  -- function names) is what that caller could read in the catalog anyway.
  info := embedding_search._searchable_target(plan_search.target, query_embedding, embedding_search._invoking_role());
  filter_sql := embedding_search._filter_sql(info.source_table, filters, info.hidden_columns);
  plan.target_id := info.target_id;
  plan.chunked := info.chunked;
  plan.hidden_columns := info.hidden_columns::text[];
  if query_text is not null and pg_catalog.btrim(query_text) <> '' then
    plan.text_query := embedding_search._keyword_query(info.text_search_config, query_text, keyword_match);
  end if;
  -- Hybrid fuses two longer lists, so a row ranked low by one side and high by the other counts.
  plan.side_count := case when mode = 'hybrid' then least(greatest(match_count * 2, 20), 200) else match_count end;
  if mode in ('hybrid', 'semantic') then
    plan.semantic_sql := case when info.chunked then embedding_search._chunk_candidates_sql(info, filter_sql)
                              else embedding_search._current_candidates_sql(info, 'semantic', filter_sql) end;
  end if;
  -- Only stop words (or nothing the parser keeps): the keyword side finds nothing.
  if mode in ('hybrid', 'keyword') and pg_catalog.numnode(plan.text_query) > 0 then
    plan.keyword_sql := embedding_search._current_candidates_sql(info, 'keyword', filter_sql);
  end if;
  plan.fusion_sql := embedding_search._fusion_sql(info);
  return plan;
end;
$$;
comment on function embedding_search.plan_search(text, text, extensions.vector, text, integer, jsonb, double precision, double precision, double precision, integer, text) is
  'The plan of a search, for public.search_embeddings (same arguments, none optional): SECURITY DEFINER, so the query builders need no grant. Checks the arguments (22023), the target (P0002, 55000) and that the calling role (the role set with set role, else the session''s) may read its table and run its content function (42501), the query''s dimensions (22000) and the filters (42703, 22023); then answers the SQL of each side and of the fusion, built from the registry with format(%I, %L), for the search to run as its caller. Takes no SQL text; reveals only names of objects the caller may read.';

/** Semantic, keyword or hybrid search of a target, as the caller, over current vectors only. */
create or replace function public.search_embeddings(
  target text,
  query_text text default null,
  query_embedding extensions.vector default null,
  mode text default 'hybrid',
  match_count integer default 10,
  filters jsonb default '{}',
  match_threshold double precision default null,
  -- Measured by tools/eval on the demo data with the offline model (see the README): the
  -- keyword side ranks better there, so it weighs four times as much, and k is small so the top
  -- ranks decide; Supabase's hybrid_search defaults (k 50, weights 1 and 1) scored below keyword.
  semantic_weight double precision default 1,
  keyword_weight double precision default 4,
  rrf_k integer default 2,
  keyword_match text default 'any'
)
returns table (
  row_key text,
  score double precision,
  ranked_by text[],
  semantic_rank integer,
  keyword_rank integer,
  similarity double precision,
  keyword_score double precision,
  row_data jsonb,
  -- A chunked target's best chunk of the row (the one the semantic side ranked it by), its place
  -- in the chunk order and its [start, end) offsets in UTF-16 code units of the row's text; null
  -- for a whole-row target and for a row only the keyword side found.
  chunk text,
  chunk_index integer,
  chunk_start integer,
  chunk_end integer
)
language plpgsql stable security invoker set search_path = ''
-- pgvector 0.8: with RLS and filters on the index scan, keep scanning until LIMIT rows pass
-- instead of stopping after ef_search candidates; each side's rows are sorted again.
set hnsw.iterative_scan = 'relaxed_order'
as $$
declare
  claims constant jsonb := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
  plan embedding_search.search_plan;
  side text;
  side_sql text;
  fetch_limit integer;
  fetched integer;
  rounds integer;
  found_keys text[];
  found_sort_keys double precision[];
  found_chunk_indexes integer[];
  found_chunk_starts integer[];
  found_chunk_ends integer[];
  found_chunk_texts text[];
  semantic_keys text[] := array[]::text[];
  semantic_sort_keys double precision[] := array[]::double precision[];
  -- The best chunk of each semantic key, for a chunked target; null for a whole-row one.
  semantic_chunk_indexes integer[];
  semantic_chunk_starts integer[];
  semantic_chunk_ends integer[];
  semantic_chunk_texts text[];
  keyword_keys text[] := array[]::text[];
  keyword_sort_keys double precision[] := array[]::double precision[];
begin
  -- auth.uid() and auth.role() read request.jwt.claim.sub / .role before request.jwt.claims: a
  -- session-level value left on a pooled connection would make RLS run as another user. This
  -- search's own claims decide, for this transaction.
  perform pg_catalog.set_config('request.jwt.claim.sub', coalesce(claims ->> 'sub', ''), true),
          pg_catalog.set_config('request.jwt.claim.role', coalesce(claims ->> 'role', ''), true);
  plan := embedding_search.plan_search(search_embeddings.target, query_text, query_embedding, mode, match_count,
    filters, match_threshold, semantic_weight, keyword_weight, rrf_k, keyword_match);

  if plan.chunked and plan.semantic_sql is not null then
    -- What the chunk view orders by (see embedding_search._chunk_view_sql), once: the vector's text
    -- is long, and only the number of chunks changes from round to round.
    perform pg_catalog.set_config('embedding_search.query_vector', query_embedding::text, true);
  end if;
  foreach side in array array['semantic', 'keyword'] loop
    side_sql := case side when 'semantic' then plan.semantic_sql else plan.keyword_sql end;
    continue when side_sql is null;
    fetch_limit := greatest(plan.side_count * 2, 10);
    rounds := 0;
    loop
      rounds := rounds + 1;
      if side = 'semantic' and plan.chunked then
        -- How many chunks the chunk view answers this round.
        perform pg_catalog.set_config('embedding_search.nearest_chunks', fetch_limit::text, true);
      end if;
      execute side_sql
        into fetched, found_keys, found_sort_keys, found_chunk_indexes, found_chunk_starts, found_chunk_ends,
             found_chunk_texts
        using query_embedding, plan.text_query, case when side = 'semantic' then 1 - match_threshold end,
              fetch_limit, filters, plan.target_id;
      -- Enough current rows, or no more candidates, or searched far enough: rows not yet
      -- re-embedded are few; a model switch in progress must not make every search scan the table.
      exit when pg_catalog.cardinality(found_keys) >= plan.side_count or fetched < fetch_limit or rounds >= 4;
      fetch_limit := fetch_limit * 4;
    end loop;
    if side = 'semantic' then
      semantic_keys := found_keys[1:plan.side_count];
      semantic_sort_keys := found_sort_keys[1:plan.side_count];
      semantic_chunk_indexes := found_chunk_indexes[1:plan.side_count];
      semantic_chunk_starts := found_chunk_starts[1:plan.side_count];
      semantic_chunk_ends := found_chunk_ends[1:plan.side_count];
      semantic_chunk_texts := found_chunk_texts[1:plan.side_count];
    else
      keyword_keys := found_keys[1:plan.side_count];
      keyword_sort_keys := found_sort_keys[1:plan.side_count];
    end if;
  end loop;

  if plan.chunked then
    perform pg_catalog.set_config('embedding_search.query_vector', '', true),
            pg_catalog.set_config('embedding_search.nearest_chunks', '', true);
  end if;

  -- A loop into the OUT columns rather than RETURN QUERY, so plpgsql_check sees each one set.
  for row_key, score, ranked_by, semantic_rank, keyword_rank, similarity, keyword_score, row_data,
      chunk, chunk_index, chunk_start, chunk_end in
    execute plan.fusion_sql
    using semantic_keys, semantic_sort_keys, keyword_keys, keyword_sort_keys, mode,
          semantic_weight, keyword_weight, rrf_k::double precision, match_count,
          query_embedding, plan.text_query, plan.hidden_columns,
          semantic_chunk_indexes, semantic_chunk_starts, semantic_chunk_ends, semantic_chunk_texts
  loop
    return next;
  end loop;
end;
$$;
comment on function public.search_embeddings(text, text, extensions.vector, text, integer, jsonb, double precision, double precision, double precision, integer, text) is
  'Searches a registered target as the caller (SECURITY INVOKER: the table''s RLS decides what each caller sees). mode ''semantic'': cosine similarity to query_embedding (the query embedded with the target''s model), at least match_threshold when given, through the vector index; ''keyword'': full text of query_text (the target''s tsvector column, or its content function''s text; keyword_match any/all/websearch); ''hybrid'' (default): both, fused by reciprocal rank fusion, score = semantic_weight / (rrf_k + semantic rank) + keyword_weight / (rrf_k + keyword rank), by default 1 / (2 + semantic rank) + 4 / (2 + keyword rank) (tuned with tools/eval). filters: {"column": value | [values] | null}, equality. Returns at most match_count (1-100) rows, best first: key, score (cosine similarity, keyword rank: ts_rank divided by 1 + log(length), or the fused score), the lists that ranked it and its rank in each, its cosine similarity and keyword score, and the row as JSON without vector and tsvector columns; for a chunked target, the semantic side ranks each row by its best chunk (through the chunk table''s HNSW index, read through the target''s chunk view: only chunks of rows the caller can read) and the row comes with that chunk, its index and its [start, end) offsets (null for whole-row targets and keyword-only hits). Only rows whose vector is current are returned: made with the target''s model, from the row''s text as it is now, and still the vector in the column (a chunked target: chunks of the target''s model cut from the row''s text as it is now). It first sets request.jwt.claim.sub and request.jwt.claim.role for the transaction from request.jwt.claims (so a session-level value left on a pooled connection cannot make auth.uid() another user), then runs the SQL embedding_search.plan_search answers.';

-- =============================================================================================
-- The chunk views follow the chunk tables
-- =============================================================================================
drop event trigger if exists embedding_search_follow_chunk_tables;
create event trigger embedding_search_follow_chunk_tables on ddl_command_end
  when tag in ('CREATE TABLE', 'ALTER TABLE')
  execute function embedding_search._chunk_views_follow_ddl();
comment on event trigger embedding_search_follow_chunk_tables is
  'Makes the chunk views of the chunk tables there are at the end of a CREATE TABLE or ALTER TABLE in schema embedding_chunks (see embedding_search._follow_chunk_tables).';
-- Chunk tables made before this migration ran.
select embedding_search._follow_chunk_tables();
