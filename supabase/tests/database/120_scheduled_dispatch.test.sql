-- 120 The scheduled dispatch: the cron job follows its settings, the settings refuse run options out of
-- range, nothing is sent when idle, invocations are sized by the backlog and never pile up, and every
-- outcome is recorded.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(26);

-- Start from no queued work and no history (all rolled back at the end).
delete from embeddings.queue;
update embeddings.targets set backfill_done = true;
delete from embeddings.dispatches;

select results_eq(
  $$ select schedule, command, active from cron.job where jobname = 'embeddings-dispatch' $$,
  $$ select schedule, 'select * from embeddings.dispatch_embed_requests()'::text, enabled from embeddings.dispatch_settings $$,
  'the cron job runs dispatch_embed_requests on the configured schedule, active only when enabled'
);

update embeddings.dispatch_settings set enabled = true, schedule = '*/2 * * * *';
select results_eq(
  $$ select schedule, active from cron.job where jobname = 'embeddings-dispatch' $$,
  $$ values ('*/2 * * * *'::text, true) $$,
  'changing the settings with SQL reschedules and activates the job'
);
select throws_ok(
  $$ update embeddings.dispatch_settings set schedule = 'every now and then' $$,
  null, null,
  'an invalid schedule is refused'
);
select throws_ok(
  $$ update embeddings.dispatch_settings set schedule = '10 seconds' $$,
  '22023',
  format('schedule ''10 seconds'' needs pg_cron 1.5 or later (Supabase runs 1.6); this database has pg_cron %s: use a cron expression such as ''* * * * *''',
    (select extversion from pg_extension where extname = 'pg_cron')),
  'a sub-minute schedule on a pg_cron that cannot run one is refused, saying which version can'
);
select is(embeddings._dispatch_missing(), null, 'this database has everything the dispatch needs');
select throws_ok(
  $$ update embeddings.dispatch_settings set max_parallel = 0 $$,
  '23514', null,
  'max_parallel must be at least 1'
);
select throws_ok(
  $$ update embeddings.dispatch_settings set batch_size = 0 $$,
  '22023', 'batch_size must be between 1 and 1000, got 0',
  'a run option out of range is refused with the range of embeddings.run_option_limits()'
);

-- Idle: nothing queued, no request.
create temporary table requests_before as select count(*) as n from net.http_request_queue;
select results_eq(
  $$ select sent, reason from embeddings.dispatch_embed_requests() $$,
  $$ values (0, 'nothing to embed: no target has claimable rows or an unfinished backfill'::text) $$,
  'with nothing queued, the job sends nothing and says why'
);
select is(
  (select count(*) from net.http_request_queue), (select n from requests_before),
  'and no request was queued in pg_net'
);
select is((select count(*)::int from embeddings.dispatches), 0, 'and nothing is recorded');

-- A backlog of 2,500 rows (a throwaway target, all queued) with 1,000 rows per invocation and 2 in parallel.
select tests.create_target('dispatch_items', 2500);
update embeddings.dispatch_settings set max_parallel = 2, max_rows = 1000, batch_size = 25,
  time_budget_ms = 40000, lease_seconds = 120, request_timeout_ms = 90000;

select is((select sent from embeddings.dispatch_embed_requests()), 2, 'a 2,500-row backlog starts 2 invocations (3 wanted, 2 allowed)');
select results_eq(
  $$ select url, convert_from(body, 'UTF8')::jsonb, headers ->> 'apikey', headers ? 'Authorization',
            timeout_milliseconds
     from net.http_request_queue order by id desc limit 1 $$,
  $$ values ((select decrypted_secret from vault.decrypted_secrets where name = 'project_url') || '/functions/v1/embed',
             '{"batchSize": 25, "maxRows": 1000, "timeBudgetMs": 40000, "leaseSeconds": 120}'::jsonb,
             (select decrypted_secret from vault.decrypted_secrets where name = 'secret_key'), false, 90000) $$,
  'each is a POST to the embed function with the run options and the secret key from Vault in the apikey header'
);
select is(
  (select count(*)::int from embeddings.dispatches where outcome = 'in flight' and queued_rows = 2500), 2,
  'both are recorded in flight with the backlog they were sent for'
);
select results_eq(
  $$ select sent, reason from embeddings.dispatch_embed_requests() $$,
  $$ values (0, '2 invocations are still in flight (max_parallel 2) for 2500 claimable rows'::text) $$,
  'while both are in flight, the next run sends nothing (no pile-up) and says why'
);

