-- 191 While a model change runs, the new version is kept by the registry's own triggers (new and
-- edited rows are queued for both versions; one version's writes never requeue the other), search
-- of the target answers from the current version only, and switch and rollback flip it at once.
begin;
\ir ../fixtures/test_helpers.psql
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
select plan(12);

-- Three rows embedded with test-model in vector(3): row n holds one_hot(3, n).
select tests.create_target('mc_notes', 0, 3);
insert into public.mc_notes (id, title) values (1, 'kick drum'), (2, 'vocal eq'), (3, 'reverb send');
create temporary table note_claim as select * from embeddings.claim_batch(tests.target_id('mc_notes'), 100, 60);
select embeddings.write_batch(tests.target_id('mc_notes'), (select lease_token from note_claim limit 1), 'test-model',
  (select jsonb_agg(tests.batch_item(c.row_key, c.content_hash, tests.one_hot(3, c.row_key::integer))) from note_claim as c));
select embeddings.start_model_change(tests.target_id('mc_notes'), 'model-b', 2);

-- The new version is filled by the triggers
insert into public.mc_notes (id, title) values (4, 'limiter');
update public.mc_notes set title = 'vocal eq and air' where id = 2;
select results_eq(
  $$ select t.name, array_agg(q.row_key order by q.row_key) from embeddings.queue as q
     join embeddings.targets as t on t.id = q.target_id group by t.name order by t.name $$,
  $$ values ('mc_notes', array['2', '4']), ('mc_notes__next', array['1', '2', '3', '4']) $$,
  'a new row and an edited one are queued for both versions (the new version has every row from its backfill)'
);
-- The new version's vectors: row n holds one_hot(2, 2 - n % 2), so rows 1 and 3 point one way, 2 and 4 the other.
create temporary table next_claim as select * from embeddings.claim_batch(tests.target_id('mc_notes__next'), 100, 60);
select is(
  (select cardinality(w.written_keys) from embeddings.write_batch(tests.target_id('mc_notes__next'),
     (select lease_token from next_claim limit 1), 'model-b',
     (select jsonb_agg(tests.batch_item(c.row_key, c.content_hash, tests.one_hot(2, 2 - c.row_key::integer % 2)))
      from next_claim as c)) as w),
  4, 'the new version''s write lands on its four rows'
);
select results_eq(
  $$ select t.name, array_agg(q.row_key order by q.row_key) from embeddings.queue as q
     join embeddings.targets as t on t.id = q.target_id group by t.name order by t.name $$,
  $$ values ('mc_notes', array['2', '4']) $$,
  'and queues nothing for the current version'
);
select is(
  (select count(*)::integer from public.mc_notes where embedding_model_b is not null), 4,
  'the new column holds the four vectors'
);

select is(
  (select sum(row_count)::integer from embeddings.verify(tests.target_id('mc_notes__next'))), 0,
  'verify finds nothing wrong with the new version'
);
select is(
  (select sum(row_count)::integer from embeddings.verify(tests.target_id('mc_notes'))), 0,
  'nor with the old one: its edited and new rows are queued, not wrong'
);

-- Search follows the current version
select is(
  (select array_agg(s.row_key order by s.row_key) from public.search_embeddings('mc_notes',
     query_embedding => '[1, 0, 0]', mode => 'semantic') as s),
  array['1', '3'],
  'before the switch, search of mc_notes answers from the old vectors (rows 2 and 4 are stale there)'
);
select throws_ok(
  $$ select * from public.search_embeddings('mc_notes', query_embedding => '[0, 1]', mode => 'semantic') $$,
  null, null,
  'and a query of the new model''s size is refused'
);
update public.mc_notes set title = 'limiter, brickwall' where id = 4;
select throws_like(
  $$ select embeddings.switch_model_change(tests.target_id('mc_notes')) $$,
  'the new version of mc_notes (model-b) has 4 of 4 rows embedded and 1 in its queue%',
  'switch refuses while a row edited since its new vector waits in the queue'
);
select embeddings.write_batch(tests.target_id('mc_notes__next'), c.lease_token, 'model-b',
  jsonb_build_array(tests.batch_item(c.row_key, c.content_hash, tests.one_hot(2, 2))))
  from embeddings.claim_batch(tests.target_id('mc_notes__next'), 10, 60) as c;
select embeddings.switch_model_change(tests.target_id('mc_notes'), force => false);
select is(
  (select array_agg(s.row_key order by s.similarity desc, s.row_key) from public.search_embeddings('mc_notes',
     query_embedding => '[0, 1]', mode => 'semantic') as s),
  array['2', '4', '1', '3'],
  'after the switch the same name answers from the new vectors, every row'
);
select embeddings.rollback_model_change(tests.target_id('mc_notes'));
select is(
  (select array_agg(s.row_key order by s.row_key) from public.search_embeddings('mc_notes',
     query_embedding => '[1, 0, 0]', mode => 'semantic') as s),
  array['1', '3'],
  'after a rollback it answers from the old vectors again'
);
select is(
  (select array_agg(s.row_key order by s.row_key) from public.search_embeddings('mc_notes__next',
     query_embedding => '[0, 1]', mode => 'semantic') as s),
  array['1', '2', '3', '4'],
  'and the new version stays searchable by its own name, still filled'
);

select * from finish();
rollback;
