-- =============================================================================================
-- EMBEDDING ENGINE: verify, the reconciliation that reads the columns
-- =============================================================================================
-- The bookkeeping (queue and records) is a cache of the truth; the vector columns are the truth.
-- Triggers keep the two in step, but a restore with triggers disabled, session_replication_role =
-- replica or an altered column go unseen: verify reads every row of every target, names what does
-- not hold, and with fix => true queues what can be repaired and drops bookkeeping for rows that
-- no longer exist. `deno task cli verify` calls it; so can Supabase's SQL editor.

/** The checks verify makes, in the order it reports them. */
create or replace function embeddings.verify_checks()
returns table (problem text, description text, fixed_by text)
language sql immutable set search_path = ''
as $$
  values
    ('broken_target', 'the table, its vector column or its content function is missing, or the column''s dimensions differ from the model''s', 'nothing: repair the table or unregister the target'),
    ('missing_vector', 'rows with no vector that nobody is going to embed (not queued)', 'queued'),
    ('unvouched_vector', 'vectors the engine did not write (no record of them, or not the vector it wrote)', 'queued (adopted on a target that adopts existing vectors)'),
    ('other_model_vector', 'vectors made by another model than the target''s, not queued', 'queued'),
    ('stale_vector', 'vectors of text the row no longer holds, not queued', 'queued'),
    ('wrong_dimensions', 'vectors whose length is not the model''s', 'queued'),
    ('non_finite', 'vectors with NaN or infinite values', 'queued'),
    ('off_unit_norm', 'vectors whose length is not 1 though the model normalises', 'queued'),
    ('missing_chunks', 'rows of a chunked target recorded as embedded whose chunks are not the ones written with the record (some missing, added or replaced)', 'queued'),
    ('other_model_chunks', 'rows of a chunked target with chunks made by another model than the target''s, not queued', 'queued'),
    ('stale_chunks', 'rows of a chunked target with chunks cut from text the row no longer holds, not queued', 'queued'),
    ('orphan_bookkeeping', 'queue entries or records of rows that no longer exist, gone without a DELETE the triggers noted (those are swept)', 'removed'),
    ('orphan_chunks', 'chunks of rows that no longer exist, gone without a DELETE the triggers noted (those are swept); counted by row', 'removed'),
    ('dead_lettered', 'rows that failed max_attempts times', 'nothing: select embeddings.requeue_dead(<target id>)')
$$;
comment on function embeddings.verify_checks() is
  'The problems embeddings.verify looks for: code, what it means, and what verify(fix => true) does about it.';

/**
 * A chunked target's form of _verify_classified_sql: each row against its record and its chunks
 * (grouped by row: the md5 of their vectors in chunk order, their models, the hashes of the text
 * they were cut from, their norms). Same parameters and columns (vector_hash null: nothing to adopt).
 */
create or replace function embeddings._verify_classified_chunks_sql(registered embeddings.targets)
returns text
language sql stable set search_path = ''
as $$
  select format(
    $sql$
      select t.%1$I::text as row_key, h.content_hash, null::text as vector_hash,
        case
          when q.dead_at is not null then 'dead_lettered'
          when q.row_key is not null then null
          when e.model is null then 'missing_vector'
          when e.model <> $3 then 'other_model_vector'
          when e.content_hash <> h.content_hash then 'stale_vector'
          when e.vector_hash is distinct from coalesce(c.vector_hash, pg_catalog.md5('')) then 'missing_chunks'
          when c.other_model then 'other_model_chunks'
          when c.lowest_hash <> h.content_hash or c.highest_hash <> h.content_hash then 'stale_chunks'
          when $4 and c.off_unit_norm then 'off_unit_norm'
        end as problem
      from %4$I.%5$I as t
      cross join lateral (select pg_catalog.md5(%2$s(t)) as content_hash) as h
      left join embeddings.embedded_rows as e on e.target_id = $1 and e.row_key = t.%1$I::text
      -- The queue with the keys bulk statements noted for a claim to queue: queued all the same.
      left join embeddings._queue_entries($1) as q on q.row_key = t.%1$I::text
      left join (
        select g.row_key,
               pg_catalog.md5(pg_catalog.string_agg(g.embedding::text, ',' order by g.chunk_index)) as vector_hash,
               bool_or(g.model <> $3) as other_model,
               min(g.content_hash) as lowest_hash, max(g.content_hash) as highest_hash,
               bool_or(abs(extensions.vector_norm(g.embedding) - 1) > 0.001) as off_unit_norm
        from %3$s as g group by g.row_key
      ) as c on c.row_key = t.%1$I::text
    $sql$,
    registered.key_column, embeddings._content_function_name(registered), embeddings.chunk_table(registered.id),
    registered.table_schema, registered.table_name)
