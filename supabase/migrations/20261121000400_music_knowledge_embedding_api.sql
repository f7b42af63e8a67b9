-- The service-role API the embed function uses for music_knowledge: the text a row embeds
-- (defined once, here), the rows still waiting for an embedding, a batch write that reports
-- exactly which rows it changed, and counts read straight from the table.

-- =============================================================================================
-- The text embedded for a row
-- =============================================================================================
create or replace function embeddings.music_knowledge_content(knowledge public.music_knowledge)
returns text
language sql
immutable
set search_path = ''
as $$
  select replace(knowledge.topic, '_', ' ') || ' (' || knowledge.category || '): '
    || knowledge.suggestion
$$;
comment on function embeddings.music_knowledge_content(public.music_knowledge) is
  'The text embedded for a music_knowledge row: "<topic> (<category>): <suggestion>". Change it here and re-embed.';

-- =============================================================================================
-- Rows waiting for an embedding, in id order, after a cursor
-- =============================================================================================
create or replace function embeddings.pending_music_knowledge(
  after_id uuid default null,
  batch_size integer default 50
)
returns table (id uuid, content text)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if batch_size is null or batch_size < 1 or batch_size > 1000 then
    raise exception using
      errcode = '22023',
      message = format('batch_size must be between 1 and 1000, got %s', coalesce(batch_size::text, 'null'));
  end if;

  return query
    select knowledge.id, embeddings.music_knowledge_content(knowledge)
    from public.music_knowledge as knowledge
    where knowledge.embedding is null
      and (after_id is null or knowledge.id > after_id)
    order by knowledge.id
    limit batch_size;
end;
$$;
comment on function embeddings.pending_music_knowledge(uuid, integer) is
  'Up to batch_size music_knowledge rows without an embedding and with id > after_id, with the text to embed. Service role only.';

-- =============================================================================================
-- One vector's checks, shared by every write function
-- =============================================================================================
create or replace function embeddings.check_embedding(
  row_label text,
  embedding jsonb,
  expected_dimensions integer
)
returns void
language plpgsql
immutable
set search_path = ''
as $$
declare
  bad_value jsonb;
  bad_position bigint;
begin
  if jsonb_typeof(embedding) is distinct from 'array' then
    raise exception using
      errcode = '22023',
      message = format('row %s: embedding must be an array of %s numbers, got %s',
        row_label, expected_dimensions, coalesce(jsonb_typeof(embedding), 'nothing'));
  end if;
  if jsonb_array_length(embedding) <> expected_dimensions then
    raise exception using
      errcode = '22000',
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
    raise exception using
      errcode = '22000',
      message = format('row %s: embedding element %s is %s, not a finite number',
        row_label, bad_position, bad_value::text);
  end if;

  if not exists (
    select 1 from jsonb_array_elements(embedding) as element(value)
    where element.value::numeric <> 0
  ) then
    raise exception using
      errcode = '22000',
      message = format('row %s: embedding is all zeros, which has no cosine direction', row_label);
  end if;
end;
$$;
comment on function embeddings.check_embedding(text, jsonb, integer) is
  'Raises an error naming the row unless the JSON embedding is an array of expected_dimensions finite numbers (4-byte float range), not all zero.';

-- =============================================================================================
-- Batch write: validates every vector, then writes the whole batch in one statement
-- =============================================================================================
create or replace function embeddings.write_music_knowledge_embeddings(batch jsonb)
returns table (written_ids uuid[], unwritten_ids uuid[])
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  expected_dimensions constant integer := 384;
  item jsonb;
  item_position bigint;
  row_id uuid;
  seen_ids uuid[] := '{}';
begin
  if batch is null or jsonb_typeof(batch) <> 'array' then
    raise exception using
      errcode = '22023',
      message = format(
        'batch must be a JSON array of {"id": uuid, "embedding": [numbers]} objects, got %s',
        coalesce(jsonb_typeof(batch), 'null')
      );
  end if;

  -- Validate everything before writing anything: a rejected batch changes no row.
  for item, item_position in
    select element.value, element.ordinality
    from jsonb_array_elements(batch) with ordinality as element(value, ordinality)
  loop
    if jsonb_typeof(item) <> 'object' or jsonb_typeof(item -> 'id') is distinct from 'string' then
      raise exception using
        errcode = '22023',
        message = format('batch item %s has no "id" string: %s', item_position, left(item::text, 80));
    end if;
    begin
      row_id := (item ->> 'id')::uuid;
    exception when invalid_text_representation then
      raise exception using
        errcode = '22023',
        message = format('batch item %s: id %L is not a uuid', item_position, item ->> 'id');
    end;
    if row_id = any(seen_ids) then
      raise exception using
        errcode = '22023',
        message = format('row %s appears more than once in the batch', row_id);
    end if;
    seen_ids := seen_ids || row_id;

    perform embeddings.check_embedding(row_id::text, item -> 'embedding', expected_dimensions);
  end loop;

  return query
    with input as (
      select
        (element.value ->> 'id')::uuid as id,
        ((element.value -> 'embedding')::text)::extensions.vector(384) as embedding
      from jsonb_array_elements(batch) as element(value)
    ),
    written as (
      update public.music_knowledge as knowledge
        set embedding = input.embedding
        from input
        where knowledge.id = input.id
        returning knowledge.id
    )
    select
      coalesce((select array_agg(written.id order by written.id) from written), '{}'::uuid[]),
      coalesce(
        (select array_agg(input.id order by input.id) from input
          where not exists (select 1 from written where written.id = input.id)),
        '{}'::uuid[]
      );
end;
$$;
comment on function embeddings.write_music_knowledge_embeddings(jsonb) is
  'Writes a batch [{"id", "embedding"}] of 384-dimension vectors in one UPDATE. Rejects the whole batch, naming the row, on a wrong dimension, a non-number, NaN or an all-zero vector. Returns the ids the UPDATE changed and the ids it could not (no such row). Service role only.';

-- =============================================================================================
-- Counts, read from the table itself
-- =============================================================================================
create or replace function embeddings.music_knowledge_embedding_counts()
returns table (total bigint, embedded bigint, pending bigint)
language sql
stable
security definer
set search_path = ''
as $$
  select
    count(*),
    count(*) filter (where knowledge.embedding is not null),
    count(*) filter (where knowledge.embedding is null)
  from public.music_knowledge as knowledge
$$;
comment on function embeddings.music_knowledge_embedding_counts() is
  'Rows in music_knowledge: in total, with an embedding, and still pending. Service role only.';

-- =============================================================================================
-- Privileges: service_role only
-- =============================================================================================
revoke execute on function
  embeddings.check_embedding(text, jsonb, integer),
  embeddings.music_knowledge_content(public.music_knowledge),
  embeddings.pending_music_knowledge(uuid, integer),
  embeddings.write_music_knowledge_embeddings(jsonb),
  embeddings.music_knowledge_embedding_counts()
from public, anon, authenticated;

grant execute on function
  embeddings.music_knowledge_content(public.music_knowledge),
  embeddings.pending_music_knowledge(uuid, integer),
  embeddings.write_music_knowledge_embeddings(jsonb),
  embeddings.music_knowledge_embedding_counts()
to service_role;