-- Answers arrive: one success, one failure.
insert into net._http_response (id, status_code, content_type, content, timed_out)
  select request_id, 200, 'application/json', '{"ok": true, "written": 1000}', false
  from embeddings.dispatches order by id limit 1;
insert into net._http_response (id, status_code, content_type, content, timed_out)
  select request_id, 500, 'application/json', '{"ok": false, "message": "database call failed; items: ..."}', false
  from embeddings.dispatches order by id desc limit 1;
select is(embeddings.collect_dispatch_outcomes(), 2, 'both answers are collected');
select results_eq(
  $$ select outcome, status_code, written, error from embeddings.dispatches order by id $$,
  $$ values ('succeeded'::text, 200, 1000, null::text), ('failed', 500, null, 'database call failed; items: ...') $$,
  'the success with its written count, the failure with its status and error'
);
select results_eq(
  $$ select last_invocation_outcome, last_invocation_error from embeddings.status where name = 'dispatch_items' $$,
  $$ values ('failed'::text, 'database call failed; items: ...'::text) $$,
  'the status view shows the last invocation''s failure beside the target'
);

-- A timeout recorded by pg_net, and an answer that never comes.
select * from embeddings.dispatch_embed_requests();
insert into net._http_response (id, timed_out, error_msg)
  select request_id, true, 'Timeout of 90000 ms reached'
  from embeddings.dispatches where outcome = 'in flight' order by id limit 1;
update embeddings.dispatches set sent_at = now() - interval '1 hour'
  where outcome = 'in flight' and request_id not in (select id from net._http_response where id is not null);
select embeddings.collect_dispatch_outcomes();
select is(
  (select count(*)::int from embeddings.dispatches where outcome = 'timed out'), 2,
  'a pg_net timeout and an answer that never came are both recorded as timed out'
);
select results_eq(
  $$ select last_outcome, in_flight, failures_last_day, max_rows from embeddings.dispatch_status $$,
  $$ values ('timed out'::text, 0::bigint, 3::bigint, 1000) $$,
  'dispatch_status shows the last outcome, nothing in flight, three failures today and the rows per invocation'
);

-- Disabled: nothing is sent whatever the backlog.
update embeddings.dispatch_settings set enabled = false;
create temporary table disabled_run as select * from embeddings.dispatch_embed_requests();
select is((select sent from disabled_run), 0, 'disabled, the job sends nothing');
select matches((select reason from disabled_run),
  'disabled: turn it on with update embeddings\.dispatch_settings set enabled = true; or run it once anyway with .*force => true',
  'and says it is disabled, how to enable it and how to run once anyway');
select is((select active from cron.job where jobname = 'embeddings-dispatch'), false, 'and the cron job is inactive');
delete from embeddings.dispatches where outcome = 'in flight';
create temporary table forced_run as select * from embeddings.dispatch_embed_requests(force => true);
select is((select sent from forced_run), 2, 'forced while disabled, it runs once: 2 invocations for the 2,500-row backlog');
select matches((select reason from forced_run), '^sent 2 invocations for \d+ claimable rows',
  'and says what it sent');

-- A missing Vault secret is a recorded, explained failure, not a silent skip.
update embeddings.dispatch_settings set enabled = true, project_url_secret = 'no_such_secret';
delete from embeddings.dispatches where outcome = 'in flight';
select is((select sent from embeddings.dispatch_embed_requests()), 0, 'without the project URL secret nothing is sent');
select matches(
  (select error from embeddings.dispatches where outcome = 'not sent' order by id desc limit 1),
  '^Vault secret no_such_secret is missing: run select vault\.create_secret',
  'and the reason is recorded with the fix'
);

select * from finish();
rollback;
