-- The worker's API over the queue: lease a batch (FOR UPDATE SKIP LOCKED), write a batch with
-- stale-content and model checks, record failures with backoff and dead-lettering, requeue the
-- dead, and report per-target status. All service_role only.

-- =============================================================================================
-- Claim: lease up to batch_size claimable rows and return their current text
-- =============================================================================================
create or replace function embeddings.claim_batch(
  target_id bigint,
  batch_size integer default 50,
  lease_seconds integer default 300
)
returns table (row_key text, content text, content_hash text, lease_token uuid)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  target embeddings.targets := embeddings.target_by_id(target_id);
  token uuid := gen_random_uuid();
  leased text[];
begin
  if batch_size is null or batch_size < 1 or batch_size > 1000 then
    raise exception using errcode = '22023',
      message = format('batch_size must be between 1 and 1000, got %s', coalesce(batch_size::text, 'null'));
  end if;
  if lease_seconds is null or lease_seconds < 1 or lease_seconds > 3600 then
    raise exception using errcode = '22023',
      message = format('lease_seconds must be between 1 and 3600, got %s', coalesce(lease_seconds::text, 'null'));
  end if;

  if not target.backfill_done then
    perform embeddings.queue_backfill_chunk(target.id, greatest(batch_size * 20, 1000));
  end if;

  -- SKIP LOCKED: concurrent workers each get different rows; an expired lease is claimable again.
  with picked as (
    select q.row_key from embeddings.queue as q
    where q.target_id = target.id
      and q.dead_at is null
      and q.next_attempt_at <= pg_catalog.now()
      and (q.leased_until is null or q.leased_until < pg_catalog.now())
    order by q.next_attempt_at, q.enqueued_at
    limit batch_size
    for update skip locked
  )
  update embeddings.queue as q
    set lease_token = token,
        leased_until = pg_catalog.now() + pg_catalog.make_interval(secs => lease_seconds)
    from picked
    where q.target_id = target.id and q.row_key = picked.row_key;

  select array_agg(q.row_key) into leased from embeddings.queue as q
    where q.target_id = target.id and q.lease_token = token;
  if leased is null then
    return;
  end if;

  -- A queued row that no longer exists has nothing to embed.
  execute format(
    $sql$
      delete from embeddings.queue as q
      where q.target_id = $1 and q.lease_token = $2
        and not exists (select 1 from %1$I.%2$I as t where t.%3$I = q.row_key::%4$s)
    $sql$,
    target.table_schema, target.table_name, target.key_column, target.key_type)
  using target.id, token;

  return query execute format(
    $sql$
      select t.%3$I::text, %5$s(t), pg_catalog.md5(%5$s(t)), $2
      from %1$I.%2$I as t
      where t.%3$I = any ($1::%4$s[])
      order by t.%3$I
    $sql$,
    target.table_schema, target.table_name, target.key_column, target.key_type,
    embeddings.content_function_name(target))
  using leased, token;
end;
$$;
comment on function embeddings.claim_batch(bigint, integer, integer) is
  'Leases up to batch_size queued rows of a target for lease_seconds (FOR UPDATE SKIP LOCKED, so workers never share rows) and returns each row''s key, current text, md5 of the text and the lease token. Queues the next backfill chunk first while the backfill runs.';

-- =============================================================================================
-- Write: validated vectors, only for rows still leased, only when the content is unchanged
-- =============================================================================================
create or replace function embeddings.write_batch(
  target_id bigint,
  lease_token uuid,
  model text,
  batch jsonb
)
returns table (written_keys text[], stale_keys text[], lost_keys text[])
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  target embeddings.targets := embeddings.target_by_id(target_id);
  item jsonb;
  item_position bigint;
  item_key text;
  seen_keys text[] := '{}';
  written text[];
  stale text[];
