-- music_knowledge is a registered target, and a worker's claim + write persists a whole batch: 20 of 20 rows, read back.
begin;
create extension if not exists pgtap with schema extensions;
select plan(10);

select is(
  (select format('%s.%s key %s (%s), content %s, column %s, %s dimensions', table_schema, table_name,
     key_column, key_type, content_function, embedding_column, dimensions)
   from embeddings.targets where name = 'music_knowledge'),
  'public.music_knowledge key id (uuid), content embeddings.music_knowledge_content(music_knowledge), column embedding, 384 dimensions',
  'music_knowledge is registered: its key, content function, column and 384 dimensions'
);
select ok(
  exists (select 1 from pg_catalog.pg_trigger
          where tgrelid = 'public.music_knowledge'::regclass and tgname like 'embeddings_queue_%'),
  'registration installed the queue trigger on music_knowledge'
);

delete from public.music_knowledge;
insert into public.music_knowledge (id, topic, category, suggestion)
select ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'topic_' || i, 'test', 'suggestion ' || i
from generate_series(1, 20) as i;

select is(
  (select pending from embeddings.status where name = 'music_knowledge'), 20::bigint,
  'the 20 inserted rows are queued'
);

create temporary table target as
select id, model from embeddings.targets where name = 'music_knowledge';
grant select on target to service_role;

set local role service_role;
create temporary table claimed as
select * from embeddings.claim_batch((select id from target), 50, 60);
reset role;

-- One one-hot unit vector per row: row i points along dimension i.
create temporary table batch as
select jsonb_agg(jsonb_build_object(
  'key', c.row_key,
  'content_hash', c.content_hash,
  'embedding', (select jsonb_agg(case when d = right(c.row_key, 12)::int then 1 else 0 end order by d)
                from generate_series(1, 384) as d)
)) as items, min(c.lease_token::text)::uuid as lease
from claimed as c;
grant select on batch to service_role;

set local role service_role;
create temporary table outcome as
select * from embeddings.write_batch((select id from target), (select lease from batch),
  (select model from target), (select items from batch));
reset role;

select is((select cardinality(written_keys) from outcome), 20, 'write_batch reports 20 rows written');
select is((select stale_keys || lost_keys from outcome), '{}'::text[], 'and none stale or lost');
select is(
  (select count(*)::int from public.music_knowledge where embedding is not null), 20,
  'reading the table back: 20 of 20 rows have an embedding'
);
select is(
  (select array_agg(id::text order by id::text) from public.music_knowledge where embedding is not null),
  (select written_keys from outcome),
  'exactly the reported keys hold an embedding'
);
select is(
  (select (embedding::real[])[7] from public.music_knowledge
   where id = '00000000-0000-4000-8000-000000000007'), 1::real,
  'row 7 holds its own vector (dimension 7 set), not another row''s'
);
select results_eq(
  $$ select embedded, pending, in_flight, dead_lettered from embeddings.status where name = 'music_knowledge' $$,
  $$ values (20::bigint, 0::bigint, 0::bigint, 0::bigint) $$,
  'status: 20 embedded, nothing pending, in flight or dead'
);
select ok(
  (select last_write_at > now() - interval '1 minute' from embeddings.status where name = 'music_knowledge'),
  'status shows the last successful write'
);

select * from finish();
rollback;
