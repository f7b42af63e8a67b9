-- 190 A model change in four steps (embeddings.start_model_change, switch, rollback, finish): each
-- step does what it says, read back from the registry and the catalog, and each refuses with its
-- reason when it cannot be done; finish drops only a column the engine added.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(36);

-- Four rows, embedded with test-model in vector(3).
select tests.create_embedded_target('mc_items', 4, 3);
create temporary table ids (old_id bigint, new_id bigint);
insert into ids values (tests.target_id('mc_items'), null);
grant select on ids to service_role;

-- =============================================================================================
-- start: refusals
-- =============================================================================================
select throws_ok(
  $$ select embeddings.start_model_change(tests.target_id('mc_items'), 'test-model', 3) $$,
  '22023', 'target mc_items uses test-model (3 dimensions) already',
  'start refuses the model the target has'
);
select throws_ok(
  $$ select embeddings.start_model_change(tests.target_id('mc_items'), 'model-b', 5, vector_type => 'bit') $$,
  '22023', 'vector_type must be vector or halfvec, got bit',
  'start refuses a vector type that is not vector or halfvec'
);
alter table public.mc_items add column wrong_size extensions.vector(7);
select throws_ok(
  $$ select embeddings.start_model_change(tests.target_id('mc_items'), 'model-b', 5, 'wrong_size') $$,
  '22023', 'column public.mc_items.wrong_size holds vector(7) but model model-b makes 5 dimensions',
  'start refuses an existing column of other dimensions'
);
select throws_ok(
  $$ select embeddings.start_model_change(tests.target_id('mc_items'), 'model-b', 3, 'embedding') $$,
  '23505', null,
  'start refuses the current version''s own column'
);
select tests.create_table('mc_chunked', 2, 3);
select embeddings.register_target('public.mc_chunked', 'id', 'public.mc_chunked_content(public.mc_chunked)',
  null, 'test-model', 3, 5, 'mc_chunked', '{}'::jsonb);
select throws_like(
  $$ select embeddings.start_model_change(tests.target_id('mc_chunked'), 'model-b', 5, 'embedding') $$,
  'target mc_chunked is chunked: its new version keeps its vectors in its own chunk table (vector), so pass no embedding_column%',
  'start refuses a column for a chunked target (its new version''s vectors go to its own chunk table)'
);
select throws_ok(
  $$ select embeddings.rollback_model_change(tests.target_id('mc_items')) $$,
  '55000', format('target %s has no model change running: start one with embeddings.start_model_change(%s, <model>, <dimensions>)',
    tests.target_id('mc_items'), tests.target_id('mc_items')),
  'rollback refuses a target with no change running'
);
select is(
  (select count(*)::integer from embeddings.model_changes), 0,
  'no refusal left a change behind'
);

-- =============================================================================================
-- start
-- =============================================================================================
select tests.authenticate_as_service_role();
create temporary table started as
  select * from embeddings.start_model_change((select old_id from ids), 'model-b', 5);
select tests.clear_authentication();
select results_eq(
  $$ select target_name, state, old_model, new_model, new_dimensions, added_column::text collate "default", added_index::text collate "default" from started $$,
  $$ values ('mc_items', 'filling', 'test-model', 'model-b', 5, 'embedding_model_b', 'mc_items_embedding_model_b_hnsw_idx') $$,
  'start (as service_role) returns the change: filling, the engine added embedding_model_b and its index'
);
update ids set new_id = (select new_target_id from started);
select results_eq(
  $$ select name, model, dimensions, embedding_column::text collate "default" from embeddings.targets where id = (select new_id from ids) $$,
  $$ values ('mc_items__next', 'model-b', 5, 'embedding_model_b') $$,
  'the new version is a target named mc_items__next with the new model in the new column'
);
select col_type_is('public', 'mc_items', 'embedding_model_b', 'extensions', 'vector(5)', 'the column is vector(5)');
select ok(
  (select pg_catalog.pg_get_indexdef(i.indexrelid) like '%USING hnsw (embedding_model_b %vector_cosine_ops)'
   from pg_catalog.pg_index as i where i.indexrelid = 'public.mc_items_embedding_model_b_hnsw_idx'::regclass),
  'its index is HNSW, cosine'
);
select is(
  (select count(*)::integer from embeddings.queue where target_id = (select new_id from ids)), 4,
  'every row is queued for the new version'
);
select results_eq(
  $$ select model, embedded from embeddings.status where name = 'mc_items' $$,
  $$ values ('test-model', 4::bigint) $$,
  'status of mc_items is still the old version, all embedded'
);
select throws_ok(
  $$ select embeddings.start_model_change(tests.target_id('mc_items'), 'model-c', 5) $$,
  '55000', 'target mc_items is in a model change already: switch, roll back or finish that one first',
  'a second start is refused'
);
select throws_ok(
  $$ select embeddings.start_model_change(tests.target_id('mc_items__next'), 'model-c', 5) $$,
  '55000', 'target mc_items__next is in a model change already: switch, roll back or finish that one first',
  'a start on the new version is refused'
);

