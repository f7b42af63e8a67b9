-- =============================================================================================
-- EMBEDDING ENGINE: the worker API
-- =============================================================================================
-- What a worker calls, as service_role: lease a batch (FOR UPDATE SKIP LOCKED), write it with
-- model, vector and stale-content checks, record failures with backoff and dead-lettering, hand
-- untried rows back, and requeue the dead.

-- =============================================================================================
-- The claimable-row rule and the run option limits: each defined here and nowhere else
-- =============================================================================================

/** Queue entries a worker may claim now. */
create view embeddings._claimable_queue with (security_invoker = true) as
  select q.*
  from embeddings.queue as q
  where q.dead_at is null
    and q.next_attempt_at <= pg_catalog.now()
    and (q.leased_until is null or q.leased_until < pg_catalog.now());
comment on view embeddings._claimable_queue is
  'The claimable-row rule: queue entries not dead-lettered, not waiting out a backoff, and not under a live lease (an expired lease is claimable again).';

/** The limits of a worker run's options; the TypeScript run_options module holds the same. */
create or replace function embeddings.run_option_limits()
returns table (name text, min_value integer, max_value integer)
language sql immutable set search_path = ''
as $$
  values ('batch_size', 1, 1000),
         ('max_rows', 1, 1000000),
         ('time_budget_ms', 100, 140000),  -- below Supabase's 150 s request idle timeout
         ('lease_seconds', 1, 3600)
$$;
comment on function embeddings.run_option_limits() is
  'The allowed range of each worker run option (batch_size, max_rows, time_budget_ms, lease_seconds): the names the embed function''s body and the CLI use in camelCase and kebab-case. A Deno test checks the TypeScript limits agree.';

/** Returns the value when it lies within the option's limits; raises a clear error otherwise. */
create or replace function embeddings._check_run_option(option_name text, option_value integer)
returns integer
language plpgsql immutable set search_path = ''
as $$
declare
  lower_limit integer;
  upper_limit integer;
begin
  select l.min_value, l.max_value into lower_limit, upper_limit
    from embeddings.run_option_limits() as l where l.name = option_name;
  if not found then
    raise exception using errcode = '22023', message = format('%s is not a run option', option_name);
  end if;
  if option_value is null or option_value < lower_limit or option_value > upper_limit then
    raise exception using errcode = '22023',
      message = format('%s must be between %s and %s, got %s',
        option_name, lower_limit, upper_limit, coalesce(option_value::text, 'null'));
  end if;
  return option_value;
end;
$$;
comment on function embeddings._check_run_option(text, integer) is
  'Returns option_value when it is within embeddings.run_option_limits() for option_name; else raises an error naming the option and its range.';

/** Raises unless the JSON embedding is expected_dimensions finite float4 numbers, not all zero. */
create or replace function embeddings._check_embedding(
  row_label text,
  embedding jsonb,
  expected_dimensions integer
)
returns void
language plpgsql immutable set search_path = ''
as $$
declare
  bad_value jsonb;
  bad_position bigint;
begin
  if jsonb_typeof(embedding) is distinct from 'array' then
    raise exception using errcode = '22023',
      message = format('row %s: embedding must be an array of %s numbers, got %s',
        row_label, expected_dimensions, coalesce(jsonb_typeof(embedding), 'nothing'));
  end if;
  if jsonb_array_length(embedding) <> expected_dimensions then
    raise exception using errcode = '22000',
      message = format('row %s: embedding has %s dimensions, expected %s',
        row_label, jsonb_array_length(embedding), expected_dimensions);
  end if;

  select element.value, element.ordinality
    into bad_value, bad_position
    from jsonb_array_elements(embedding) with ordinality as element(value, ordinality)
    where jsonb_typeof(element.value) <> 'number'
       or abs(element.value::numeric) > 3.4028234e38
    limit 1;
  if found then
    raise exception using errcode = '22000',
      message = format('row %s: embedding element %s is %s, not a finite number',
        row_label, bad_position, bad_value::text);
  end if;

  if not exists (
    select 1 from jsonb_array_elements(embedding) as element(value)
    where element.value::numeric <> 0
  ) then
    raise exception using errcode = '22000',
      message = format('row %s: embedding is all zeros, which has no cosine direction', row_label);
  end if;
end;
$$;
comment on function embeddings._check_embedding(text, jsonb, integer) is
  'Raises an error naming the row unless the JSON embedding is an array of expected_dimensions finite numbers (4-byte float range), not all zero.';

/** Raises naming the first element of a vector's text form that is not a finite 4-byte float. */
create or replace function embeddings._check_vector_elements(row_label text, vector_text text)
returns void
language plpgsql immutable set search_path = ''
as $$
declare
  elements text[] := pg_catalog.string_to_array(pg_catalog.btrim(vector_text, '[] '), ',');
  element double precision;
begin
  for element_position in 1 .. coalesce(cardinality(elements), 0) loop
    begin
      -- Read wider than a float4: pgvector takes 1e-50 as 0, and only overflow is an error.
      element := pg_catalog.btrim(elements[element_position])::double precision;
    exception when others then
      element := 'NaN';
    end;
    if element in ('NaN'::double precision, 'Infinity'::double precision, '-Infinity'::double precision)
       or abs(element) > 3.4028234663852886e38 then
      raise exception using errcode = '22000',
        message = format('row %s: embedding element %s is %s, not a finite number',
          row_label, element_position, left(pg_catalog.btrim(elements[element_position]), 80));
    end if;
  end loop;
end;
$$;
comment on function embeddings._check_vector_elements(text, text) is
  'Raises an error naming the row and the element when an element of a vector in pgvector''s text form (''[0.1,0.2]'') is not a finite 4-byte float (NaN, an infinity, out of range, null or not a number); returns when it finds none.';

-- =============================================================================================
-- Claim
-- =============================================================================================

/**
 * The text of the leased rows, as [{key, content}]: the whole batch in one statement; if a content
 * function raises on some row, each row alone, so that row fails by itself (its error returned as
 * content_error) and the rest go on.
 */
create or replace function embeddings._claimed_content(target embeddings.targets, leased text[])
returns jsonb
language plpgsql volatile set search_path = ''
as $$
declare
  claimed jsonb;
  one_key text;
  one_row jsonb;
  render_error text;
begin
  execute format(
    $sql$
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('key', t.%3$I::text, 'content', %5$s(t)) order by t.%3$I)
      from %1$I.%2$I as t
      where t.%3$I = any ($1::%4$s[])
    $sql$,
    target.table_schema, target.table_name, target.key_column, target.key_type,
    embeddings._content_function_name(target))
  into claimed
  using leased;
  return coalesce(claimed, '[]'::jsonb);
exception when others then
  claimed := '[]'::jsonb;
  foreach one_key in array leased loop
    begin
      execute format(
        $sql$
          select pg_catalog.jsonb_build_object('key', t.%3$I::text, 'content', %5$s(t))
          from %1$I.%2$I as t where t.%3$I = $1::%4$s
        $sql$,
        target.table_schema, target.table_name, target.key_column, target.key_type,
        embeddings._content_function_name(target))
      into one_row
      using one_key;
    exception when others then
      get stacked diagnostics render_error = message_text;
      one_row := pg_catalog.jsonb_build_object('key', one_key, 'content', null,
        'content_error', format('content function %s raised: %s', target.content_function, render_error));
    end;
    if one_row is not null then
      claimed := claimed || pg_catalog.jsonb_build_array(one_row);
    end if;
  end loop;
  return claimed;
