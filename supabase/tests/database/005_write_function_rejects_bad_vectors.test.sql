-- Wrong dimensions, NaN, non-numbers and zero vectors are rejected with an error naming the row, and nothing is written.
begin;
create extension if not exists pgtap with schema extensions;
select plan(10);

delete from public.music_knowledge;
insert into public.music_knowledge (id, topic, category, suggestion) values
  ('00000000-0000-4000-8000-000000000001', 'good', 'test', 'a row with a good vector'),
  ('00000000-0000-4000-8000-000000000002', 'bad', 'test', 'a row with a bad vector');

-- good_row: a valid item; bad_row(values): an item for row 2 with the given embedding.
create temporary table good_item as
select jsonb_build_object(
  'id', '00000000-0000-4000-8000-000000000001',
  'embedding', (select jsonb_agg(0.05) from generate_series(1, 384))
) as item;
grant select on good_item to service_role;

set local role service_role;

select throws_ok(
  format($$ select * from embeddings.write_music_knowledge_embeddings(%L::jsonb) $$,
    jsonb_build_array((select item from good_item), jsonb_build_object(
      'id', '00000000-0000-4000-8000-000000000002',
      'embedding', (select jsonb_agg(0.05) from generate_series(1, 383))))),
  '22000',
  'row 00000000-0000-4000-8000-000000000002: embedding has 383 dimensions, expected 384',
  'a 383-dimension vector is rejected, naming the row'
);
select throws_ok(
  format($$ select * from embeddings.write_music_knowledge_embeddings(%L::jsonb) $$,
    jsonb_build_array(jsonb_build_object(
      'id', '00000000-0000-4000-8000-000000000002',
      'embedding', (select jsonb_agg(0.05) from generate_series(1, 512))))),
  '22000',
  'row 00000000-0000-4000-8000-000000000002: embedding has 512 dimensions, expected 384',
  'a 512-dimension vector is rejected, naming the row'
);
select throws_ok(
  format($$ select * from embeddings.write_music_knowledge_embeddings(%L::jsonb) $$,
    jsonb_build_array((select item from good_item), jsonb_build_object(
      'id', '00000000-0000-4000-8000-000000000002',
      'embedding', (select jsonb_agg(case when d = 9 then '"NaN"'::jsonb else '0.05'::jsonb end)
                    from generate_series(1, 384) as d)))),
  '22000',
  'row 00000000-0000-4000-8000-000000000002: embedding element 9 is "NaN", not a finite number',
  'a NaN element is rejected, naming the row and the element'
);
select throws_ok(
  format($$ select * from embeddings.write_music_knowledge_embeddings(%L::jsonb) $$,
    jsonb_build_array(jsonb_build_object(
      'id', '00000000-0000-4000-8000-000000000002',
      'embedding', (select jsonb_agg(case when d = 3 then 'null'::jsonb else '0.05'::jsonb end)
                    from generate_series(1, 384) as d)))),
  '22000',
  'row 00000000-0000-4000-8000-000000000002: embedding element 3 is null, not a finite number',
  'a null element (what JSON makes of NaN) is rejected'
);
select throws_ok(
  format($$ select * from embeddings.write_music_knowledge_embeddings(%L::jsonb) $$,
    jsonb_build_array(jsonb_build_object(
      'id', '00000000-0000-4000-8000-000000000002',
      'embedding', (select jsonb_agg(case when d = 5 then '1e39'::jsonb else '0.05'::jsonb end)
                    from generate_series(1, 384) as d)))),
  '22000',
  'row 00000000-0000-4000-8000-000000000002: embedding element 5 is 1000000000000000000000000000000000000000, not a finite number',
  'a value beyond a 4-byte float (Infinity once stored) is rejected'
);
select throws_ok(
  format($$ select * from embeddings.write_music_knowledge_embeddings(%L::jsonb) $$,
    jsonb_build_array(jsonb_build_object(
      'id', '00000000-0000-4000-8000-000000000002',
      'embedding', (select jsonb_agg(0) from generate_series(1, 384))))),
  '22000',
  'row 00000000-0000-4000-8000-000000000002: embedding is all zeros, which has no cosine direction',
  'an all-zero vector is rejected'
);
select throws_ok(
  $$ select * from embeddings.write_music_knowledge_embeddings('[{"id": "not-a-uuid", "embedding": []}]') $$,
  '22023',
  'batch item 1: id ''not-a-uuid'' is not a uuid',
  'an id that is not a uuid is rejected'
);
select throws_ok(
  $$ select * from embeddings.write_music_knowledge_embeddings('{"id": "x"}') $$,
  '22023',
  null,
  'a batch that is not an array is rejected'
);
select throws_ok(
  format($$ select * from embeddings.write_music_knowledge_embeddings(%L::jsonb) $$,
    jsonb_build_array((select item from good_item), (select item from good_item))),
  '22023',
  'row 00000000-0000-4000-8000-000000000001 appears more than once in the batch',
  'a row twice in one batch is rejected'
);

reset role;
select is(
  (select count(*)::int from public.music_knowledge where embedding is not null),
  0,
  'after every rejected batch, no row has an embedding: a rejected batch writes nothing'
);

select * from finish();
rollback;