$$;
comment on function embeddings._verify_classified_chunks_sql(embeddings.targets) is
  'The query verify reads a chunked target with: each row''s key, content hash and problem, its record and its chunks compared (missing_chunks: the record''s vector_hash is not the md5 of its chunk vectors; other_model_chunks; stale_chunks: chunks cut from another text; off_unit_norm), null when none.';

/**
 * The select that gives each row of a target its key, the hashes of its text and vector, and its
 * problem: one per row, the first that applies; null for a row that is fine or queued (work in
 * progress, not a problem). Its parameters: $1 target id, $2 dimensions, $3 model, $4 unit_norm.
 */
create or replace function embeddings._verify_classified_sql(registered embeddings.targets)
returns text
language sql stable set search_path = ''
as $$
  select case when registered.chunking is not null then embeddings._verify_classified_chunks_sql(registered) else format(
    $sql$
      select t.%1$I::text as row_key, pg_catalog.md5(%3$s(t)) as content_hash,
        pg_catalog.md5(t.%2$I::text) as vector_hash,
        case
          when q.dead_at is not null then 'dead_lettered'
          when q.row_key is not null then null
          when t.%2$I is null then 'missing_vector'
          when extensions.vector_dims(t.%2$I::extensions.vector) <> $2 then 'wrong_dimensions'
          when extensions.vector_norm(t.%2$I::extensions.vector) in ('NaN'::float8, 'Infinity'::float8) then 'non_finite'
          when e.model is null then 'unvouched_vector'
          when e.model <> $3 then 'other_model_vector'
          when e.vector_hash is distinct from pg_catalog.md5(t.%2$I::text) then 'unvouched_vector'
          when e.content_hash <> pg_catalog.md5(%3$s(t)) then 'stale_vector'
          when $4 and abs(extensions.vector_norm(t.%2$I::extensions.vector) - 1) > 0.001 then 'off_unit_norm'
        end as problem
      from %4$I.%5$I as t
      left join embeddings.embedded_rows as e on e.target_id = $1 and e.row_key = t.%1$I::text
      -- The queue with the keys bulk statements noted for a claim to queue: queued all the same.
      left join embeddings._queue_entries($1) as q on q.row_key = t.%1$I::text
    $sql$,
    registered.key_column, registered.embedding_column, embeddings._content_function_name(registered),
    registered.table_schema, registered.table_name) end
$$;
comment on function embeddings._verify_classified_sql(embeddings.targets) is
  'The query verify reads a target with: each row''s key, content and vector hashes, and its problem (null when none); a chunked target''s is embeddings._verify_classified_chunks_sql.';

/**
 * The common table expressions of verify with fix => true: queue the rows that can be embedded
 * again (or adopt unvouched vectors where the target adopts, $6), drop their stale records, remove
 * the bookkeeping of rows that no longer exist, and count what was fixed by problem (`fixed`). They
 * read `classified` and `orphans_unnoted`, so the rows are classified once for both finding and fixing.
 */
