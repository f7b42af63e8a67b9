-- 126 An invocation that skipped a target of another model is recorded as succeeded with the
-- targets it skipped and why; status shows the reason beside that target (and only that one), and
-- doctor warns of it with its fix.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(7);

delete from embeddings.queue;
update embeddings.targets set backfill_done = true;
delete from embeddings.dispatches;
select tests.create_target('skip_served', 5);
select tests.create_target('skip_other', 5);

select is((select sent from embeddings.dispatch_embed_requests(force => true)), 1, 'a run is sent for the queued rows');
insert into net._http_response (id, status_code, content_type, content, timed_out)
  select request_id, 200, 'application/json',
         '{"ok": true, "written": 5, "more": false, "skipped": 1, "targets": [
            {"target": "skip_served", "written": 5, "skipped": null},
            {"target": "skip_other", "written": 0, "skipped": "target skip_other embeds with model other-model"}]}', false
  from embeddings.dispatches;
select is(embeddings.collect_dispatch_outcomes(), 1, 'its answer is collected');
select results_eq(
  $$ select outcome, status_code, written, more from embeddings.dispatches $$,
  $$ values ('succeeded'::text, 200, 5, false) $$,
  'a run that wrote what it could and skipped a target succeeded'
);
select is(
  (select skipped from embeddings.dispatches),
  '{"skip_other": "target skip_other embeds with model other-model"}'::jsonb,
  'the skipped target and its reason are recorded, the served one is not'
);
select results_eq(
  $$ select name, last_invocation_outcome, last_skip_reason from embeddings.status
     where name in ('skip_served', 'skip_other') order by name $$,
  $$ values ('skip_other'::text, 'succeeded'::text, 'target skip_other embeds with model other-model'::text),
            ('skip_served', 'succeeded', null) $$,
  'status shows the skip reason beside the skipped target only'
);
select results_eq(
  $$ select level, subject, finding ~ 'skipped target skip_other, whose rows stay queued: target skip_other embeds with model other-model'
     from embeddings.doctor() where check_name = 'skipped_targets' $$,
  $$ values ('warning'::text, 'skip_other'::text, true) $$,
  'doctor warns of the skipped target, naming it'
);
select is(
  embeddings._skipped_targets('{"error": "not a report"}'::jsonb), null,
  'an answer that is not a report skips nothing'
);

select * from finish();
rollback;