begin
  if model is distinct from target.model then
    raise exception using errcode = '22023',
      message = format('target %s embeds with model %s; refusing vectors of model %s', target.name, target.model, coalesce(model, 'null'));
  end if;
  if batch is null or jsonb_typeof(batch) <> 'array' then
    raise exception using errcode = '22023',
      message = format('batch must be a JSON array of {"key", "embedding", "content_hash"} objects, got %s',
        coalesce(jsonb_typeof(batch), 'null'));
  end if;

  -- Validate everything before writing anything: a rejected batch changes no row.
  for item, item_position in
    select element.value, element.ordinality
    from jsonb_array_elements(batch) with ordinality as element(value, ordinality)
  loop
    if jsonb_typeof(item) <> 'object' or jsonb_typeof(item -> 'key') is distinct from 'string'
       or jsonb_typeof(item -> 'content_hash') is distinct from 'string' then
      raise exception using errcode = '22023',
        message = format('batch item %s needs "key" and "content_hash" strings: %s', item_position, left(item::text, 80));
    end if;
    item_key := item ->> 'key';
    if item_key = any(seen_keys) then
      raise exception using errcode = '22023',
        message = format('row %s appears more than once in the batch', item_key);
    end if;
    seen_keys := seen_keys || item_key;

    perform embeddings.check_embedding(item_key, item -> 'embedding', target.dimensions);
  end loop;

  -- One statement: keep the rows this lease still holds, lock them in the source table, compare
  -- their content now with the content that was embedded, and write only the unchanged ones.
  execute format(
    $sql$
      with input as (
        select element.value ->> 'key' as row_key,
               element.value ->> 'content_hash' as content_hash,
               ((element.value -> 'embedding')::text)::extensions.vector as embedding
        from jsonb_array_elements($1) as element(value)
      ),
      held as (
        select input.* from input
        join embeddings.queue as q
          on q.target_id = $2 and q.row_key = input.row_key and q.lease_token = $3
      ),
      checked as (
        select held.row_key, held.embedding,
               pg_catalog.md5(%5$s(t)) = held.content_hash as fresh
        from held join %1$I.%2$I as t on t.%3$I = held.row_key::%4$s
        for update of t
      ),
      written as (
        update %1$I.%2$I as t set %6$I = checked.embedding
        from checked
        where checked.fresh and t.%3$I = checked.row_key::%4$s
        returning t.%3$I::text as row_key
      )
      select coalesce((select array_agg(w.row_key order by w.row_key) from written as w), '{}'),
             coalesce((select array_agg(c.row_key order by c.row_key) from checked as c where not c.fresh), '{}')
    $sql$,
    target.table_schema, target.table_name, target.key_column, target.key_type,
    embeddings.content_function_name(target), target.embedding_column)
  into written, stale
  using batch, target.id, lease_token;

  -- Written rows leave the queue and get their record; stale rows stay queued, lease released.
  insert into embeddings.embedded_rows as e (target_id, row_key, model, content_hash, embedded_at)
    select target.id, input.value ->> 'key', target.model, input.value ->> 'content_hash', pg_catalog.now()
    from jsonb_array_elements(batch) as input(value)
    where input.value ->> 'key' = any(written)
    on conflict on constraint embedded_rows_pkey do update
      set model = excluded.model, content_hash = excluded.content_hash, embedded_at = excluded.embedded_at;
  delete from embeddings.queue as q
    where q.target_id = target.id and q.row_key = any(written) and q.lease_token = write_batch.lease_token;
  update embeddings.queue as q
    set lease_token = null, leased_until = null, next_attempt_at = pg_catalog.now(),
        last_error = 'content changed while it was being embedded; queued again'
    where q.target_id = target.id and q.row_key = any(stale);
  if cardinality(written) > 0 then
    update embeddings.targets as t set last_write_at = pg_catalog.now() where t.id = target.id;
  end if;

  return query select written, stale,
    coalesce((select array_agg(k order by k) from unnest(seen_keys) as k
              where not k = any(written) and not k = any(stale)), '{}');
end;
$$;
comment on function embeddings.write_batch(bigint, uuid, text, jsonb) is
  'Writes a leased batch [{"key", "embedding", "content_hash"}]: rejects the whole batch naming the row on bad vectors or another model; writes only rows still held by lease_token whose content hash is unchanged. Returns written_keys (from RETURNING), stale_keys (content changed: still queued) and lost_keys (lease lost or row gone).';

