-- 172 write_chunks rejects the whole call, naming row and chunk, on a bad vector (dimensions, NaN, all
-- zeros), another model, offsets outside the text or inconsistent arrays; a rejected call writes nothing.
-- A whole-row target is refused, naming write_batch.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(15);

-- A chunked target of 2 rows (bigint keys 1 and 2, texts "row 1" and "row 2"), chunks of vector(3), claimed.
select tests.create_table('docs', 2, 3, 'bigint');
alter table public.docs drop column embedding;
select embeddings.register_target('public.docs', 'id', 'public.docs_content(public.docs)', null, 'test-model', 3,
  target_name => 'docs', chunking => '{}');
select tests.claim_into('claimed', 'docs');

-- write(chunk_rows, ends, vectors, model): both rows, chunks from offset 0, under the claim's lease.
create function pg_temp.write(chunk_rows integer[], ends integer[], vectors text[], model text default 'test-model')
returns setof text language sql as $$
  select w.written_keys::text from embeddings.write_chunks(tests.target_id('docs'),
    (select lease_token from claimed limit 1), model,
    array['1', '2'], (select array_agg(content_hash order by row_key) from claimed),
    chunk_rows, array_fill(0, array[cardinality(chunk_rows)]), ends,
    array_fill('text'::text, array[cardinality(chunk_rows)]), vectors) as w
$$;

select tests.authenticate_as_service_role();
select throws_ok($$ select pg_temp.write(array[1, 2, 2], array[3, 3, 3], array['[1,0,0]', '[0,1,0]', '[0,1]']) $$,
  '22000', 'row 2 chunk 1: embedding has 2 dimensions, expected 3', 'a vector of the wrong dimensions is named by row and chunk');
select throws_ok($$ select pg_temp.write(array[1, 1], array[3, 3], array['[1,0,0]', '[NaN,1,0]']) $$,
  '22000', 'row 1 chunk 1: embedding element 1 is NaN, not a finite number', 'a NaN element is named by row, chunk and element');
select throws_ok($$ select pg_temp.write(array[2], array[3], array['[0,0,0]']) $$,
  '22000', 'row 2 chunk 0: embedding is all zeros, which has no cosine direction', 'an all-zero vector is refused');
select throws_ok($$ select pg_temp.write(array[1], array[3], array['[1,0,0]'], 'other-model') $$,
  '22023', 'target docs embeds with model test-model; refusing vectors of model other-model', 'another model is refused');
select throws_ok($$ select pg_temp.write(array[1, 2], array[5, 6], array['[1,0,0]', '[0,1,0]']) $$,
  '22023', 'row 2 chunk 0: it ends at 6, past the end of the row''s text (5 UTF-16 code units)',
  'a chunk past the end of its row''s text is refused');
select throws_ok($$ select pg_temp.write(array[1, 3], array[3, 3], array['[1,0,0]', '[0,1,0]']) $$,
  '22023', 'chunk 2 (of the batch) names row 3 of the batch, which has rows 1 to 2', 'a chunk of no row in the batch is refused');
select throws_ok($$ select pg_temp.write(array[1, 1], array[3, 0], array['[1,0,0]', '[0,1,0]']) $$,
  '22023', 'row 1 chunk 1: offsets [0, 0) and text ''text'' are not a chunk (offsets from 0, end after start, text given)',
  'an empty span is refused');
select throws_ok($$ select pg_temp.write(array[1, 1], array[3, 3], array['[1,0,0]']) $$,
  '22023', 'chunk_rows, chunk_starts, chunk_ends, chunk_texts and vectors must be arrays of one length, got 2, 2, 2, 2 and 1 items',
  'chunk arrays of different lengths are refused');
select throws_ok(
  format($$ select * from embeddings.write_chunks(%s, gen_random_uuid(), 'test-model', array['1', '1'], array['a', 'b'],
    '{}'::integer[], '{}'::integer[], '{}'::integer[], '{}'::text[], '{}'::text[]) $$, tests.target_id('docs')),
  '22023', 'row 1 appears more than once in the batch', 'a row twice is refused');
select throws_ok(
  format($$ select * from embeddings.write_chunks(%s, gen_random_uuid(), 'test-model',
    '[{"key": "1", "content_hash": "x", "chunks": [{"start": 0, "end": "3", "text": "row", "embedding": [1, 0, 0]}]}]') $$,
    tests.target_id('docs')),
  '22023', null, 'the JSON form names a chunk whose offsets are not numbers');
select tests.clear_authentication();
select is((select count(*)::int from embedding_chunks.docs), 0, 'no rejected call wrote a chunk');
select is((select count(*)::int from embeddings.queue where target_id = tests.target_id('docs') and lease_token is not null), 2,
  'and both rows are still held by the claim');

-- Offsets count UTF-16 code units, as the worker's JavaScript strings do.
select is(embeddings._utf16_length('a' || chr(128512) || 'b'), 4, 'a character beyond U+FFFF counts two code units');
select is(embeddings._utf16_length('row é'), 5, 'one below U+FFFF counts one');

select tests.create_target('items', 1, 3);
select tests.authenticate_as_service_role();
select throws_ok(
  format($$ select * from embeddings.write_chunks(%s, gen_random_uuid(), 'test-model', '[]'::jsonb) $$, tests.target_id('items')),
  '22023', 'target items embeds one vector per row in column embedding: write it with embeddings.write_batch',
  'a whole-row target is refused, naming write_batch');
select tests.clear_authentication();

select * from finish();
rollback;
