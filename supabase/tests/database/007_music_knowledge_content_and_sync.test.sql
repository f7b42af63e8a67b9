-- The text a music_knowledge row embeds is defined once in SQL; content changes queue the row, confidence changes do not.
begin;
create extension if not exists pgtap with schema extensions;
select plan(7);

delete from public.music_knowledge;
insert into public.music_knowledge (id, topic, category, suggestion) values
  ('00000000-0000-4000-8000-000000000001', 'basic_chords', 'harmony', 'Use I, IV and V.'),
  ('00000000-0000-4000-8000-000000000002', 'vocal_eq', 'mixing', 'Cut at 250 Hz.');

create temporary table target as select id from embeddings.targets where name = 'music_knowledge';
grant select on target to service_role;
set local role service_role;
select results_eq(
  $$ select row_key, content, content_hash from embeddings.claim_batch((select id from target), 10, 60) $$,
  $$ values ('00000000-0000-4000-8000-000000000001', 'basic chords (harmony): Use I, IV and V.', md5('basic chords (harmony): Use I, IV and V.')),
            ('00000000-0000-4000-8000-000000000002', 'vocal eq (mixing): Cut at 250 Hz.', md5('vocal eq (mixing): Cut at 250 Hz.')) $$,
  'a claim returns each row''s text and its hash'
);
reset role;

select is(
  embeddings.music_knowledge_content(row('00000000-0000-4000-8000-000000000003', 'limiter', 'mastering',
    'Take 2-3 dB.', 0.5, null, now(), now(), null)::public.music_knowledge),
  'limiter (mastering): Take 2-3 dB.',
  'the content function gives "<topic with spaces> (<category>): <suggestion>"'
);
select is(
  (select count(*)::int from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'embeddings' and p.proname = 'music_knowledge_content'),
  1,
  'the embedded text is defined in exactly one SQL function'
);

-- Pretend both rows are embedded, then change them.
delete from embeddings.queue where target_id = (select id from target);
update public.music_knowledge set confidence = 0.9 where id = '00000000-0000-4000-8000-000000000001';
select is_empty(
  $$ select 1 from embeddings.queue where target_id = (select id from target) $$,
  'changing only confidence queues nothing'
);
update public.music_knowledge set category = 'theory' where id = '00000000-0000-4000-8000-000000000001';
select results_eq(
  $$ select row_key from embeddings.queue where target_id = (select id from target) $$,
  $$ values ('00000000-0000-4000-8000-000000000001') $$,
  'changing the category (part of the text) queues the row'
);
update public.music_knowledge set topic = 'vocal_eq' where id = '00000000-0000-4000-8000-000000000002';
select is(
  (select count(*)::int from embeddings.queue where target_id = (select id from target)), 1,
  'setting a column to the value it had queues nothing'
);
delete from public.music_knowledge where id = '00000000-0000-4000-8000-000000000001';
select is_empty(
  $$ select 1 from embeddings.queue where target_id = (select id from target) $$,
  'deleting the queued row leaves no work behind'
);

select * from finish();
rollback;