create or replace function embeddings._verify_fix_ctes(chunks regclass)
returns text
language sql stable set search_path = ''
as $$
  select $sql$
    to_queue as (
      select c.row_key, c.content_hash, c.vector_hash, c.problem from classified as c
      where c.problem in ('missing_vector', 'unvouched_vector', 'other_model_vector', 'stale_vector',
                          'wrong_dimensions', 'non_finite', 'off_unit_norm', 'missing_chunks',
                          'other_model_chunks', 'stale_chunks')
    ),
    adopted as (
      insert into embeddings.embedded_rows as e (target_id, row_key, model, content_hash, vector_hash)
      select $1, q.row_key, $3, q.content_hash, q.vector_hash from to_queue as q
      where $6 and q.problem = 'unvouched_vector'
      on conflict on constraint embedded_rows_pkey do update
        set model = excluded.model, content_hash = excluded.content_hash,
            vector_hash = excluded.vector_hash, embedded_at = pg_catalog.now()
      returning e.row_key
    ),
    forgotten as (
      delete from embeddings.embedded_rows as e using to_queue as q
      where e.target_id = $1 and e.row_key = q.row_key and not ($6 and q.problem = 'unvouched_vector')
    ),
    queued as (
      insert into embeddings.queue as qu (target_id, row_key)
      select $1, q.row_key from to_queue as q where not ($6 and q.problem = 'unvouched_vector')
      on conflict on constraint queue_pkey do nothing
      returning qu.row_key
    ),
    orphan_records as (
      delete from embeddings.embedded_rows as e using orphans_unnoted as o
      where e.target_id = $1 and e.row_key = o.row_key
      returning e.row_key
    ),
    orphan_entries as (
      delete from embeddings.queue as q using orphans_unnoted as o
      where q.target_id = $1 and q.row_key = o.row_key
      returning q.row_key
    ),
    orphan_chunks_removed as (
      $sql$ || case when chunks is null then $sql$select null::text as row_key where false$sql$
                    else format($sql$delete from %s as g using orphan_chunks as o where g.row_key = o.row_key
                                     returning g.row_key$sql$, chunks) end || $sql$
    ),
    fixed as (
      select coalesce(pg_catalog.jsonb_object_agg(f.problem, f.row_count), '{}') as counts
      from (
        select q.problem, count(*) as row_count from to_queue as q
        where q.row_key in (select row_key from queued union all select row_key from adopted)
        group by q.problem
        union all
        select 'orphan_bookkeeping', count(*)
        from (select row_key from orphan_records union select row_key from orphan_entries) as o
        union all
        select 'orphan_chunks', count(distinct o.row_key) from orphan_chunks_removed as o
      ) as f
    )
  $sql$
$$;
comment on function embeddings._verify_fix_ctes(regclass) is
  'The part of verify''s statement that, with fix => true, queues or adopts the rows found, drops orphan bookkeeping and orphan chunks (of the chunk table given, null for a whole-row target) and counts what it fixed.';

/**
 * Reads one target in one statement: {"found": {problem: {count, sample}}, "fixed": {problem:
 * count}}. A target whose parts are gone is reported broken, never an error that hides the other
 * targets.
 */
create or replace function embeddings._verify_target(registered embeddings.targets, fix boolean, sample_size integer)
returns jsonb
-- Hash joins: the planner cannot size _queue_entries, and a nested loop over it costs rows squared.
language plpgsql volatile set search_path = '' set enable_nestloop = off
as $$
declare
  broken constant text := embeddings._broken_reason(registered);
  outcome jsonb;