-- =============================================================================================
-- Failures: count attempts, back off, dead-letter after max_attempts
-- =============================================================================================
create or replace function embeddings.fail_rows(target_id bigint, lease_token uuid, failures jsonb)
returns table (retrying_keys text[], dead_keys text[])
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  target embeddings.targets := embeddings.target_by_id(target_id);
begin
  if failures is null or jsonb_typeof(failures) <> 'array' then
    raise exception using errcode = '22023', message = 'failures must be a JSON array of {"key", "error"} objects';
  end if;
  return query
    with input as (
      select element.value ->> 'key' as row_key, left(element.value ->> 'error', 2000) as error
      from jsonb_array_elements(failures) as element(value)
    ),
    updated as (
      update embeddings.queue as q
        set attempts = q.attempts + 1,
            last_error = input.error,
            lease_token = null,
            leased_until = null,
            -- 2, 4, 8 ... seconds, at most an hour.
            next_attempt_at = pg_catalog.now() + pg_catalog.make_interval(secs => least(pg_catalog.power(2, q.attempts + 1), 3600)),
            dead_at = case when q.attempts + 1 >= target.max_attempts then pg_catalog.now() end
        from input
        where q.target_id = target.id and q.row_key = input.row_key and q.lease_token = fail_rows.lease_token
        returning q.row_key, q.dead_at
    )
    select coalesce((select array_agg(u.row_key order by u.row_key) from updated as u where u.dead_at is null), '{}'),
           coalesce((select array_agg(u.row_key order by u.row_key) from updated as u where u.dead_at is not null), '{}');
end;
$$;
comment on function embeddings.fail_rows(bigint, uuid, jsonb) is
  'Records failures [{"key", "error"}] for rows held by lease_token: one more attempt, the error, exponential backoff; dead-letters a row at max_attempts. Returns which rows will retry and which are dead.';

create or replace function embeddings.requeue_dead(target_id bigint, row_keys text[] default null)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  target embeddings.targets := embeddings.target_by_id(target_id);
  requeued integer;
begin
  update embeddings.queue as q
    set dead_at = null, attempts = 0, next_attempt_at = pg_catalog.now(), lease_token = null, leased_until = null
    where q.target_id = target.id and q.dead_at is not null
      and (row_keys is null or q.row_key = any(row_keys));
  get diagnostics requeued = row_count;
  return requeued;
end;
$$;
comment on function embeddings.requeue_dead(bigint, text[]) is
  'Queues dead-lettered rows of a target again (all of them, or the given keys) with fresh attempts. Returns how many.';

-- =============================================================================================
-- Status
-- =============================================================================================
create or replace function embeddings.target_status()
returns table (
  target_id bigint, name text, source text, model text, dimensions integer,
  total_rows bigint, embedded bigint, pending bigint, in_flight bigint, dead_lettered bigint,
  backfill_done boolean, last_error text, last_write_at timestamptz
)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  target embeddings.targets;
begin
  for target in select * from embeddings.targets order by id loop
    target_id := target.id;
    name := target.name;
    source := format('%I.%I.%I', target.table_schema, target.table_name, target.embedding_column);
    model := target.model;
    dimensions := target.dimensions;
    execute format('select count(*) from %I.%I', target.table_schema, target.table_name) into total_rows;
    select count(*) into embedded from embeddings.embedded_rows as e
      where e.target_id = target.id and e.model = target.model;
    select count(*) filter (where q.dead_at is null and (q.leased_until is null or q.leased_until < pg_catalog.now())),
           count(*) filter (where q.dead_at is null and q.leased_until >= pg_catalog.now()),
           count(*) filter (where q.dead_at is not null)
      into pending, in_flight, dead_lettered
      from embeddings.queue as q where q.target_id = target.id;
    backfill_done := target.backfill_done;
    select q.last_error into last_error from embeddings.queue as q
      where q.target_id = target.id and q.last_error is not null
      order by q.next_attempt_at desc limit 1;
    last_write_at := target.last_write_at;
    return next;
  end loop;
end;
$$;
comment on function embeddings.target_status() is
  'Per target: rows in the table, rows embedded with the current model, pending, in flight (leased), dead-lettered, whether the backfill has reached the end, the latest error and the last successful write.';

create view embeddings.status with (security_invoker = true) as
  select * from embeddings.target_status();
comment on view embeddings.status is 'embeddings.target_status() as a view: one row per target.';

-- =============================================================================================
-- Privileges: service_role only
-- =============================================================================================
revoke execute on all functions in schema embeddings from public, anon, authenticated;
grant execute on function
  embeddings.claim_batch(bigint, integer, integer),
  embeddings.write_batch(bigint, uuid, text, jsonb),
  embeddings.fail_rows(bigint, uuid, jsonb),
  embeddings.requeue_dead(bigint, text[]),
  embeddings.target_status(),
  embeddings.queue_backfill_chunk(bigint, integer),
  embeddings.register_target(regclass, name, regprocedure, name, text, integer, integer, text),
  embeddings.unregister_target(bigint),
  embeddings.set_target_model(bigint, text, integer)
to service_role;
grant select on embeddings.status to service_role;
