-- =============================================================================================
-- EMBEDDING ENGINE: the cost of a backfill, known before it runs
-- =============================================================================================
-- Per target: the rows a backfill would send to the provider now (queued, and those the chunked
-- backfill has not reached yet), the characters of their text as the worker would send it, the
-- tokens that makes (an estimate) and its price. It reads the tables and the queue and calls no
-- provider. `deno task cli backfill --estimate` calls it; so can Supabase's SQL editor.

/**
 * Characters per token in the estimate: the rule the worker's providers already use for their
 * input limits (3 characters a token; English averages about 4, so the estimate errs high).
 */
create or replace function embeddings._characters_per_token()
returns numeric
language sql immutable set search_path = ''
as $$
  select 3::numeric
$$;
comment on function embeddings._characters_per_token() is
  'Characters per token in embeddings.estimate_backfill: 3, the rule the worker''s providers use for their input limits (supabase/functions/_shared/providers); English averages about 4, so estimates err high.';

/**
 * The select that counts one target's rows to embed and their text. Its parameters: $1 target
 * id, $2 backfill_done, $3 backfill_after, $4 model, $5 adopt_existing_vectors, $6 max_characters,
 * $7 chunking_changed_at.
 */
create or replace function embeddings._estimate_sql(target embeddings.targets)
returns text
language sql stable set search_path = ''
as $$
  select format(
    $sql$
      with entries as materialized (
        -- With the keys a bulk statement noted for the next claim to queue: the estimate writes nothing.
        select q.row_key, q.dead_at from embeddings._queue_entries($1) as q
      ),
      queued as (
        -- Every entry a worker will claim (all but the dead-lettered), of a row that still exists:
        -- a claim drops the entries of deleted rows unsent.
        select true as was_queued, %5$s(t) as content
        from entries as q
        join %1$I.%2$I as t on t.%3$I = q.row_key::%4$s
        where q.dead_at is null
      ),
      not_reached as (
        -- What queue_backfill_chunk will queue past its cursor: rows with no vector of this model
        -- recorded, not queued already (a dead entry stays dead), not adopted.
        select false as was_queued, %5$s(t) as content
        from %1$I.%2$I as t
        where not $2 and ($3::text is null or t.%3$I > $3::%4$s)
          and not ($5 and %6$s)
          and not exists (select 1 from entries as q where q.row_key = t.%3$I::text)
          and not exists (
            select 1 from embeddings.embedded_rows as e
            where e.target_id = $1 and e.row_key = t.%3$I::text and e.model = $4
              and ($7::timestamptz is null or e.embedded_at > $7))
      ),
      sized as (
        -- The worker refuses a text with no letter or digit unsent; any non-ASCII character is
        -- taken for one, whatever the database's locale thinks of it.
        select r.was_queued, coalesce(r.content ~ '[[:alnum:]]|[^\u0001-\u007f]', false) as has_text,
               least(pg_catalog.length(r.content), coalesce($6, pg_catalog.length(r.content))) as characters
        from (select * from queued union all select * from not_reached) as r
      )
      select count(*) filter (where s.was_queued), count(*) filter (where not s.was_queued),
             count(*) filter (where not s.has_text),
             coalesce(sum(s.characters) filter (where s.has_text), 0),
             coalesce(sum(pg_catalog.ceil(s.characters / embeddings._characters_per_token()))
                        filter (where s.has_text), 0)
      from sized as s
    $sql$,
    target.table_schema, target.table_name, target.key_column, target.key_type,
    embeddings._content_function_name(target), embeddings._vector_present_sql(target, 't'))
$$;
comment on function embeddings._estimate_sql(embeddings.targets) is
  'For estimate_backfill: the select counting one target''s queued rows, the rows its chunked backfill has not reached, those with no text to send, and the characters and estimated tokens of the rest (parameters: target id, backfill_done, backfill_after, model, adopt_existing_vectors, max_characters, chunking_changed_at).';

/**
 * Per target (or one target): what a backfill would embed now and what that costs, without
 * calling a provider. Reads every row it counts, calling the content function on each: linear in
 * the rows, like status, so not for a hot loop.
 */
create or replace function embeddings.estimate_backfill(
  only_target bigint default null,
  price_per_million numeric default null,
  max_characters integer default null
)
returns table (
  target_id bigint, name text, model text, queued bigint, not_backfilled bigint,
  without_text bigint, rows_to_embed bigint, characters bigint, estimated_tokens bigint,
  price numeric, characters_per_token numeric, broken text
)
-- Hash joins: the planner cannot size embeddings._queue_entries, and a nested loop over it costs
-- rows squared.
language plpgsql volatile security definer set search_path = '' set enable_nestloop = off
as $$
declare
  target embeddings.targets;
begin
  if price_per_million < 0 then
    raise exception using errcode = '22023',
      message = format('price_per_million must be zero or more, got %s', price_per_million);
  end if;
  if max_characters < 1 then
    raise exception using errcode = '22023',
      message = format('max_characters must be positive, got %s', max_characters);
  end if;
  if only_target is not null and not exists (select 1 from embeddings.targets as t where t.id = only_target) then
    raise exception using errcode = 'P0002', message = format('no embedding target has id %s', only_target);
  end if;
  for target in
    select * from embeddings.targets as t where only_target is null or t.id = only_target order by t.id
  loop
    target := embeddings._target_by_id(target.id);
    target_id := target.id;
    name := target.name;
    model := target.model;
    characters_per_token := embeddings._characters_per_token();
    broken := embeddings._broken_reason(target);
    queued := null; not_backfilled := null; without_text := null; rows_to_embed := null;
    characters := null; estimated_tokens := null; price := null;
    -- A broken target cannot be read; it is shown with its fix and never hides the others.
    if broken is null then
      execute embeddings._estimate_sql(target)
        into queued, not_backfilled, without_text, characters, estimated_tokens
        using target.id, target.backfill_done, target.backfill_after, target.model,
              target.adopt_existing_vectors,
              -- A chunked target's text is never cut: it is sent whole, chunk by chunk.
              case when target.chunking is null then max_characters end, target.chunking_changed_at;
      rows_to_embed := queued + not_backfilled - without_text;
      price := round(estimated_tokens * price_per_million / 1000000, 6);
    end if;
    return next;
  end loop;
end;
$$;
comment on function embeddings.estimate_backfill(bigint, numeric, integer) is
  'Per target (all, or only_target), what a backfill would embed now, calling no provider: queued (entries not dead-lettered, of rows that exist), not_backfilled (rows the chunked backfill has not reached that it would queue: no vector of the target''s model recorded, not adopted), without_text (of those, rows with no letter or digit, which the worker fails unsent), rows_to_embed (the rest: what the provider is sent), characters of their text (each cut to max_characters when given, as the provider cuts it; a chunked target''s text is never cut, and its chunks'' overlap adds about overlap/(size - overlap) more), estimated_tokens (per row, characters / 3 rounded up: the providers'' rule, given in characters_per_token) and price at price_per_million tokens (null without one). A broken target comes back with its reason and null counts. Reads every row it counts: linear in the rows.';
