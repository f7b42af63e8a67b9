-- =============================================================================================
-- EMBEDDING ENGINE: status
-- =============================================================================================
-- One row per target, its counts read from the database: rows, embedded with the current model,
-- pending (and how many wait out a backoff), in flight (and until when), dead-lettered, the
-- backfill, the last error, the last write, and the outcome of the last scheduled invocation.

/** Per target (or one target): exact counts, read from the table and the queue. */
create or replace function embeddings.status(only_target bigint default null)
returns table (
  target_id bigint, name text, source text, model text, dimensions integer,
  total_rows bigint, embedded bigint, chunks bigint, pending bigint, in_flight bigint, dead_lettered bigint,
  retrying bigint, next_retry_at timestamptz, leased_until timestamptz,
  backfill_done boolean, last_error text, last_write_at timestamptz, broken text
)
language plpgsql volatile security definer set search_path = ''
as $$
declare
  target embeddings.targets;
  row_exists text;
begin
  for target in
    select * from embeddings.targets as t where only_target is null or t.id = only_target order by t.id
  loop
    -- A broken target is shown as broken with the fix; it never hides the others.
    target := embeddings._target_by_id(target.id);
    broken := embeddings._broken_reason(target);
    target_id := target.id;
    name := target.name;
    source := case when target.chunking is null
                   then format('%I.%I.%I', target.table_schema, target.table_name, target.embedding_column)
                   else format('%I.%I (chunks in embedding_chunks.%I)', target.table_schema, target.table_name, target.name) end;
    model := target.model;
    dimensions := target.dimensions;
    -- An exact count scans the table: read status for the targets you need, not in a hot loop.
    -- Counted from the table: the books of deleted rows stay until a sweep removes them, and a
    -- record of a key used again before that sweep is no vector of the new row.
    total_rows := null;
    row_exists := 'true';  -- a broken target's table cannot be read: its books as they are
    chunks := null;
    if broken is not null then
      -- No table to count from: the books as they are.
      select count(*) into embedded from embeddings.embedded_rows as e
        where e.target_id = target.id and e.model = target.model;
    elsif target.chunking is not null then
      -- A chunked row is embedded when its record names the model and the text it has now: its
      -- chunks were replaced together with that record (verify checks them against it).
      execute format(
        $sql$
          select count(*), count(e.row_key) filter (where e.content_hash = pg_catalog.md5(%4$s(t)))
          from %1$I.%2$I as t
          left join embeddings.embedded_rows as e on e.target_id = $1 and e.row_key = t.%3$I::text and e.model = $2
        $sql$, target.table_schema, target.table_name, target.key_column, embeddings._content_function_name(target))
        into total_rows, embedded using target.id, target.model;
      execute format('select count(*) from %s', embeddings.chunk_table(target.id)) into chunks;
    else
      execute format(
        $sql$
          select count(*), count(e.row_key) filter (where t.%3$I is not null)
          from %1$I.%2$I as t
          left join embeddings.embedded_rows as e on e.target_id = $1 and e.row_key = t.%4$I::text and e.model = $2
        $sql$, target.table_schema, target.table_name, target.embedding_column, target.key_column)
        into total_rows, embedded using target.id, target.model;
    end if;
    if broken is null then
      -- %%s: the alias of the queue entry whose row must exist.
      row_exists := format('exists (select 1 from %I.%I as t where t.%I = %%s.row_key::%s)',
        target.table_schema, target.table_name, target.key_column, target.key_type);
    end if;
    -- The queue as it stands once a bulk statement's noted keys are moved in: status writes nothing.
    execute format(
      $sql$
        with entries as materialized (
          select q.* from embeddings._queue_entries($1) as q where %1$s
        )
        select count(*) filter (where q.dead_at is null and (q.leased_until is null or q.leased_until < pg_catalog.now())),
               count(*) filter (where q.dead_at is null and q.leased_until >= pg_catalog.now()),
               count(*) filter (where q.dead_at is not null),
               count(*) filter (where q.dead_at is null and q.next_attempt_at > pg_catalog.now()
                                  and (q.leased_until is null or q.leased_until < pg_catalog.now())),
               min(q.next_attempt_at) filter (where q.dead_at is null and q.next_attempt_at > pg_catalog.now()
                                                and (q.leased_until is null or q.leased_until < pg_catalog.now())),
               max(q.leased_until) filter (where q.dead_at is null and q.leased_until >= pg_catalog.now()),
               (select l.last_error from entries as l
                where l.last_error is not null order by l.next_attempt_at desc limit 1)
        from entries as q
      $sql$, format(row_exists, 'q'))
      into pending, in_flight, dead_lettered, retrying, next_retry_at, leased_until, last_error
      using target.id;
    backfill_done := target.backfill_done;
    last_write_at := target.last_write_at;
    return next;
  end loop;
end;
$$;
comment on function embeddings.status(bigint) is
  'Per target (all, or only_target), exact counts read on request: rows in the table, vectors in the column made by the current model (rows with a vector and its record, which the sync triggers keep true and embeddings.verify checks against the column; a chunked target: rows whose record names the model and their text now), chunks (a chunked target''s chunks in its chunk table, null for a whole-row target), pending (queued, not leased, with the keys a bulk statement noted for the next claim to queue; retrying counts those waiting out a backoff until next_retry_at), in flight (leased to a worker, the last lease running until leased_until), dead-lettered, whether the backfill has reached the end, the latest error, the last successful write (each counted over rows still in the table: the books of deleted rows wait for a sweep), and broken: why the target cannot be worked and the fix (its table, column or content function is gone; total_rows is then null), null when it is whole.';

create view embeddings.status with (security_invoker = true) as
  select s.*, last.outcome as last_invocation_outcome, last.error as last_invocation_error,
         coalesce(last.finished_at, last.sent_at) as last_invocation_at,
         last.skipped ->> s.name as last_skip_reason
  from embeddings.status() as s
  left join lateral (
    select d.outcome, d.error, d.finished_at, d.sent_at, d.skipped from embeddings.dispatches as d
    where d.outcome <> 'in flight' order by d.id desc limit 1
  ) as last on true;
comment on view embeddings.status is
  'One row per target: embeddings.status() and the outcome of the last finished scheduled invocation (which works every target), and last_skip_reason: why that invocation skipped the target (its model is not the embed function''s provider''s), null when it did not.';
