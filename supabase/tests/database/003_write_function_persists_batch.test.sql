-- The write function, called as service_role, persists a whole batch: 20 of 20 rows, read back.
begin;
create extension if not exists pgtap with schema extensions;
select plan(7);

delete from public.music_knowledge;
insert into public.music_knowledge (id, topic, category, suggestion)
select ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'topic_' || i, 'test', 'suggestion ' || i
from generate_series(1, 20) as i;

-- One one-hot unit vector per row: row i points along dimension i.
create temporary table batch as
select jsonb_agg(jsonb_build_object(
  'id', ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0')),
  'embedding', (select jsonb_agg(case when d = i then 1 else 0 end order by d) from generate_series(1, 384) as d)
)) as items
from generate_series(1, 20) as i;
grant select on batch to service_role;

set local role service_role;
create temporary table outcome as
select * from embeddings.write_music_knowledge_embeddings((select items from batch));
reset role;

select is(
  (select cardinality(written_ids) from outcome), 20,
  'the write function reports 20 rows written'
);
select is(
  (select unwritten_ids from outcome), '{}'::uuid[],
  'and no row it could not write'
);
select is(
  (select count(*)::int from public.music_knowledge where embedding is not null), 20,
  'reading the table back: 20 of 20 rows have an embedding'
);
select is(
  (select array_agg(id order by id) from public.music_knowledge where embedding is not null),
  (select written_ids from outcome),
  'exactly the reported ids hold an embedding'
);
select ok(
  (select bool_and(extensions.vector_dims(embedding) = 384) from public.music_knowledge),
  'every stored embedding has 384 dimensions'
);
select is(
  (select extensions.vector_dims(embedding) from public.music_knowledge
   where id = '00000000-0000-4000-8000-000000000007')::int, 384,
  'row 7 holds its vector'
);
select is(
  (select (embedding::real[])[7] from public.music_knowledge
   where id = '00000000-0000-4000-8000-000000000007'), 1::real,
  'row 7 holds its own vector (dimension 7 set), not another row''s'
);

select * from finish();
rollback;
