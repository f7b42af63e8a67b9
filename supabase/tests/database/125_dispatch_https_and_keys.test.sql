-- 125 The dispatch sends its service key only over https (loopback and the Docker host aside): a
-- plain http project URL is refused, recorded as not sent with an error that names the secret but
-- not the URL's credentials; and the kinds of key the embed function says it accepts are recorded.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(9);

delete from embeddings.queue;
update embeddings.targets set backfill_done = true;
delete from embeddings.dispatches;
select tests.create_target('https_items', 5);

-- Which URLs may carry the key.
select is(embeddings._project_url_problem('https://abcd.supabase.co', 'project_url'), null, 'https is fine');
select is(
  array(select u from unnest(array['http://127.0.0.1:54321', 'http://localhost:54321/', 'http://[::1]:54321',
                                   'http://host.docker.internal:54321', 'HTTP://LOCALHOST']) as u
        where embeddings._project_url_problem(u, 'project_url') is not null),
  array[]::text[],
  'plain http to loopback or the Docker host is allowed (a local stack)'
);
select is(
  array(select u from unnest(array['http://abcd.supabase.co', 'http://127.0.0.1.example.com', 'ftp://abcd.supabase.co',
                                   'abcd.supabase.co', 'http://localhost.example.com', 'https://']) as u
        where embeddings._project_url_problem(u, 'project_url') is null),
  array[]::text[],
  'anything else is refused: remote http, a host that only starts like loopback, another scheme, no scheme'
);

-- A plain http project URL with credentials in it.
select vault.update_secret(s.id, 'http://user:hunter2@abcd.supabase.co')
  from vault.secrets as s where s.name = 'project_url';
create temporary table requests_before as select count(*) as n from net.http_request_queue;
create temporary table refused_run as select * from embeddings.dispatch_embed_requests(force => true);
select is((select sent from refused_run), 0, 'with an http project URL the job sends nothing');
select is((select count(*) from net.http_request_queue), (select n from requests_before), 'and queues no request in pg_net');
select results_eq(
  $$ select outcome, error ~ '^Vault secret project_url is not an https URL \(http://abcd\.supabase\.co\)', error ~ 'hunter2'
     from embeddings.dispatches $$,
  $$ values ('not sent'::text, true, false) $$,
  'it is recorded as not sent, naming the secret, the scheme and the host, never the credentials'
);
select is((select reason from refused_run), (select error from embeddings.dispatches), 'and the run says the same');

-- The embed function's report says which kinds of key it accepts.
select vault.update_secret(s.id, 'http://127.0.0.1:54321') from vault.secrets as s where s.name = 'project_url';
delete from embeddings.dispatches;
select is((select sent from embeddings.dispatch_embed_requests(force => true)), 1, 'with a loopback URL it sends');
insert into net._http_response (id, status_code, content_type, content, timed_out)
  select request_id, 200, 'application/json',
         '{"ok": true, "written": 5, "acceptedKeys": ["secret key", "legacy service_role key"]}', false
  from embeddings.dispatches;
select embeddings.collect_dispatch_outcomes();
select is((select accepted_keys from embeddings.dispatches), array['secret key', 'legacy service_role key'],
  'the answer''s acceptedKeys are recorded with its outcome');

select * from finish();
rollback;