begin
  if broken is not null then
    return pg_catalog.jsonb_build_object(
      'found', pg_catalog.jsonb_build_object('broken_target',
        pg_catalog.jsonb_build_object('count', 1, 'sample', pg_catalog.jsonb_build_array(broken))),
      'fixed', '{}'::jsonb);
  end if;
  -- Deleted rows' books are the engine's own work still to do, not drift: swept before reading.
  perform embeddings._sweep_deleted_rows(registered.id);
  execute format(
    $sql$
      with classified as (%1$s),
      -- Books of rows gone without a DELETE noted (replica mode, a restore): a DELETE committed
      -- since the sweep above left its note, and its rows are the next sweep's, not drift.
      orphans as (
        select e.row_key from embeddings.embedded_rows as e
        where e.target_id = $1 and not exists (select 1 from %2$I.%3$I as t where t.%4$I::text = e.row_key)
        union
        select q.row_key from embeddings.queue as q
        where q.target_id = $1 and not exists (select 1 from %2$I.%3$I as t where t.%4$I::text = q.row_key)
      ),
      orphans_unnoted as (
        select o.row_key from orphans as o
        where not exists (select 1 from embeddings.pending_sweeps as p where p.target_id = $1)
      ),
      orphan_chunks as (%6$s),
      flagged as (
        select c.problem, c.row_key from classified as c where c.problem is not null
        union all
        select 'orphan_bookkeeping', o.row_key from orphans_unnoted as o
        union all
        select 'orphan_chunks', o.row_key from orphan_chunks as o
      ),
      found as (
        select coalesce(pg_catalog.jsonb_object_agg(f.problem, pg_catalog.jsonb_build_object(
                 'count', f.row_count, 'sample', pg_catalog.to_jsonb(f.keys[1:$5]))), '{}') as problems
        from (select flagged.problem, count(*) as row_count,
                     array_agg(flagged.row_key order by flagged.row_key) as keys
              from flagged group by flagged.problem) as f
      ),
      %5$s
      select pg_catalog.jsonb_build_object('found', found.problems, 'fixed', fixed.counts) from found, fixed
    $sql$,
    embeddings._verify_classified_sql(registered), registered.table_schema, registered.table_name,
    registered.key_column,
    case when fix then embeddings._verify_fix_ctes(embeddings.chunk_table(registered.id))
         else $sql$fixed as (select '{}'::jsonb as counts)$sql$ end,
    -- A chunked target's chunks of rows gone without a DELETE noted, by row (as orphans_unnoted).
    case when registered.chunking is null then $sql$select null::text as row_key where false$sql$
         else format($sql$
           select distinct g.row_key from %1$s as g
           where not exists (select 1 from %2$I.%3$I as t where t.%4$I::text = g.row_key)
             and not exists (select 1 from embeddings.pending_sweeps as p where p.target_id = $1)
         $sql$, embeddings.chunk_table(registered.id), registered.table_schema, registered.table_name,
           registered.key_column) end)
  into outcome
  using registered.id, registered.dimensions, registered.model, registered.unit_norm, sample_size,
        registered.adopt_existing_vectors;
  return outcome;
end;
$$;
comment on function embeddings._verify_target(embeddings.targets, boolean, integer) is
  'verify''s reading of one target: the problems found (count and sample keys) and, with fix, how many rows of each it fixed.';

/** Reads back every row of every target (or one) and reports each problem with sample keys. */
create or replace function embeddings.verify(
  only_target bigint default null,
  fix boolean default false,
  sample_size integer default 5
)
returns table (
  target_id bigint, target text, problem text, description text,
  row_count bigint, sample_keys text[], fixed bigint
)
language plpgsql volatile security definer set search_path = ''
as $$
declare
  registered embeddings.targets;
  outcome jsonb;
begin
  if sample_size is null or sample_size < 0 or sample_size > 1000 then
    raise exception using errcode = '22023',
      message = format('sample_size must be between 0 and 1000, got %s', coalesce(sample_size::text, 'null'));
  end if;
  if only_target is not null then
    perform embeddings._target_by_id(only_target);
  end if;

  for registered in
    select * from embeddings.targets as t where only_target is null or t.id = only_target order by t.id
  loop
    registered := embeddings._target_by_id(registered.id);  -- follows a renamed table
    outcome := embeddings._verify_target(registered, fix, sample_size);
    return query
      select registered.id, registered.name, c.problem, c.description,
        coalesce((outcome -> 'found' -> c.problem ->> 'count')::bigint, 0),
        coalesce(
          array(select pg_catalog.jsonb_array_elements_text(outcome -> 'found' -> c.problem -> 'sample')),
          array[]::text[]),
        case when fix then coalesce((outcome -> 'fixed' ->> c.problem)::bigint, 0) end
      from embeddings.verify_checks() as c;
  end loop;
end;
$$;
comment on function embeddings.verify(bigint, boolean, integer) is
  'Reads back every row of every target (or only_target) against the bookkeeping: one row per target and check (embeddings.verify_checks()) with the number of rows affected and up to sample_size of their keys. With fix => true it queues the rows that can be re-embedded (adopting unvouched vectors on targets that adopt), removes bookkeeping of rows that no longer exist, and says how many rows it fixed; dead-lettered rows and broken targets it leaves (see verify_checks).';