end;
$$;
comment on function embeddings._claimed_content(embeddings.targets, text[]) is
  'For claim_batch: the leased rows'' keys and text as a JSON array [{key, content}], in key order; a row whose content function raises comes back with content null and the error in content_error, and the others are unaffected.';

/** Leases up to batch_size claimable rows and returns their current text. */
create or replace function embeddings.claim_batch(
  target_id bigint,
  batch_size integer,
  lease_seconds integer
)
returns table (row_key text, content text, content_hash text, lease_token uuid, content_error text)
language plpgsql volatile security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  broken text := embeddings._broken_reason(target);
  token uuid := gen_random_uuid();
  leased_count integer;
  chunks_queued integer := 0;
  sets_moved integer;
  leased text[];
  claimed jsonb;
begin
  perform embeddings._check_run_option('batch_size', batch_size);
  perform embeddings._check_run_option('lease_seconds', lease_seconds);
  if broken is not null then
    raise exception using errcode = '55000', message = format('target %s is broken: %s', target.name, broken);
  end if;
  -- Deleted rows' books, at most about once a minute: a sweep reads the whole target.
  perform embeddings._sweep_deleted_rows(target.id, interval '1 minute');

  loop
    -- Each claim first moves a bulk statement's queued key set (10,000 keys at most) into the
    -- queue and, while the backfill runs, queues its next chunk, so a stream of bulk statements
    -- never holds the backfill back. A set or chunk that held nothing to embed (rows deleted, or
    -- all embedded already) must not end the claim empty-handed: sets until none is left to take,
    -- and at most 10 chunks a claim; the next claim goes on.
    sets_moved := embeddings._move_queued_key_sets(target, 1);
    if not target.backfill_done then
      perform embeddings.queue_backfill_chunk(target.id);
      chunks_queued := chunks_queued + 1;
      target := embeddings._target_by_id(target.id);
    end if;

    -- SKIP LOCKED: concurrent workers each get different rows. The keys go through an array so
    -- the lease is set by primary key, whatever the planner thinks of a freshly filled queue.
    select array_agg(picked.row_key) into leased
      from (
        select q.row_key from embeddings._claimable_queue as q
        where q.target_id = target.id
        order by q.next_attempt_at, q.enqueued_at
        limit batch_size
        for update skip locked
      ) as picked;
    leased_count := coalesce(cardinality(leased), 0);
    exit when leased_count > 0 or (sets_moved = 0 and (target.backfill_done or chunks_queued >= 10));
  end loop;
  if leased is null then
    return;
  end if;
  update embeddings.queue as q
    set lease_token = token,
        leased_until = pg_catalog.now() + pg_catalog.make_interval(secs => lease_seconds)
    where q.target_id = target.id and q.row_key = any(leased);

  claimed := embeddings._claimed_content(target, leased);
  -- A queued row that no longer exists has nothing to embed: the rows the read did not find (a
  -- DELETE leaves its rows' entries for the sweep). Held by this claim already, so nothing waits.
  delete from embeddings.queue as q
    where q.target_id = target.id and q.lease_token = token and q.row_key = any(leased)
      and q.row_key <> all(array(select c.value ->> 'key' from pg_catalog.jsonb_array_elements(claimed) as c(value)));
  return query
    select c.key, c.content, pg_catalog.md5(c.content), token, c.content_error
    from pg_catalog.jsonb_to_recordset(coalesce(claimed, '[]'))
      as c(key text, content text, content_error text);
end;
$$;
comment on function embeddings.claim_batch(bigint, integer, integer) is
  'Leases up to batch_size claimable rows of a target for lease_seconds (FOR UPDATE SKIP LOCKED, so workers never share rows) and returns each row''s key, current text, md5 of the text and the lease token; a row whose content function raised comes back with no text and the error in content_error, for the worker to fail it alone. A broken target (see embeddings.status) raises SQLSTATE 55000 naming it. It first moves a queued key set of a bulk statement into the queue (embeddings._move_queued_key_sets; more while they hold nothing claimable), or while the backfill runs queues the next chunk (up to 10 chunks while they hold nothing claimable).';

-- =============================================================================================
-- Write
-- =============================================================================================

/** The array with subscripts from 1 and one dimension; copied only when it has other bounds. */
create or replace function embeddings._from_one(items anyarray)
returns anyarray
language plpgsql immutable set search_path = ''
as $$
begin
  -- A batch of vectors is megabytes: copied only when the caller's bounds are not already 1..n.
  if array_lower(items, 1) <> 1 or array_ndims(items) > 1 then
    return array(select u.item from unnest(items) with ordinality as u(item, n) order by u.n);
  end if;
  return items;
end;
$$;
comment on function embeddings._from_one(anyarray) is
  'The array''s elements with subscripts from 1, in order, so item n of one batch array is item n of another whatever bounds the caller gave; the array itself when it already starts at 1.';

/** Raises unless the batch's arrays have one length, no null key or hash, and no key twice. */
create or replace function embeddings._check_batch_arrays(row_keys text[], content_hashes text[], vectors text[])
returns void
language plpgsql immutable set search_path = ''
as $$
begin
  if row_keys is null or content_hashes is null or vectors is null
     or cardinality(row_keys) <> cardinality(content_hashes) or cardinality(row_keys) <> cardinality(vectors) then
    raise exception using errcode = '22023',
      message = format('row_keys, content_hashes and vectors must be arrays of one length, got %s, %s and %s items',
        coalesce(cardinality(row_keys)::text, 'null'), coalesce(cardinality(content_hashes)::text, 'null'),
        coalesce(cardinality(vectors)::text, 'null'));
  end if;
  if array_position(row_keys, null) is not null or array_position(content_hashes, null) is not null then
    raise exception using errcode = '22023',
      message = format('batch item %s has no key or content_hash',
        coalesce(array_position(row_keys, null), array_position(content_hashes, null)));
  end if;
  if (select count(distinct k) from unnest(row_keys) as k) <> cardinality(row_keys) then
    raise exception using errcode = '22023',
      message = format('row %s appears more than once in the batch',
        (select k from unnest(row_keys) as k group by k having count(*) > 1 order by k limit 1));
  end if;
end;
$$;
comment on function embeddings._check_batch_arrays(text[], text[], text[]) is
  'Raises a clear error unless row_keys, content_hashes and vectors are arrays of one length with no null key or hash and no key twice.';

/**
 * The batch's vectors parsed, or an error naming the row: first the whole batch at once, in C
 * (pgvector's parser refuses NaN, infinities, numbers beyond float4 and non-numbers); only when
 * that finds a fault, item by item, to name the row.
 */
create or replace function embeddings._parse_vectors(target embeddings.targets, row_keys text[], vectors text[])
returns extensions.vector[]
language plpgsql immutable set search_path = ''
as $$
declare
  parsed extensions.vector[];
  item_vector extensions.vector;
begin
  begin
    parsed := vectors::extensions.vector[];
    if not exists (
      select 1 from unnest(parsed) as v
      where v is null or extensions.vector_dims(v) <> target.dimensions or extensions.vector_norm(v) = 0) then
      return parsed;
    end if;
  exception when others then
    null;  -- found again below, by row
  end;
  for item_position in 1 .. coalesce(cardinality(vectors), 0) loop
    begin
      item_vector := vectors[item_position]::extensions.vector;
    exception when others then
      perform embeddings._check_vector_elements(row_keys[item_position], vectors[item_position]);
      raise exception using errcode = '22000',
        message = format('row %s: embedding is not %s finite numbers: %s', row_keys[item_position],
          target.dimensions, left(sqlerrm, 200));
    end;
    if item_vector is null then
      raise exception using errcode = '22000',
        message = format('row %s: embedding must be an array of %s numbers, got nothing', row_keys[item_position], target.dimensions);
    end if;
    if extensions.vector_dims(item_vector) <> target.dimensions then
      raise exception using errcode = '22000',
        message = format('row %s: embedding has %s dimensions, expected %s',
          row_keys[item_position], extensions.vector_dims(item_vector), target.dimensions);
    end if;
    if extensions.vector_norm(item_vector) = 0 then
      raise exception using errcode = '22000',
        message = format('row %s: embedding is all zeros, which has no cosine direction', row_keys[item_position]);
    end if;
  end loop;
  -- Every item parsed on its own: what failed the whole batch at once was not an item's fault,
  -- and parsing it again here raises it.
  return vectors::extensions.vector[];
end;
$$;
comment on function embeddings._parse_vectors(embeddings.targets, text[], text[]) is
  'The batch''s vectors (pgvector''s text form) parsed as one array; raises an error naming the row and the fault (not a number, NaN, an infinity, beyond float4, wrong dimensions, all zeros) when any is bad. Parses the whole batch in C first, and item by item only to name a fault.';

/**
 * Locks a batch's rows for its write, in the one order the engine takes locks in: first the rows
 * of the source table, in key order, SKIP LOCKED, so a worker never waits for a row the app is
 * writing; then the queue entries this lease still holds, of those rows only, in key order. The
 * app takes a row's queue entry only after the row itself (its sync trigger runs after its
 * statement), so no wait here can close a cycle with the app's statements.
 */
create or replace function embeddings._lock_batch(target embeddings.targets, lease_token uuid, row_keys text[])
returns table (held_keys text[], busy_keys text[])
language plpgsql volatile set search_path = ''
as $$
declare
  locked text[];
  present text[];
begin
  execute format(
    $sql$
      select array(select t.%3$I::text from %1$I.%2$I as t where t.%3$I = any($1::%4$s[])
                   order by t.%3$I for no key update skip locked)
    $sql$,
    target.table_schema, target.table_name, target.key_column, target.key_type)
  into locked
  using row_keys;
  -- A key not locked is gone or held by another transaction: which, only when there is one.
  if cardinality(locked) < cardinality(row_keys) then
    execute format('select array(select t.%3$I::text from %1$I.%2$I as t where t.%3$I = any($1::%4$s[]))',
      target.table_schema, target.table_name, target.key_column, target.key_type)
    into present
    using row_keys;
  end if;
  -- Locked, so a worker that claims them after this lease expired skips them (SKIP LOCKED) until
  -- this write is done: a row is never written under two leases.
  held_keys := array(select q.row_key from embeddings.queue as q
                     where q.target_id = target.id and q.row_key = any(locked)
                       and q.lease_token = _lock_batch.lease_token
                     order by q.row_key for update);
  busy_keys := array(select p.row_key from unnest(coalesce(present, '{}')) as p(row_key) except select unnest(locked));
  return next;
end;
$$;
comment on function embeddings._lock_batch(embeddings.targets, uuid, text[]) is
  'Locks a batch for write_batch in the engine''s lock order: its rows in the source table in key order, skipping those another transaction holds (busy_keys), then the queue entries of the locked rows this lease still holds (held_keys), in key order. The app''s statements take a row before its queue entry, so these waits cannot deadlock with them.';

/**
 * Hands back to the queue the batch's rows another transaction held during the write: not written,
 * queued again at once, under the lease no more. An entry the other transaction holds as well stays
 * as it is (it is not waited for); the worker hands it back after its write has committed.
 */
create or replace function embeddings._hand_back_busy_rows(target_id bigint, lease_token uuid, busy_keys text[])
returns text[]
language plpgsql volatile set search_path = ''
as $$
declare
  ours text[] := array(select q.row_key from embeddings.queue as q
                       where q.target_id = _hand_back_busy_rows.target_id and q.row_key = any(busy_keys)
                         and q.lease_token = _hand_back_busy_rows.lease_token);
begin
  update embeddings.queue as q
    set lease_token = null, leased_until = null, next_attempt_at = pg_catalog.now(),
        last_error = 'row locked by another transaction while its vector was written; queued again'
    where q.target_id = _hand_back_busy_rows.target_id and q.row_key = any(array(
      select b.row_key from embeddings.queue as b
      where b.target_id = _hand_back_busy_rows.target_id and b.row_key = any(ours)
        and b.lease_token = _hand_back_busy_rows.lease_token
      order by b.row_key for update skip locked));
  return ours;
end;
$$;
comment on function embeddings._hand_back_busy_rows(bigint, uuid, text[]) is
  'For write_batch: the batch''s rows that another transaction held (so they were not written) and this lease still holds are queued again at once, without the lease and without an attempt; entries the other transaction also holds are skipped, not waited for. Returns the keys this lease held, which write_batch reports as stale.';

/**
 * For write_batch: the entries this lease holds of batch rows deleted meanwhile go now, not at the
 * next sweep. Their rows are gone, so nothing locked them first: an entry another transaction holds
 * is skipped, never waited for (it may be an INSERT using the key again).
 */
create or replace function embeddings._drop_entries_of_gone_rows(target embeddings.targets, lease_token uuid, row_keys text[])
returns void
language plpgsql volatile set search_path = ''
as $$
begin
  execute format(
    $sql$
      delete from embeddings.queue as q
      where q.target_id = $1 and q.row_key = any(array(
        select g.row_key from embeddings.queue as g
        where g.target_id = $1 and g.lease_token = $2 and g.row_key = any($3)
          and not exists (select 1 from %1$I.%2$I as t where t.%3$I = g.row_key::%4$s)
        order by g.row_key for update of g skip locked))
    $sql$, target.table_schema, target.table_name, target.key_column, target.key_type)
  using target.id, lease_token, row_keys;
end;
$$;
comment on function embeddings._drop_entries_of_gone_rows(embeddings.targets, uuid, text[]) is
  'For write_batch: removes the queue entries lease_token holds among row_keys whose row is no longer in the table (deleted while the batch was embedded), in key order, skipping entries another transaction holds.';

/**
 * The end of a write (write_batch, write_chunks): rows another transaction held are handed back
 * and count as stale, not lost; the entries of lost rows that are gone go now; a write is noted.
 */
create or replace function embeddings._settle_write(
  target embeddings.targets,
  lease_token uuid,
  written text[],
  stale text[],
  lost text[],
  busy_keys text[]
)
returns table (written_keys text[], stale_keys text[], lost_keys text[])
language plpgsql volatile set search_path = ''
as $$
declare
  handed_back text[];
begin
  if cardinality(busy_keys) > 0 then
    handed_back := embeddings._hand_back_busy_rows(target.id, lease_token, busy_keys);
    stale := array(select unnest(stale) union select unnest(handed_back) order by 1);
    lost := array(select unnest(lost) except select unnest(handed_back) order by 1);
  end if;
  if cardinality(lost) > 0 then
    perform embeddings._drop_entries_of_gone_rows(target, lease_token, lost);
  end if;
  if cardinality(written) > 0 then
    update embeddings.targets as t set last_write_at = pg_catalog.now() where t.id = target.id;
  end if;
  return query select written, stale, lost;
end;
$$;
comment on function embeddings._settle_write(embeddings.targets, uuid, text[], text[], text[], text[]) is
  'The end of write_batch and write_chunks: the rows another transaction held (busy_keys) are handed back to the queue and reported stale instead of lost; the queue entries of lost rows that are gone are dropped; last_write_at is set when anything was written. Returns the written, stale and lost keys.';

/** Writes validated vectors, only for rows still leased, only when their content is unchanged. */
create or replace function embeddings.write_batch(
  target_id bigint,
  lease_token uuid,
  model text,
  row_keys text[],
  content_hashes text[],
  vectors text[]
)
returns table (written_keys text[], stale_keys text[], lost_keys text[])
language plpgsql volatile security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  written text[];
  stale text[];
  lost text[];
  held_keys text[];
  busy_keys text[];
  parsed extensions.vector[];
begin
  if target.chunking is not null then
    raise exception using errcode = '22023',
      message = format('target %s is chunked: its rows have no vector column; write their chunks with embeddings.write_chunks', target.name);
  end if;
  if model is distinct from target.model then
    raise exception using errcode = '22023',
      message = format('target %s embeds with model %s; refusing vectors of model %s', target.name, target.model, coalesce(model, 'null'));
  end if;
  -- Subscripts from 1, whatever bounds the caller's arrays had: item n is row_keys[n] everywhere.
  row_keys := embeddings._from_one(row_keys);
  content_hashes := embeddings._from_one(content_hashes);
  vectors := embeddings._from_one(vectors);
  perform embeddings._check_batch_arrays(row_keys, content_hashes, vectors);
  -- Validate everything before writing anything: a rejected batch changes no row.
  parsed := embeddings._parse_vectors(target, row_keys, vectors);

  select l.held_keys, l.busy_keys into held_keys, busy_keys
    from embeddings._lock_batch(target, lease_token, row_keys) as l;
  -- One statement: compare the held rows' content now with the content that was embedded, write
  -- only the unchanged ones, and keep the books: records for what was written, its queue entries
  -- gone, stale rows queued again. The setting tells the sync trigger that these vector writes
  -- are the engine's own.
  perform pg_catalog.set_config('embeddings.writing_target', target.id::text, true);
  execute format(
    $sql$
      -- No join here pairs two CTEs: the planner cannot size a CTE, and a nested loop over two
      -- of them costs rows squared. Each step probes a table by key, or goes through an array.
      -- The content check sits in the UPDATE's own WHERE: a row changed by a concurrent writer is
      -- checked again on its newest version before it is written, so no separate lock is needed.
      with input as (
        select * from unnest($1::text[], $6::text[], $7::extensions.vector[]) as i(row_key, content_hash, embedding)
        where i.row_key = any($5)
      ),
      written as (
        update %1$I.%2$I as t set %6$I = input.embedding
        from input
        -- IS NOT DISTINCT FROM cannot be hashed: the planner joins on the key alone and hashes
        -- the content of the matched rows only, not of every row in the table.
        -- The keys as an array too: the planner probes the table's key index for them instead of
        -- reading the whole table for every batch.
        where t.%3$I = input.row_key::%4$s and t.%3$I = any($5::%4$s[])
          and pg_catalog.md5(%5$s(t)) is not distinct from input.content_hash
        returning t.%3$I::text as row_key, input.content_hash, pg_catalog.md5(t.%6$I::text) as vector_hash
      ),
      recorded as (
        insert into embeddings.embedded_rows as e (target_id, row_key, model, content_hash, vector_hash, embedded_at)
        select $2, w.row_key, $4, w.content_hash, w.vector_hash, pg_catalog.now() from written as w
        on conflict on constraint embedded_rows_pkey do update
          set model = excluded.model, content_hash = excluded.content_hash, vector_hash = excluded.vector_hash,
              embedded_at = excluded.embedded_at
      ),
      dequeued as (
        delete from embeddings.queue as q
        where q.target_id = $2 and q.row_key = any(array(select w.row_key from written as w)) and q.lease_token = $3
      ),
      -- Held, not written, and still in the table: its content changed, so it is queued again.
      -- Its queue entry answers for it, so a row deleted meanwhile (entry gone) counts as lost.
      requeued as (
        update embeddings.queue as q
          set lease_token = null, leased_until = null, next_attempt_at = pg_catalog.now(),
              last_error = 'content changed while it was being embedded; queued again'
          where q.target_id = $2 and q.lease_token = $3
            and q.row_key = any(array(
              select t.%3$I::text from %1$I.%2$I as t
              where t.%3$I = any(array(select u.row_key::%4$s
                                       from (select i.row_key from input as i
                                             except select w.row_key from written as w) as u))))
          returning q.row_key
      )
      select coalesce((select array_agg(w.row_key order by w.row_key) from written as w), '{}'),
             coalesce((select array_agg(r.row_key order by r.row_key) from requeued as r), '{}'),
             coalesce((select array_agg(l.row_key order by l.row_key)
                       from (select k.row_key from unnest($1::text[]) as k(row_key)
                             except select w.row_key from written as w
                             except select r.row_key from requeued as r) as l), '{}')
    $sql$,
    target.table_schema, target.table_name, target.key_column, target.key_type,
    embeddings._content_function_name(target), target.embedding_column)
  into written, stale, lost
  using row_keys, target.id, lease_token, target.model, held_keys, content_hashes, parsed;
  perform pg_catalog.set_config('embeddings.writing_target', '', true);
  return query select * from embeddings._settle_write(target, lease_token, written, stale, lost, busy_keys);
end;
$$;
comment on function embeddings.write_batch(bigint, uuid, text, text[], text[], text[]) is
  'Writes a leased batch as three arrays of one length: row_keys, content_hashes (from claim_batch) and vectors in pgvector''s text form (''[0.1,0.2,...]''), of a target that embeds one vector per row (a chunked target''s rows are written by write_chunks). Rejects the whole batch naming the row on bad vectors (wrong dimensions, NaN, infinities, all zeros) or another model; writes only rows still held by lease_token whose content hash is unchanged, locking in the engine''s order (see embeddings._lock_batch). Returns written_keys (from RETURNING), stale_keys (content changed, or the row held by another transaction: queued again) and lost_keys (lease lost or row gone). The worker''s form: parsed in C, about twice as fast as the JSON form.';

/** The same write, with the batch as one JSON array: the form to call by hand. */
create or replace function embeddings.write_batch(
  target_id bigint,
  lease_token uuid,
  model text,
  batch jsonb
)
returns table (written_keys text[], stale_keys text[], lost_keys text[])
language plpgsql volatile security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  item jsonb;
  item_position bigint;
  keys text[];
  hashes text[];
  vector_texts text[];
  clean boolean;
begin
  if batch is null or jsonb_typeof(batch) <> 'array' then
    raise exception using errcode = '22023',
      message = format('batch must be a JSON array of {"key", "embedding", "content_hash"} objects, got %s',
        coalesce(jsonb_typeof(batch), 'null'));
  end if;
  select coalesce(bool_and(
           jsonb_typeof(e.value) = 'object'
           and jsonb_typeof(e.value -> 'key') = 'string'
           and jsonb_typeof(e.value -> 'content_hash') = 'string'
           and jsonb_typeof(e.value -> 'embedding') = 'array'
           and jsonb_array_length(e.value -> 'embedding') = target.dimensions), true),
         coalesce(array_agg(e.value ->> 'key' order by e.ordinality), array[]::text[]),
         coalesce(array_agg(e.value ->> 'content_hash' order by e.ordinality), array[]::text[]),
         coalesce(array_agg((e.value -> 'embedding')::text order by e.ordinality), array[]::text[])
    into clean, keys, hashes, vector_texts
    from jsonb_array_elements(batch) with ordinality as e(value, ordinality);
  -- JSON has its own faults (a string where a number belongs): name them in JSON's terms. The
  -- array form checks the rest (a key twice, the model).
  if not clean then
    for item, item_position in
      select element.value, element.ordinality
      from jsonb_array_elements(batch) with ordinality as element(value, ordinality)
    loop
      if jsonb_typeof(item) <> 'object' or jsonb_typeof(item -> 'key') is distinct from 'string'
         or jsonb_typeof(item -> 'content_hash') is distinct from 'string' then
        raise exception using errcode = '22023',
          message = format('batch item %s needs "key" and "content_hash" strings: %s', item_position, left(item::text, 80));
      end if;
      perform embeddings._check_embedding(item ->> 'key', item -> 'embedding', target.dimensions);
    end loop;
  end if;
  return query select * from embeddings.write_batch(target_id, lease_token, model, keys, hashes, vector_texts);
end;
$$;
comment on function embeddings.write_batch(bigint, uuid, text, jsonb) is
  'Writes a leased batch [{"key", "embedding", "content_hash"}]: the same write as write_batch(target_id, lease_token, model, row_keys, content_hashes, vectors), with JSON''s own faults named in JSON''s terms. Returns written_keys, stale_keys and lost_keys.';

-- =============================================================================================
-- Write a chunked target's chunks
-- =============================================================================================

/** A text's length in UTF-16 code units (JavaScript's length): code points beyond U+FFFF count two. */
create or replace function embeddings._utf16_length(content text)
returns integer
language sql immutable set search_path = ''
as $$
  -- Matching the astral planes is fast; counting them only in a text that has some.
  select case when content !~ '[\U00010000-\U0010FFFF]' then pg_catalog.length(content)
              else pg_catalog.length(content)
                   + (select count(*)::integer from pg_catalog.regexp_matches(content, '[\U00010000-\U0010FFFF]', 'g'))
         end
$$;
comment on function embeddings._utf16_length(text) is
  'The length of a text in UTF-16 code units, the unit of a chunk''s offsets (the worker''s JavaScript strings): characters beyond U+FFFF count two.';

/** Raises unless a chunk batch's arrays agree: one item per row, one per chunk, each chunk of a row given. */
create or replace function embeddings._check_chunk_arrays(
  row_keys text[],
  content_hashes text[],
  chunk_rows integer[],
  chunk_starts integer[],
  chunk_ends integer[],
  chunk_texts text[],
  vectors text[]
)
returns void
language plpgsql immutable set search_path = ''
as $$
declare
  bad_chunk bigint;
begin
  if row_keys is null or content_hashes is null or cardinality(row_keys) <> cardinality(content_hashes) then
    raise exception using errcode = '22023',
      message = format('row_keys and content_hashes must be arrays of one length, got %s and %s items',
        coalesce(cardinality(row_keys)::text, 'null'), coalesce(cardinality(content_hashes)::text, 'null'));
  end if;
  if chunk_rows is null or chunk_starts is null or chunk_ends is null or chunk_texts is null or vectors is null
     or cardinality(chunk_starts) <> cardinality(chunk_rows) or cardinality(chunk_ends) <> cardinality(chunk_rows)
     or cardinality(chunk_texts) <> cardinality(chunk_rows) or cardinality(vectors) <> cardinality(chunk_rows) then
    raise exception using errcode = '22023',
      message = format('chunk_rows, chunk_starts, chunk_ends, chunk_texts and vectors must be arrays of one length, got %s, %s, %s, %s and %s items',
        coalesce(cardinality(chunk_rows)::text, 'null'), coalesce(cardinality(chunk_starts)::text, 'null'),
        coalesce(cardinality(chunk_ends)::text, 'null'), coalesce(cardinality(chunk_texts)::text, 'null'),
        coalesce(cardinality(vectors)::text, 'null'));
  end if;
  -- The rows as write_batch's (no null key or hash, no key twice); their lengths agree already.
  perform embeddings._check_batch_arrays(row_keys, content_hashes, content_hashes);
  -- The first chunk at fault, by its place in the arrays; named by row and chunk below.
  select c.n into bad_chunk
    from unnest(chunk_rows, chunk_starts, chunk_ends, chunk_texts) with ordinality as c(row_position, start_offset, end_offset, chunk_text, n)
    where c.row_position is null or c.row_position not between 1 and cardinality(row_keys)
       or c.start_offset is null or c.end_offset is null or c.chunk_text is null
       or c.start_offset < 0 or c.end_offset <= c.start_offset
    order by c.n limit 1;
  if bad_chunk is null then
    return;
  end if;
  if chunk_rows[bad_chunk] is null or chunk_rows[bad_chunk] not between 1 and cardinality(row_keys) then
    raise exception using errcode = '22023',
      message = format('chunk %s (of the batch) names row %s of the batch, which has rows 1 to %s',
        bad_chunk, coalesce(chunk_rows[bad_chunk]::text, 'null'), cardinality(row_keys));
  end if;
  raise exception using errcode = '22023',
    message = format('row %s chunk %s: offsets [%s, %s) and text %s are not a chunk (offsets from 0, end after start, text given)',
      row_keys[chunk_rows[bad_chunk]],
      (select count(*) from unnest(chunk_rows[1:bad_chunk - 1]) as r where r = chunk_rows[bad_chunk]),
      coalesce(chunk_starts[bad_chunk]::text, 'null'), coalesce(chunk_ends[bad_chunk]::text, 'null'),
      coalesce(pg_catalog.quote_literal(left(chunk_texts[bad_chunk], 40)), 'null'));
end;
$$;
comment on function embeddings._check_chunk_arrays(text[], text[], integer[], integer[], integer[], text[], text[]) is
  'Raises a clear error unless row_keys and content_hashes are arrays of one length with no null and no key twice, the chunk arrays (chunk_rows, chunk_starts, chunk_ends, chunk_texts, vectors) are of one length, and each chunk names a row of the batch (1-based), has offsets from 0 with its end after its start, and has text; a faulty chunk is named by row key and chunk index.';

/**
 * The chunk vectors parsed, or an error naming the row and the chunk: as write_batch's, but the
 * labels "<key> chunk <index>" are made only when a vector is at fault.
 */
create or replace function embeddings._parse_chunk_vectors(
  target embeddings.targets,
  row_keys text[],
  chunk_rows integer[],
  vectors text[]
)
returns extensions.vector[]
language plpgsql immutable set search_path = ''
as $$
declare
  labels text[];
begin
  return embeddings._parse_vectors(target, vectors, vectors);
exception when sqlstate '22000' then
  -- Found a fault: again with each chunk's row and index, to name it.
  labels := array(
    select format('%s chunk %s', row_keys[c.row_position],
                  pg_catalog.row_number() over (partition by c.row_position order by c.n) - 1)
    from unnest(chunk_rows) with ordinality as c(row_position, n)
    order by c.n);
  return embeddings._parse_vectors(target, labels, vectors);
end;
$$;
comment on function embeddings._parse_chunk_vectors(embeddings.targets, text[], integer[], text[]) is
  'For write_chunks: the chunk vectors parsed as by embeddings._parse_vectors, or its error naming the row key and chunk index ("row <key> chunk <n>: ...") of the first bad vector.';

/**
 * Of a batch's rows this lease holds (locked), those whose text is still the text embedded: their
 * positions in the batch, keys and hashes. Raises naming row and chunk when a chunk of one of them
 * ends past its text (UTF-16 code units). The content function runs here under the session's own
 * planner settings (a content function may join tables of its own); the arrays are then matched
 * by _match_fresh_rows, with nested loops off.
 */
create or replace function embeddings._fresh_chunked_rows(
  target embeddings.targets,
  row_keys text[],
  content_hashes text[],
  held_keys text[],
  chunk_rows integer[],
  chunk_ends integer[]
)
returns table (positions integer[], keys text[], hashes text[])
language plpgsql volatile set search_path = ''
as $$
declare
  current_keys text[];
  current_hashes text[];
  text_lengths integer[];
begin
  -- The held rows are locked: their text cannot change before the write. The table is probed
  -- through its key index by the array.
  execute format(
    $sql$
      select coalesce(array_agg(t.%3$I::text), '{}'), coalesce(array_agg(pg_catalog.md5(r.content)), '{}'),
             coalesce(array_agg(embeddings._utf16_length(r.content)), '{}')
      from %1$I.%2$I as t cross join lateral (select %5$s(t) as content) as r
      where t.%3$I = any($1::%4$s[])
    $sql$,
    target.table_schema, target.table_name, target.key_column, target.key_type,
    embeddings._content_function_name(target))
  into current_keys, current_hashes, text_lengths
  using held_keys;
  return query select * from embeddings._match_fresh_rows(row_keys, content_hashes, current_keys, current_hashes,
    text_lengths, chunk_rows, chunk_ends);
end;
$$;
comment on function embeddings._fresh_chunked_rows(embeddings.targets, text[], text[], text[], integer[], integer[]) is
  'For write_chunks: of the batch''s rows held (locked) by the lease, those whose text''s md5 is still content_hashes[n], as their positions in the batch, keys and hashes; raises naming row and chunk when a chunk of one of them ends past its text (offsets in UTF-16 code units). Calls the content function under the session''s planner settings.';

/** The batch's rows whose text now is the text embedded, matched by hash (nested loops off). */
create or replace function embeddings._match_fresh_rows(
  row_keys text[],
  content_hashes text[],
  current_keys text[],
  current_hashes text[],
  text_lengths integer[],
  chunk_rows integer[],
  chunk_ends integer[]
)
returns table (positions integer[], keys text[], hashes text[])
language plpgsql stable set search_path = '' set enable_nestloop = off
as $$
declare
  fresh_lengths integer[];
  bad record;
begin
  select coalesce(array_agg(i.n::integer order by i.n), '{}'), coalesce(array_agg(i.row_key order by i.n), '{}'),
         coalesce(array_agg(i.content_hash order by i.n), '{}'), coalesce(array_agg(c.text_length order by i.n), '{}')
    into positions, keys, hashes, fresh_lengths
    from unnest(row_keys, content_hashes) with ordinality as i(row_key, content_hash, n)
    join unnest(current_keys, current_hashes, text_lengths) as c(row_key, content_hash, text_length)
      on c.row_key = i.row_key and c.content_hash = i.content_hash;
  select c.row_position, c.chunk_index, c.end_offset, f.text_length into bad
    from (select u.row_position, u.end_offset, u.n,
                 pg_catalog.row_number() over (partition by u.row_position order by u.n) - 1 as chunk_index
          from unnest(chunk_rows, chunk_ends) with ordinality as u(row_position, end_offset, n)) as c
    join unnest(positions, fresh_lengths) as f(row_position, text_length) on f.row_position = c.row_position
    where c.end_offset > f.text_length
    order by c.n limit 1;
  if found then
    raise exception using errcode = '22023',
      message = format('row %s chunk %s: it ends at %s, past the end of the row''s text (%s UTF-16 code units)',
        row_keys[bad.row_position], bad.chunk_index, bad.end_offset, bad.text_length);
  end if;
  return next;
end;
$$;
comment on function embeddings._match_fresh_rows(text[], text[], text[], text[], integer[], integer[], integer[]) is
  'For _fresh_chunked_rows: the batch''s rows (row_keys, content_hashes) whose current text (current_keys, current_hashes, text_lengths) has the hash embedded, as positions, keys and hashes, joined by hash (nested loops off: the arrays are as long as the batch); raises naming row and chunk when a chunk of one of them ends past its text.';

/**
 * The one statement of write_chunks: the fresh rows' old chunks deleted and their new ones inserted
 * (the insert waits for the delete through its one-time filter), their records written with the md5
 * of their chunk vectors, their queue entries gone. No join pairs two CTEs by nested loop (issue 24):
 * nested loops are off here, where no user function runs, and each table is probed by key through
 * an array. Returns the keys recorded, and the chunks inserted and expected.
 */
create or replace function embeddings._replace_chunks(
  target embeddings.targets,
  lease_token uuid,
  fresh_positions integer[],
  fresh_keys text[],
  fresh_hashes text[],
  chunk_rows integer[],
  chunk_starts integer[],
  chunk_ends integer[],
  chunk_texts text[],
  vectors extensions.vector[]
)
returns table (written_keys text[], chunks_written integer, chunks_expected integer)
language plpgsql volatile set search_path = '' set enable_nestloop = off
as $$
begin
  execute format(
    $sql$
      with fresh_rows as (
        select f.row_position, f.row_key, f.content_hash
        from unnest($1::integer[], $2::text[], $3::text[]) as f(row_position, row_key, content_hash)
      ),
      new_chunks as (
        select r.row_key, r.content_hash, c.start_offset, c.end_offset, c.chunk_text, c.embedding,
               (pg_catalog.row_number() over (partition by c.row_position order by c.n) - 1)::integer as chunk_index
        from unnest($4::integer[], $5::integer[], $6::integer[], $7::text[], $8::extensions.vector[])
               with ordinality as c(row_position, start_offset, end_offset, chunk_text, embedding, n)
        join fresh_rows as r on r.row_position = c.row_position
      ),
      removed as (
        delete from %1$s as o where o.row_key = any($2::text[])
        returning 1
      ),
      inserted as (
        insert into %1$s (row_key, chunk_index, start_offset, end_offset, chunk_text, content_hash, model, embedding)
        select c.row_key, c.chunk_index, c.start_offset, c.end_offset, c.chunk_text, c.content_hash, $9, c.embedding
        from new_chunks as c
        where (select count(*) from removed) >= 0
        returning row_key, chunk_index, embedding::text as vector_text
      ),
      hashed as (
        select i.row_key, pg_catalog.md5(pg_catalog.string_agg(i.vector_text, ',' order by i.chunk_index)) as vector_hash
        from inserted as i group by i.row_key
      ),
      recorded as (
        -- A row of no chunks (no text to cut) is recorded too: the md5 of no vectors, md5('').
        insert into embeddings.embedded_rows as e (target_id, row_key, model, content_hash, vector_hash, embedded_at)
        select $10, r.row_key, $9, r.content_hash, coalesce(h.vector_hash, pg_catalog.md5('')), pg_catalog.now()
        from fresh_rows as r left join hashed as h on h.row_key = r.row_key
        on conflict on constraint embedded_rows_pkey do update
          set model = excluded.model, content_hash = excluded.content_hash, vector_hash = excluded.vector_hash,
              embedded_at = excluded.embedded_at
        returning e.row_key
      ),
      dequeued as (
        delete from embeddings.queue as q
        where q.target_id = $10 and q.row_key = any($2::text[]) and q.lease_token = $11
      )
      select coalesce((select array_agg(r.row_key order by r.row_key) from recorded as r), '{}'),
             (select count(*)::integer from inserted),
             (select count(*)::integer from new_chunks)
    $sql$, embeddings.chunk_table(target.id))
  into written_keys, chunks_written, chunks_expected
  using fresh_positions, fresh_keys, fresh_hashes, chunk_rows, chunk_starts, chunk_ends, chunk_texts, vectors,
        target.model, target.id, lease_token;
  return next;
end;
$$;
comment on function embeddings._replace_chunks(embeddings.targets, uuid, integer[], text[], text[], integer[], integer[], integer[], text[], extensions.vector[]) is
  'write_chunks'' one statement: deletes the fresh rows'' chunks and inserts their new ones (chunk_index from 0 in the order given), records each row (model, content hash, md5 of its chunk vectors'' text joined by commas in chunk order, md5 of the empty text for none) and removes its queue entry of this lease. Nested loops off: no user function runs in it. Returns the keys recorded and the chunks inserted and expected.';

/** Replaces the chunks of a chunked target's rows still leased, only when their text is unchanged. */
create or replace function embeddings.write_chunks(
  target_id bigint,
  lease_token uuid,
  model text,
  row_keys text[],
  content_hashes text[],
  chunk_rows integer[],
  chunk_starts integer[],
  chunk_ends integer[],
  chunk_texts text[],
  vectors text[]
)
returns table (written_keys text[], stale_keys text[], lost_keys text[])
language plpgsql volatile security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  broken text := embeddings._broken_reason(target);
  parsed extensions.vector[];
  held_keys text[];
  busy_keys text[];
  fresh_positions integer[];
  fresh_keys text[];
  fresh_hashes text[];
  chunks_expected integer;
  chunks_written integer;
  written text[];
  stale text[];
  lost text[];
begin
  if target.chunking is null then
    raise exception using errcode = '22023',
      message = format('target %s embeds one vector per row in column %I: write it with embeddings.write_batch', target.name, target.embedding_column);
  end if;
  if broken is not null then
    raise exception using errcode = '55000', message = format('target %s is broken: %s', target.name, broken);
  end if;
  if model is distinct from target.model then
    raise exception using errcode = '22023',
      message = format('target %s embeds with model %s; refusing vectors of model %s', target.name, target.model, coalesce(model, 'null'));
  end if;
  -- Subscripts from 1, whatever bounds the caller's arrays had.
  row_keys := embeddings._from_one(row_keys);
  content_hashes := embeddings._from_one(content_hashes);
  chunk_rows := embeddings._from_one(chunk_rows);
  chunk_starts := embeddings._from_one(chunk_starts);
  chunk_ends := embeddings._from_one(chunk_ends);
  chunk_texts := embeddings._from_one(chunk_texts);
  vectors := embeddings._from_one(vectors);
  -- Validate everything before writing anything: a rejected call changes no row.
  perform embeddings._check_chunk_arrays(row_keys, content_hashes, chunk_rows, chunk_starts, chunk_ends, chunk_texts, vectors);
  parsed := embeddings._parse_chunk_vectors(target, row_keys, chunk_rows, vectors);

  select l.held_keys, l.busy_keys into held_keys, busy_keys
    from embeddings._lock_batch(target, lease_token, row_keys) as l;
  select f.positions, f.keys, f.hashes into fresh_positions, fresh_keys, fresh_hashes
    from embeddings._fresh_chunked_rows(target, row_keys, content_hashes, held_keys, chunk_rows, chunk_ends) as f;
  -- One statement replaces the fresh rows' chunks and keeps their books.
  select r.written_keys, r.chunks_written, r.chunks_expected into written, chunks_written, chunks_expected
    from embeddings._replace_chunks(target, lease_token, fresh_positions, fresh_keys, fresh_hashes,
      chunk_rows, chunk_starts, chunk_ends, chunk_texts, parsed) as r;
  if chunks_written <> chunks_expected then
    raise exception using errcode = 'XX000',
      message = format('write_chunks stored %s chunks of %s for rows %s; nothing was written',
        chunks_written, chunks_expected, array_to_string(fresh_keys, ', '));
  end if;
  -- Held, not fresh: the text changed while it was embedded, so the row is queued again. Locked
  -- rows exist, so the rest of the batch (not held) was lost: lease gone, or row gone.
  stale := array(select h.k from unnest(held_keys) as h(k) except select w.k from unnest(written) as w(k) order by 1);
  update embeddings.queue as q
    set lease_token = null, leased_until = null, next_attempt_at = pg_catalog.now(),
        last_error = 'content changed while it was being embedded; queued again'
    where q.target_id = target.id and q.lease_token = write_chunks.lease_token and q.row_key = any(stale);
  lost := array(select k.k from unnest(row_keys) as k(k) except select h.k from unnest(held_keys) as h(k) order by 1);
  return query select * from embeddings._settle_write(target, lease_token, written, stale, lost, busy_keys);
end;
$$;
comment on function embeddings.write_chunks(bigint, uuid, text, text[], text[], integer[], integer[], integer[], text[], text[]) is
  'Writes a leased batch of a chunked target: row_keys and content_hashes one item per row (from claim_batch), and per chunk chunk_rows (the 1-based position of its row in row_keys), chunk_starts and chunk_ends (UTF-16 offsets into the row''s text, end exclusive), chunk_texts and vectors (pgvector''s text form); a row''s chunks in text order (chunk_index is their order, from 0), a row of no chunks written with none. Rejects the whole call naming row and chunk on bad vectors (dimensions, NaN, infinities, all zeros), another model, offsets outside the text or inconsistent arrays. For each row still held by lease_token whose text''s md5 is still content_hashes[n], replaces all its chunks in one statement and records it (vector_hash: md5 of its chunk vectors'' text joined by commas in chunk order). Returns written_keys (from the records written), stale_keys (text changed, or the row held by another transaction: queued again) and lost_keys (lease lost or row gone), as write_batch.';

/** The same write, with the batch as one JSON array: the form to call by hand. */
create or replace function embeddings.write_chunks(
  target_id bigint,
  lease_token uuid,
  model text,
  batch jsonb
)
returns table (written_keys text[], stale_keys text[], lost_keys text[])
language plpgsql volatile security definer set search_path = ''
as $$
declare
  keys text[];
  hashes text[];
  rows_of_chunks integer[];
  starts integer[];
  ends integer[];
  texts text[];
  vector_texts text[];
  bad text;
begin
  if batch is null or jsonb_typeof(batch) <> 'array' then
    raise exception using errcode = '22023',
      message = format('batch must be a JSON array of {"key", "content_hash", "chunks": [{"index", "start", "end", "text", "embedding"}]} objects, got %s',
        coalesce(jsonb_typeof(batch), 'null'));
  end if;
  select format('batch item %s needs "key" and "content_hash" strings and a "chunks" array: %s', r.n, left(r.item::text, 80))
    into bad
    from jsonb_array_elements(batch) with ordinality as r(item, n)
    where jsonb_typeof(r.item) <> 'object' or jsonb_typeof(r.item -> 'key') is distinct from 'string'
       or jsonb_typeof(r.item -> 'content_hash') is distinct from 'string'
       or jsonb_typeof(r.item -> 'chunks') is distinct from 'array'
    order by r.n limit 1;
  if bad is null then
    select format('row %s chunk %s needs "start" and "end" integers, "text" a string, "embedding" an array and "index" (if given) its place from 0: %s',
                  r.item ->> 'key', c.n - 1, left(c.chunk::text, 80))
      into bad
      from jsonb_array_elements(batch) with ordinality as r(item, n),
           jsonb_array_elements(r.item -> 'chunks') with ordinality as c(chunk, n)
      where jsonb_typeof(c.chunk) <> 'object'
         or jsonb_typeof(c.chunk -> 'start') is distinct from 'number'
         or jsonb_typeof(c.chunk -> 'end') is distinct from 'number'
         or jsonb_typeof(c.chunk -> 'text') is distinct from 'string'
         or jsonb_typeof(c.chunk -> 'embedding') is distinct from 'array'
         or (c.chunk ? 'index' and (c.chunk -> 'index') is distinct from pg_catalog.to_jsonb(c.n - 1))
         or case when jsonb_typeof(c.chunk -> 'start') = 'number' and jsonb_typeof(c.chunk -> 'end') = 'number'
                 then (c.chunk ->> 'start')::numeric not between 0 and 2147483647
                      or (c.chunk ->> 'end')::numeric not between 0 and 2147483647
                      or (c.chunk ->> 'start')::numeric <> trunc((c.chunk ->> 'start')::numeric)
                      or (c.chunk ->> 'end')::numeric <> trunc((c.chunk ->> 'end')::numeric)
                 else true end
      order by r.n, c.n limit 1;
  end if;
  if bad is not null then
    raise exception using errcode = '22023', message = bad;
  end if;
  select coalesce(array_agg(r.item ->> 'key' order by r.n), '{}'), coalesce(array_agg(r.item ->> 'content_hash' order by r.n), '{}')
    into keys, hashes
    from jsonb_array_elements(batch) with ordinality as r(item, n);
  select coalesce(array_agg(r.n::integer order by r.n, c.n), '{}'),
         coalesce(array_agg((c.chunk ->> 'start')::integer order by r.n, c.n), '{}'),
         coalesce(array_agg((c.chunk ->> 'end')::integer order by r.n, c.n), '{}'),
         coalesce(array_agg(c.chunk ->> 'text' order by r.n, c.n), '{}'),
         coalesce(array_agg((c.chunk -> 'embedding')::text order by r.n, c.n), '{}')
    into rows_of_chunks, starts, ends, texts, vector_texts
    from jsonb_array_elements(batch) with ordinality as r(item, n),
         jsonb_array_elements(r.item -> 'chunks') with ordinality as c(chunk, n);
  return query select * from embeddings.write_chunks(target_id, lease_token, model, keys, hashes,
    rows_of_chunks, starts, ends, texts, vector_texts);
end;
$$;
comment on function embeddings.write_chunks(bigint, uuid, text, jsonb) is
  'Writes a leased batch of a chunked target given as [{"key", "content_hash", "chunks": [{"index", "start", "end", "text", "embedding"}]}] (index, when given, is the chunk''s place from 0): the same write as the array form of write_chunks, with JSON''s own faults named in JSON''s terms. Returns written_keys, stale_keys and lost_keys.';

-- =============================================================================================
-- Failures, releases and the dead
-- =============================================================================================

/** Locks a lease's queue entries (all, or the given keys) in key order: the engine's one lock order. */
create or replace function embeddings._lock_queue_entries(target_id bigint, lease_token uuid, row_keys text[])
returns void
language plpgsql volatile set search_path = ''
as $$
begin
  perform from embeddings.queue as q
    where q.target_id = _lock_queue_entries.target_id and q.lease_token = _lock_queue_entries.lease_token
      and (row_keys is null or q.row_key = any(row_keys))
    order by q.row_key
    for update;
end;
$$;
comment on function embeddings._lock_queue_entries(bigint, uuid, text[]) is
  'Locks the queue entries a lease holds (all of them, or the given keys) in key order, as every statement of the engine and the sync triggers take them, so fail_rows and release_batch cannot deadlock with the app''s statements.';

/** Counts an attempt for each failed row, backs off, dead-letters at max_attempts. */
create or replace function embeddings.fail_rows(target_id bigint, lease_token uuid, failures jsonb)
returns table (retrying_keys text[], dead_keys text[])
language plpgsql volatile security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
begin
  if failures is null or jsonb_typeof(failures) <> 'array' then
    raise exception using errcode = '22023', message = 'failures must be a JSON array of {"key", "error"} objects';
  end if;
  perform embeddings._lock_queue_entries(target.id, lease_token,
    array(select element.value ->> 'key' from jsonb_array_elements(failures) as element(value)));
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

/** Hands leased rows back untried, without counting an attempt. */
create or replace function embeddings.release_batch(target_id bigint, lease_token uuid, row_keys text[] default null)
returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  released integer;
begin
  perform embeddings._lock_queue_entries(target.id, lease_token, row_keys);
  update embeddings.queue as q
    set lease_token = null, leased_until = null
    where q.target_id = target.id and q.lease_token = release_batch.lease_token
      and (row_keys is null or q.row_key = any(row_keys));
  get diagnostics released = row_count;
  return released;
end;
$$;
comment on function embeddings.release_batch(bigint, uuid, text[]) is
  'Hands rows held by lease_token back to the queue (all of them, or the given keys) without counting an attempt, so another worker can claim them at once: for a worker that stops early because its provider is down or its time is up. Returns how many.';

/** Queues dead-lettered rows again with fresh attempts. */
create or replace function embeddings.requeue_dead(target_id bigint, row_keys text[] default null)
returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
  requeued integer;
begin
  perform from embeddings.queue as q
    where q.target_id = target.id and q.dead_at is not null and (row_keys is null or q.row_key = any(row_keys))
    order by q.row_key
    for update;
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

/** Queues every row of a target again: dead letters, records forgotten, the backfill restarted. */
create or replace function embeddings.requeue_target(target_id bigint)
returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare
  target embeddings.targets := embeddings._target_by_id(target_id);
begin
  perform embeddings.requeue_dead(target.id);
  -- The vectors stay in the column, and searchable, until they are replaced.
  delete from embeddings.embedded_rows as e where e.target_id = target.id;
  update embeddings.targets as t set backfill_after = null, backfill_done = false where t.id = target.id;
  return embeddings.queue_backfill_chunk(target.id);
end;
$$;
comment on function embeddings.requeue_target(bigint) is
  'Queues every row of a target again: dead-lettered rows get fresh attempts, the records of what was embedded are forgotten (the vectors stay until replaced; verify calls them unvouched meanwhile) and the chunked backfill restarts. Returns how many rows its first chunk queued.';
