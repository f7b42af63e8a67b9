-- 127 The follow-on: an invocation that stopped with work left is followed at once (within
-- max_parallel, only once its answer is recorded); one that wrote nothing, failed or said no more
-- work is left to the next tick, so a target that keeps failing cannot loop.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(12);

delete from embeddings.queue;
update embeddings.targets set backfill_done = true;
delete from embeddings.dispatches;
select tests.create_target('follow_items', 3000);
update embeddings.dispatch_settings set enabled = true, schedule = '0 0 1 1 *', max_parallel = 2, max_rows = 1000;

/** Records an answer for the dispatch: as pg_net's worker would. */
create function pg_temp.answer(dispatch bigint, status integer, body text) returns void
language sql as $$
  insert into net._http_response (id, status_code, content_type, content, timed_out)
  select d.request_id, status, 'application/json', body, false from embeddings.dispatches as d where d.id = dispatch
$$;

select is((select sent from embeddings.dispatch_embed_requests()), 2, '3,000 rows, 1,000 each, 2 allowed: 2 sent');
select is(
  (select count(*)::int from net.http_request_queue as r
     join embeddings.dispatches as d on d.request_id = r.id
    where r.headers ->> 'x-embeddings-dispatch-id' = d.id::text), 2,
  'each request carries its dispatch id, for the function to ask for its follow-on'
);
create temporary table first_two as select id from embeddings.dispatches order by id;

select results_eq(
  $$ select sent, answered from embeddings.follow_on_dispatch((select min(id) from first_two)) $$,
  $$ values (0, false) $$,
  'before its answer is recorded, its slot is taken: nothing is sent, and the caller is told to ask again'
);

select pg_temp.answer((select min(id) from first_two), 200, '{"ok": true, "written": 1000, "more": true}');
select results_eq(
  $$ select sent, answered from embeddings.follow_on_dispatch((select min(id) from first_two)) $$,
  $$ values (1, true) $$,
  'once answered with more, the follow-on is sent at once, into the slot it freed'
);
select is(
  (select count(*)::int from embeddings.dispatches where outcome = 'in flight'), 2,
  'never more than max_parallel in flight'
);
select results_eq(
  $$ select sent, answered from embeddings.follow_on_dispatch((select min(id) from first_two)) $$,
  $$ values (0, true) $$,
  'asked again, the slots are full: nothing more is sent'
);

-- The second stopped with rows left but wrote nothing (a target that keeps failing): no follow-on.
select pg_temp.answer((select max(id) from first_two), 200, '{"ok": true, "written": 0, "more": true}');
select results_eq(
  $$ select sent, reason ~ 'no follow-on, the next tick decides' from embeddings.follow_on_dispatch((select max(id) from first_two)) $$,
  $$ values (0, true) $$,
  'a run that wrote nothing is not followed on: the next tick decides'
);

-- The third failed: no follow-on either.
select pg_temp.answer((select max(id) from embeddings.dispatches), 500, '{"ok": false, "written": 1000, "more": true, "error": "a row failed"}');
select is(
  (select sent from embeddings.follow_on_dispatch((select max(id) from embeddings.dispatches))), 0,
  'a failed run is not followed on'
);
select is((select sent from embeddings.follow_on_dispatch(-1)), 0, 'an unknown dispatch id sends nothing');

-- A run that said no work is left, or one answered while the dispatch is off: no follow-on.
delete from embeddings.dispatches where outcome <> 'in flight';
select is((select sent from embeddings.dispatch_embed_requests()), 2, 'two more are sent for the backlog');
select pg_temp.answer((select min(id) from embeddings.dispatches), 200, '{"ok": true, "written": 1000, "more": false}');
select is(
  (select sent from embeddings.follow_on_dispatch((select min(id) from embeddings.dispatches))), 0,
  'a run that said more: false is not followed on, though rows are queued'
);
update embeddings.dispatch_settings set enabled = false;
select pg_temp.answer((select max(id) from embeddings.dispatches), 200, '{"ok": true, "written": 1000, "more": true}');
select is(
  (select sent from embeddings.follow_on_dispatch((select max(id) from embeddings.dispatches))), 0,
  'a disabled dispatch sends no follow-on'
);

select * from finish();
rollback;
