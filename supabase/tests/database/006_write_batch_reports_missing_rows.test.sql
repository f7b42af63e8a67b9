-- Keys whose row was deleted, or that the lease does not hold, are reported back as lost, never counted as written.
begin;
create extension if not exists pgtap with schema extensions;
select plan(6);

delete from public.music_knowledge;
insert into public.music_knowledge (id, topic, category, suggestion) values
  ('00000000-0000-4000-8000-000000000001', 'one', 'test', 'first row'),
  ('00000000-0000-4000-8000-000000000002', 'two', 'test', 'second row'),
  ('00000000-0000-4000-8000-000000000003', 'three', 'test', 'third row');

create temporary table target as
select id, model from embeddings.targets where name = 'music_knowledge';
grant select on target to service_role;
set local role service_role;
create temporary table claimed as select * from embeddings.claim_batch((select id from target), 10, 60);
reset role;

-- Row 3 is deleted while its batch is being embedded; a fourth key was never claimed.
delete from public.music_knowledge where id = '00000000-0000-4000-8000-000000000003';
create temporary table batch as
select jsonb_agg(jsonb_build_object('key', k.row_key, 'content_hash', coalesce(c.content_hash, 'x'),
  'embedding', (select jsonb_agg(0.05) from generate_series(1, 384))) order by k.row_key) as items
from (select row_key from claimed union all select '00000000-0000-4000-8000-000000000099') as k
left join claimed as c using (row_key);
grant select on claimed, batch to service_role;

set local role service_role;
create temporary table outcome as
select * from embeddings.write_batch((select id from target), (select lease_token from claimed limit 1),
  (select model from target), (select items from batch));
reset role;

select is(
  (select written_keys from outcome),
  array['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'],
  'the two existing rows are reported written'
);
select is(
  (select lost_keys from outcome),
  array['00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000099'],
  'the deleted row and the unclaimed key are reported lost'
);
select is(
  (select count(*)::int from public.music_knowledge where embedding is not null), 2,
  'reading back: exactly 2 rows have an embedding'
);
select is_empty(
  $$ select 1 from embeddings.queue q join embeddings.targets t on t.id = q.target_id
     where t.name = 'music_knowledge' $$,
  'the deleted row left no work behind'
);

set local role service_role;
select is(
  (select cardinality(written_keys) from embeddings.write_batch((select id from target),
     gen_random_uuid(), (select model from target), '[]'::jsonb)),
  0,
  'an empty batch writes nothing and says so'
);
select is(
  (select count(*)::int from embeddings.claim_batch((select id from target), 10, 60)), 0,
  'nothing is left to claim'
);
reset role;

select * from finish();
rollback;
