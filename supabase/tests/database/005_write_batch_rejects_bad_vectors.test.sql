-- Wrong dimensions, NaN, non-numbers and zero vectors are rejected with an error naming the row, and nothing is written.
begin;
create extension if not exists pgtap with schema extensions;
select plan(10);

delete from public.music_knowledge;
insert into public.music_knowledge (id, topic, category, suggestion) values
  ('00000000-0000-4000-8000-000000000001', 'good', 'test', 'a row with a good vector'),
  ('00000000-0000-4000-8000-000000000002', 'bad', 'test', 'a row with a bad vector');

create temporary table target as
select id, model from embeddings.targets where name = 'music_knowledge';
grant select on target to service_role;
set local role service_role;
create temporary table claimed as select * from embeddings.claim_batch((select id from target), 10, 60);
reset role;

-- item(n, embedding): a batch item for row n with its claimed hash.
create function pg_temp.item(n integer, embedding jsonb) returns jsonb language sql as $$
  select jsonb_build_object('key', c.row_key, 'content_hash', c.content_hash, 'embedding', embedding)
  from claimed as c where c.row_key = '00000000-0000-4000-8000-00000000000' || n
$$;
create function pg_temp.write(items jsonb) returns setof text language sql as $$
  select w.written_keys::text from embeddings.write_batch(
    (select id from target), (select lease_token from claimed limit 1), (select model from target), items) as w
$$;
create temporary table good as select pg_temp.item(1, (select jsonb_agg(0.05) from generate_series(1, 384))) as item;
grant select on claimed, good to service_role;

set local role service_role;
select throws_ok(
  format($$ select pg_temp.write(%L::jsonb) $$, jsonb_build_array((select item from good),
    pg_temp.item(2, (select jsonb_agg(0.05) from generate_series(1, 383))))),
  '22000', 'row 00000000-0000-4000-8000-000000000002: embedding has 383 dimensions, expected 384',
  'a 383-dimension vector is rejected, naming the row'
);
select throws_ok(
  format($$ select pg_temp.write(%L::jsonb) $$, jsonb_build_array(
    pg_temp.item(2, (select jsonb_agg(0.05) from generate_series(1, 512))))),
  '22000', 'row 00000000-0000-4000-8000-000000000002: embedding has 512 dimensions, expected 384',
  'a 512-dimension vector is rejected, naming the row'
);
select throws_ok(
  format($$ select pg_temp.write(%L::jsonb) $$, jsonb_build_array((select item from good),
    pg_temp.item(2, (select jsonb_agg(case when d = 9 then '"NaN"'::jsonb else '0.05'::jsonb end)
                     from generate_series(1, 384) as d)))),
  '22000', 'row 00000000-0000-4000-8000-000000000002: embedding element 9 is "NaN", not a finite number',
  'a NaN element is rejected, naming the row and the element'
);
select throws_ok(
  format($$ select pg_temp.write(%L::jsonb) $$, jsonb_build_array(
    pg_temp.item(2, (select jsonb_agg(case when d = 3 then 'null'::jsonb else '0.05'::jsonb end)
                     from generate_series(1, 384) as d)))),
  '22000', 'row 00000000-0000-4000-8000-000000000002: embedding element 3 is null, not a finite number',
  'a null element (what JSON makes of NaN) is rejected'
);
select throws_ok(
  format($$ select pg_temp.write(%L::jsonb) $$, jsonb_build_array(
    pg_temp.item(2, (select jsonb_agg(case when d = 5 then '1e39'::jsonb else '0.05'::jsonb end)
                     from generate_series(1, 384) as d)))),
  '22000',
  'row 00000000-0000-4000-8000-000000000002: embedding element 5 is 1000000000000000000000000000000000000000, not a finite number',
  'a value beyond a 4-byte float (Infinity once stored) is rejected'
);
select throws_ok(
  format($$ select pg_temp.write(%L::jsonb) $$, jsonb_build_array(
    pg_temp.item(2, (select jsonb_agg(0) from generate_series(1, 384))))),
  '22000', 'row 00000000-0000-4000-8000-000000000002: embedding is all zeros, which has no cosine direction',
  'an all-zero vector is rejected'
);
select throws_ok(
  $$ select pg_temp.write('[{"key": 7, "content_hash": "x", "embedding": []}]') $$,
  '22023', null,
  'a key that is not a string is rejected'
);
select throws_ok(
  $$ select pg_temp.write('{"key": "x"}') $$,
  '22023', null,
  'a batch that is not an array is rejected'
);
select throws_ok(
  format($$ select pg_temp.write(%L::jsonb) $$, jsonb_build_array((select item from good), (select item from good))),
  '22023', 'row 00000000-0000-4000-8000-000000000001 appears more than once in the batch',
  'a row twice in one batch is rejected'
);
reset role;

select is(
  (select count(*)::int from public.music_knowledge where embedding is not null), 0,
  'after every rejected batch, no row has an embedding: a rejected batch writes nothing'
);

select * from finish();
rollback;
