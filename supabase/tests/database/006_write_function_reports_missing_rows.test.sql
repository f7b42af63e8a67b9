-- Ids that match no row are reported back, never counted as written.
begin;
create extension if not exists pgtap with schema extensions;
select plan(4);

delete from public.music_knowledge;
insert into public.music_knowledge (id, topic, category, suggestion) values
  ('00000000-0000-4000-8000-000000000001', 'one', 'test', 'first row'),
  ('00000000-0000-4000-8000-000000000002', 'two', 'test', 'second row');

create temporary table batch as
select jsonb_agg(jsonb_build_object(
  'id', id,
  'embedding', (select jsonb_agg(0.05) from generate_series(1, 384))
)) as items
from (values
  ('00000000-0000-4000-8000-000000000001'),
  ('00000000-0000-4000-8000-000000000002'),
  ('00000000-0000-4000-8000-000000000099')
) as ids(id);
grant select on batch to service_role;

set local role service_role;
create temporary table outcome as
select * from embeddings.write_music_knowledge_embeddings((select items from batch));
reset role;

select is(
  (select written_ids from outcome),
  array['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002']::uuid[],
  'the two existing rows are reported written'
);
select is(
  (select unwritten_ids from outcome),
  array['00000000-0000-4000-8000-000000000099']::uuid[],
  'the missing id is reported as not written'
);
select is(
  (select count(*)::int from public.music_knowledge where embedding is not null),
  2,
  'reading back: exactly 2 rows have an embedding'
);

set local role service_role;
select is(
  (select cardinality(written_ids) from embeddings.write_music_knowledge_embeddings('[]'::jsonb)),
  0,
  'an empty batch writes nothing and says so'
);
reset role;

select * from finish();
rollback;
