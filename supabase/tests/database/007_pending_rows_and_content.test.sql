-- Pending rows come in id order after a cursor, with the text defined once in SQL; counts come from the table.
begin;
create extension if not exists pgtap with schema extensions;
select plan(7);

delete from public.music_knowledge;
insert into public.music_knowledge (id, topic, category, suggestion, embedding) values
  ('00000000-0000-4000-8000-000000000001', 'basic_chords', 'harmony', 'Use I, IV and V.', null),
  ('00000000-0000-4000-8000-000000000002', 'vocal_eq', 'mixing', 'Cut at 250 Hz.', null),
  ('00000000-0000-4000-8000-000000000003', 'done', 'mixing', 'Already embedded.',
    (select array_agg(0.05)::real[]::extensions.vector from generate_series(1, 384))),
  ('00000000-0000-4000-8000-000000000004', 'limiter', 'mastering', 'Take 2-3 dB.', null);

set local role service_role;
select results_eq(
  $$ select id::text, content from embeddings.pending_music_knowledge(null, 2) $$,
  $$ values ('00000000-0000-4000-8000-000000000001', 'basic chords (harmony): Use I, IV and V.'),
            ('00000000-0000-4000-8000-000000000002', 'vocal eq (mixing): Cut at 250 Hz.') $$,
  'the first page holds the first two rows without an embedding, with their text'
);
select results_eq(
  $$ select id::text from embeddings.pending_music_knowledge('00000000-0000-4000-8000-000000000002', 10) $$,
  $$ values ('00000000-0000-4000-8000-000000000004') $$,
  'after the cursor, rows that already have an embedding are skipped'
);
select is_empty(
  $$ select * from embeddings.pending_music_knowledge('00000000-0000-4000-8000-000000000004', 10) $$,
  'past the last pending row there is nothing'
);
select throws_ok(
  $$ select * from embeddings.pending_music_knowledge(null, 0) $$,
  '22023',
  'batch_size must be between 1 and 1000, got 0',
  'a batch size of 0 is a clear error'
);
select results_eq(
  $$ select total, embedded, pending from embeddings.music_knowledge_embedding_counts() $$,
  $$ values (4::bigint, 1::bigint, 3::bigint) $$,
  'counts: 4 rows, 1 embedded, 3 pending'
);
select is(
  (select embeddings.music_knowledge_content(k) from public.music_knowledge k
   where id = '00000000-0000-4000-8000-000000000004'),
  'limiter (mastering): Take 2-3 dB.',
  'the content function gives "<topic> (<category>): <suggestion>"'
);
reset role;

select is(
  (select count(*)::int from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'embeddings' and p.proname = 'music_knowledge_content'),
  1,
  'the embedded text is defined in exactly one SQL function'
);

select * from finish();
rollback;
