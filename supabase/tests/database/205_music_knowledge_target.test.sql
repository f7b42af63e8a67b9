-- 205 App: music_knowledge is a registered target with the default model; the text a row embeds is
-- defined once, in public.music_knowledge_content; content changes queue the row, confidence does not.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(10);

-- The registration.
select is(
  (select format('%s.%s key %s (%s), content %s, column %s, %s dimensions', table_schema, table_name,
     key_column, key_type, content_function, embedding_column, dimensions)
   from embeddings.targets where name = 'music_knowledge'),
  'public.music_knowledge key id (uuid), content public.music_knowledge_content(public.music_knowledge), '
    || 'column embedding, 384 dimensions',
  'music_knowledge is registered: its key, content function, column and 384 dimensions'
);
select is(
  (select model from embeddings.targets where name = 'music_knowledge'), embeddings.default_model(),
  'it is registered with embeddings.default_model()'
);
select ok(
  exists (select 1 from pg_catalog.pg_trigger
          where tgrelid = 'public.music_knowledge'::regclass and tgname like 'embeddings_queue_%'),
  'registration installed the queue trigger on music_knowledge'
);

-- The text a row embeds.
select is(
  public.music_knowledge_content(row('00000000-0000-4000-8000-000000000003', 'limiter', 'mastering',
    'Take 2-3 dB.', 0.5, null, now(), now(), null)::public.music_knowledge),
  'limiter (mastering): Take 2-3 dB.',
  'the content function gives "<topic with spaces> (<category>): <suggestion>"'
);
select is(
  (select array_agg(format('%s.%s', n.nspname, p.proname)) from pg_catalog.pg_proc as p
   join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
   where p.proname = 'music_knowledge_content'),
  array['public.music_knowledge_content'],
  'the embedded text is defined in exactly one SQL function, in public beside its table'
);

-- Two rows (the transaction rolls them back), claimed by the worker.
delete from public.music_knowledge;
insert into public.music_knowledge (id, topic, category, suggestion) values
  ('00000000-0000-4000-8000-000000000001', 'basic_chords', 'harmony', 'Use I, IV and V.'),
  ('00000000-0000-4000-8000-000000000002', 'vocal_eq', 'mixing', 'Cut at 250 Hz.');

select tests.authenticate_as_service_role();
select results_eq(
  $$ select row_key, content, content_hash from embeddings.claim_batch(tests.target_id('music_knowledge'), 10, 60)
     order by row_key $$,
  $$ values ('00000000-0000-4000-8000-000000000001', 'basic chords (harmony): Use I, IV and V.',
             md5('basic chords (harmony): Use I, IV and V.')),
            ('00000000-0000-4000-8000-000000000002', 'vocal eq (mixing): Cut at 250 Hz.',
             md5('vocal eq (mixing): Cut at 250 Hz.')) $$,
  'a claim returns each row''s text and its hash'
);
select tests.clear_authentication();

-- Pretend both rows are embedded, then change them.
delete from embeddings.queue where target_id = tests.target_id('music_knowledge');
update public.music_knowledge set confidence = 0.9 where id = '00000000-0000-4000-8000-000000000001';
select is_empty(
  $$ select 1 from embeddings.queue where target_id = tests.target_id('music_knowledge') $$,
  'changing only confidence queues nothing'
);
update public.music_knowledge set category = 'theory' where id = '00000000-0000-4000-8000-000000000001';
select results_eq(
  $$ select row_key from embeddings.queue where target_id = tests.target_id('music_knowledge') $$,
  $$ values ('00000000-0000-4000-8000-000000000001') $$,
  'changing the category (part of the text) queues the row'
);
update public.music_knowledge set topic = 'vocal_eq' where id = '00000000-0000-4000-8000-000000000002';
select is(
  (select count(*)::int from embeddings.queue where target_id = tests.target_id('music_knowledge')), 1,
  'setting a column to the value it had queues nothing'
);
delete from public.music_knowledge where id = '00000000-0000-4000-8000-000000000001';
select results_eq(
  $$ select pending, in_flight from embeddings.status(tests.target_id('music_knowledge')) $$,
  $$ values (0::bigint, 0::bigint) $$,
  'deleting the queued row leaves no work behind'
);

select * from finish();
rollback;
