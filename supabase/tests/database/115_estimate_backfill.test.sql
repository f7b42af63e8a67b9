-- 115 estimate_backfill counts what a backfill would send to the provider, calling none: queued rows
-- that exist and are not dead-lettered, and the rows the chunked backfill has not reached that it
-- would queue (not those with a vector of the target's model, not adopted ones); rows with no text
-- apart; characters, estimated tokens (3 characters a token, per row) and the price.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(11);

-- 12 rows, all queued at registration; titles of 10 characters, row 3 with no letter or digit,
-- row 4 of 100 characters.
select tests.create_target('estimated', 12);
update public.estimated set title = repeat('x', 10);
update public.estimated set title = '-- --' where id = 3;
update public.estimated set title = repeat('y', 100) where id = 4;
-- A backfill half way: rows 7..12 not reached yet.
delete from embeddings.queue where target_id = tests.target_id('estimated') and row_key::bigint > 6;
update embeddings.targets set backfill_after = '6', backfill_done = false where id = tests.target_id('estimated');
-- Row 9 has a vector of the current model, row 10 one of an old model; row 1 is dead-lettered;
-- row 999 is queued but no longer exists.
insert into embeddings.embedded_rows (target_id, row_key, model, content_hash) values
  (tests.target_id('estimated'), '9', 'test-model', 'h'),
  (tests.target_id('estimated'), '10', 'old-model', 'h');
update embeddings.queue set dead_at = now() where target_id = tests.target_id('estimated') and row_key = '1';
insert into embeddings.queue (target_id, row_key) values (tests.target_id('estimated'), '999');

select tests.authenticate_as_service_role();
create temporary table estimate as
  select * from embeddings.estimate_backfill(tests.target_id('estimated'), 2.00);
create temporary table estimate_cut as
  select * from embeddings.estimate_backfill(tests.target_id('estimated'), null, 20);
select tests.clear_authentication();

select is((select queued from estimate), 5::bigint,
  'queued: rows 2..6; not the dead-lettered row 1 nor the entry of a row that is gone');
select is((select not_backfilled from estimate), 5::bigint,
  'not backfilled: rows 7, 8, 10, 11, 12; not row 9, whose vector is of the current model');
select is((select without_text from estimate), 1::bigint,
  'row 3 has no letter or digit: the worker fails it unsent');
select is((select rows_to_embed from estimate), 9::bigint, 'rows to embed: 5 + 5 - 1');
select is((select characters from estimate), 180::bigint,
  'characters: seven rows of 10, row 4 of 100, and none of row 3');
select is((select estimated_tokens from estimate), 66::bigint,
  'tokens: ceil(10 / 3) = 4 for eight rows, ceil(100 / 3) = 34 for row 4');
select is((select price from estimate), 0.000132::numeric, 'price: 66 tokens at 2.00 a million');
select results_eq(
  $$ select characters, estimated_tokens, price from estimate_cut $$,
  $$ values (100::bigint, 39::bigint, null::numeric) $$,
  'max_characters cuts each text as the provider would (row 4 counts 20 characters, 7 tokens); no price without one'
);

-- A target that adopts existing vectors: a row with one is adopted by the backfill, not embedded.
update public.estimated set embedding = '[1,0,0]' where id = 11;
update embeddings.targets set adopt_existing_vectors = true where id = tests.target_id('estimated');
select tests.authenticate_as_service_role();
select is((select not_backfilled from embeddings.estimate_backfill(tests.target_id('estimated'))), 4::bigint,
  'on a target that adopts existing vectors, row 11 (it has one) is not counted');
select throws_ok(
  $$ select * from embeddings.estimate_backfill(null, -1) $$,
  '22023', 'price_per_million must be zero or more, got -1',
  'a negative price is refused, naming it'
);
select tests.clear_authentication();

-- A broken target is reported with its reason, and does not hide the others.
select tests.create_target('intact', 2);
drop function public.estimated_content(public.estimated);
select tests.authenticate_as_service_role();
select results_eq(
  $$ select name, broken is not null, rows_to_embed from embeddings.estimate_backfill()
     where name in ('estimated', 'intact') order by name $$,
  $$ values ('estimated', true, null::bigint), ('intact', false, 2::bigint) $$,
  'a broken target comes back with its reason and no counts; the others are counted'
);
select tests.clear_authentication();

select * from finish();
rollback;