select throws_like(
  $$ select embeddings.set_target_model(tests.target_id('mc_items'), 'model-c', 3) $$,
  'target mc_items is a version of the running model change of mc_items, so it cannot be given another model%',
  'set_target_model refuses a version of a running change'
);
select throws_like(
  $$ select embeddings.unregister_target(tests.target_id('mc_items__next')) $$,
  'target mc_items__next is a version of the running model change of mc_items, so it cannot be unregistered%',
  'unregister_target refuses a version of a running change'
);

-- =============================================================================================
-- switch, rollback, finish
-- =============================================================================================
select throws_ok(
  $$ select embeddings.switch_model_change(tests.target_id('mc_items')) $$,
  '55000', 'the new version of mc_items (model-b) has 0 of 4 rows embedded and 4 in its queue: wait until every row has a current vector, or switch with force (rows without one drop out of semantic search)',
  'switch refuses a new version that is not complete'
);
select throws_like(
  $$ select embeddings.finish_model_change(tests.target_id('mc_items')) $$,
  'the model change of mc_items is not switched%',
  'finish refuses a change not switched'
);
select tests.authenticate_as_service_role();
select tests.claim_and_write((select new_id from ids));
select tests.clear_authentication();
select results_eq(
  $$ select new_embedded, new_total_rows, old_embedded, current_model from embeddings.model_change_status() $$,
  $$ values (4::bigint, 4::bigint, 4::bigint, 'test-model') $$,
  'model_change_status shows both versions complete, the old model current'
);
select is(
  (select state from embeddings.switch_model_change(tests.target_id('mc_items'))), 'switched',
  'switch succeeds once the new version is complete'
);
select results_eq(
  $$ select id = (select new_id from ids), model from embeddings.targets where name = 'mc_items'
     union all
     select id = (select old_id from ids), model from embeddings.targets where name = 'mc_items__previous' $$,
  $$ values (true, 'model-b'), (true, 'test-model') $$,
  'the versions swapped names: mc_items is the new version, mc_items__previous the old'
);
select throws_like(
  $$ select embeddings.switch_model_change(tests.target_id('mc_items')) $$,
  'the model change of mc_items is switched already%',
  'a second switch is refused'
);
select is(
  (select state from embeddings.rollback_model_change(tests.target_id('mc_items'))), 'filling',
  'rollback after a switch goes back to filling'
);
select results_eq(
  $$ select id = (select old_id from ids), model from embeddings.targets where name = 'mc_items' $$,
  $$ values (true, 'test-model') $$,
  'and the old version is mc_items again'
);
select embeddings.switch_model_change(tests.target_id('mc_items'));
select is(
  (select state from embeddings.finish_model_change(tests.target_id('mc_items'))), 'finished',
  'finish ends a switched change'
);
select ok(
  not exists (select 1 from embeddings.targets where id = (select old_id from ids))
    and not exists (select 1 from embeddings.queue where target_id = (select old_id from ids)),
  'the old version is unregistered'
);
select has_column('public', 'mc_items', 'embedding', 'the column the engine did not add stays');

-- =============================================================================================
-- A second change into a column that was there; its finish drops the column the first one added
-- =============================================================================================
alter table public.mc_items add column embedding_mine extensions.vector(2);
select is(
  (select added_column from embeddings.start_model_change(tests.target_id('mc_items'), 'model-c', 2, 'embedding_mine')),
  null, 'a change into an existing column adds none'
);
select tests.authenticate_as_service_role();
select tests.claim_and_write(tests.target_id('mc_items__next'));
select tests.clear_authentication();
select embeddings.switch_model_change(tests.target_id('mc_items'));
select embeddings.finish_model_change(tests.target_id('mc_items'));
select hasnt_column('public', 'mc_items', 'embedding_model_b', 'finish dropped the column the first change had added');
select ok(
  to_regclass('public.mc_items_embedding_model_b_hnsw_idx') is null, 'and its index'
);
select ok(
  (select count(*) = 3 from pg_catalog.pg_attribute
   where attrelid = 'public.mc_items'::regclass and attname in ('embedding', 'embedding_mine', 'wrong_size')),
  'and nothing else: the columns it did not add stay'
);

-- =============================================================================================
-- A rollback before the switch abandons the change
-- =============================================================================================
select embeddings.start_model_change(tests.target_id('mc_items'), 'model-d', 4, vector_type => 'halfvec');
select col_type_is('public', 'mc_items', 'embedding_model_d', 'extensions', 'halfvec(4)', 'a halfvec column when asked');
select is(
  (select state from embeddings.rollback_model_change(tests.target_id('mc_items'))), 'rolled back',
  'rollback before a switch abandons the change'
);
select ok(
  not exists (select 1 from embeddings.targets where name = 'mc_items__next')
    and (select model from embeddings.targets where name = 'mc_items') = 'model-c',
  'the new version is gone; mc_items is as it was'
);
select hasnt_column('public', 'mc_items', 'embedding_model_d', 'and the column the engine added for it is dropped');

select * from finish();
rollback;
