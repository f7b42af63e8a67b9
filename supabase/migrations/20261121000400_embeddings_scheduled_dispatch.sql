-- =============================================================================================
-- EMBEDDING ENGINE: the scheduled dispatch (pg_cron + pg_net + Vault)
-- =============================================================================================
-- The database keeps embeddings fresh by itself: a pg_cron job calls the embed function through
-- pg_net (project URL and service key from Vault, as Supabase's guide to scheduling Edge
-- Functions does), only when targets have queued rows, with as many parallel invocations as the
-- backlog needs up to a limit. Settings are one row of embeddings.dispatch_settings; every
-- invocation's outcome is a row of embeddings.dispatches.

-- pg_cron, pg_net and Vault come with every Supabase project (the local stack has stand-ins for
-- pg_net and Vault). A database without them (the embedded PGlite default) gets the tables and
-- functions all the same, without the cron job; the dispatch then says what it is missing.
do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron with schema pg_catalog;
  end if;
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net with schema extensions;
  end if;
end;
$$;

/** What the scheduled dispatch needs and this database lacks, as one sentence; null when nothing. */
create or replace function embeddings._dispatch_missing()
returns text
language sql stable set search_path = ''
as $$
  select 'the scheduled dispatch needs ' || pg_catalog.string_agg(need, ', ') ||
         ', which this database does not have (on Supabase: Database > Extensions); embed rows with the embed function or the command line instead'
  from (values
    (pg_catalog.to_regclass('cron.job') is null, 'pg_cron'),
    (pg_catalog.to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null, 'pg_net'),
    (pg_catalog.to_regclass('vault.decrypted_secrets') is null, 'Vault')
  ) as missing(absent, need)
  where absent
  having count(*) > 0
$$;
comment on function embeddings._dispatch_missing() is
  'Null when pg_cron, pg_net and Vault are all there; else one sentence naming the ones missing and what to do.';

-- =============================================================================================
-- Settings: one row, changed with SQL; the cron job follows every change
-- =============================================================================================

/** The dispatch's settings; the run options carry the names the embed function's body uses. */
create table embeddings.dispatch_settings (
  singleton boolean primary key default true check (singleton),
  enabled boolean not null default false,
  schedule text not null default '* * * * *',
  -- The run options each invocation is sent (batchSize, maxRows, timeBudgetMs, leaseSeconds).
  batch_size integer not null default 50
    check (embeddings._check_run_option('batch_size', batch_size) is not null),
  max_rows integer not null default 1000
    check (embeddings._check_run_option('max_rows', max_rows) is not null),
  time_budget_ms integer not null default 50000
    check (embeddings._check_run_option('time_budget_ms', time_budget_ms) is not null),
  lease_seconds integer not null default 300
    check (embeddings._check_run_option('lease_seconds', lease_seconds) is not null),
  max_parallel integer not null default 4 check (max_parallel between 1 and 100),
  request_timeout_ms integer not null default 120000,
  function_name text not null default 'embed' check (function_name ~ '^[A-Za-z0-9_-]+$'),
  project_url_secret text not null default 'project_url',
  -- The Vault secret holding the key the dispatch sends in the apikey header: a secret key
  -- (sb_secret_...), or a legacy service_role JWT.
  service_key_secret text not null default 'secret_key',
  updated_at timestamptz not null default now(),
  check (request_timeout_ms > time_budget_ms)
);
comment on table embeddings.dispatch_settings is
  'The scheduled dispatch''s settings, one row: on/off, cron schedule, the run options each invocation is sent (batch_size, max_rows, time_budget_ms, lease_seconds), parallel invocations, the HTTP timeout, the function name and the Vault secret names. Update it with SQL; the cron job follows. RLS on with no policy on purpose: only service_role reads it.';
alter table embeddings.dispatch_settings enable row level security;

/** One row per invocation sent (or not sent), with its answer once pg_net has it. */
create table embeddings.dispatches (
  id bigint generated always as identity primary key,
  request_id bigint,
  sent_at timestamptz not null default now(),
  queued_rows bigint not null,
  outcome text not null default 'in flight'
    check (outcome in ('in flight', 'succeeded', 'failed', 'timed out', 'not sent')),
  status_code integer,
  written integer,
  error text,
  finished_at timestamptz,
  -- The kinds of key the function said it accepts ("acceptedKeys" of its report), for doctor.
  accepted_keys text[],
  -- Targets the function skipped because its provider does not make their model: name -> reason.
  skipped jsonb,
  -- The function said it stopped with work left after writing rows ("more" of its report).
  more boolean
);
comment on table embeddings.dispatches is
  'Every invocation the schedule started: its pg_net request id, the claimable rows it was sent for, and, once the answer is in, the outcome (succeeded, failed, timed out), HTTP status, rows written, error, the kinds of key the function said it accepts, the targets it skipped as of another model (name -> reason) and whether it stopped with work left (more). Kept 7 days. RLS on with no policy on purpose: only service_role reads it.';
create index dispatches_in_flight_idx on embeddings.dispatches (request_id) where outcome = 'in flight';
alter table embeddings.dispatches enable row level security;

-- =============================================================================================
-- The cron job follows the settings
-- =============================================================================================

/** Trigger on the settings row: keeps updated_at and the cron job in step with it. */
create or replace function embeddings._sync_dispatch_job()
returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  job_id bigint;
begin
  new.updated_at := pg_catalog.now();
  if pg_catalog.to_regclass('cron.job') is null then
    if new.enabled then
      raise exception using errcode = '55000', message = embeddings._dispatch_missing();
    end if;
    return new;  -- no pg_cron here: the settings are kept, there is no job to follow them
  end if;
  -- cron.schedule updates the job of that name; an invalid schedule fails the settings change.
  begin
    execute 'select cron.schedule($1, $2, $3)' into job_id
      using 'embeddings-dispatch', new.schedule, 'select * from embeddings.dispatch_embed_requests()';
  exception when others then
    if new.schedule ~* '^\s*\d+\s+seconds?\s*$' then
      raise exception using errcode = '22023',
        message = format('schedule %L needs pg_cron 1.5 or later (Supabase runs 1.6); this database has pg_cron %s: use a cron expression such as ''* * * * *''',
          new.schedule, (select e.extversion from pg_catalog.pg_extension as e where e.extname = 'pg_cron'));
    end if;
    raise;
  end;
  execute 'select cron.alter_job($1, active => $2)' using job_id, new.enabled;
  return new;
end;
$$;
comment on function embeddings._sync_dispatch_job() is
  'Trigger on embeddings.dispatch_settings: stamps updated_at and schedules the cron job embeddings-dispatch with the configured schedule, active only when enabled. Sub-minute schedules (''10 seconds'') need pg_cron 1.5+; where it is older, the message says so. Without pg_cron it refuses to enable the dispatch, saying what is missing.';

create trigger dispatch_settings_sync_job
  before insert or update on embeddings.dispatch_settings
  for each row execute function embeddings._sync_dispatch_job();

-- The row, and with it the job: registered now, inactive until enabled is set.
insert into embeddings.dispatch_settings default values;

-- =============================================================================================
-- Reading answers
-- =============================================================================================

/** The text as jsonb, or null when it is not JSON. */
create or replace function embeddings._parse_json_or_null(content text)
returns jsonb
language plpgsql immutable set search_path = ''
as $$
begin
  return content::jsonb;
exception when others then
  return null;
end;
$$;
comment on function embeddings._parse_json_or_null(text) is
  'The text as jsonb, or null when it is not JSON (an HTML error page, say).';

/** The targets an answer reports skipped, name -> reason; null when it skipped none. */
create or replace function embeddings._skipped_targets(body jsonb)
returns jsonb
language sql immutable set search_path = ''
as $$
  select pg_catalog.jsonb_object_agg(t ->> 'target', t ->> 'skipped')
  from pg_catalog.jsonb_array_elements(
         case when pg_catalog.jsonb_typeof(body -> 'targets') = 'array' then body -> 'targets' else '[]' end) as t
  where pg_catalog.jsonb_typeof(t -> 'skipped') = 'string' and pg_catalog.jsonb_typeof(t -> 'target') = 'string'
$$;
comment on function embeddings._skipped_targets(jsonb) is
  'From an embed function answer, the targets it skipped because its provider does not make their model, as {target name: reason}; null when none (or the answer is not a report).';

/** Records the answers pg_net received; times out invocations that never answered. */
create or replace function embeddings.collect_dispatch_outcomes()
returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare
  settings embeddings.dispatch_settings;
  collected integer;
begin
  select * into settings from embeddings.dispatch_settings;
  with answered as (
    select d.id, r.status_code, r.timed_out, r.error_msg, r.created,
           embeddings._parse_json_or_null(r.content) as body, left(r.content, 300) as raw
    from embeddings.dispatches as d
    join net._http_response as r on r.id = d.request_id
    where d.outcome = 'in flight'
  )
  update embeddings.dispatches as d
    set outcome = case
          when a.timed_out then 'timed out'
          when a.status_code between 200 and 299 then 'succeeded'
          else 'failed' end,
        status_code = a.status_code,
        written = case when pg_catalog.jsonb_typeof(a.body -> 'written') = 'number'
                       then (a.body ->> 'written')::integer end,
        accepted_keys = case when pg_catalog.jsonb_typeof(a.body -> 'acceptedKeys') = 'array'
                             then array(select pg_catalog.jsonb_array_elements_text(a.body -> 'acceptedKeys')) end,
        skipped = embeddings._skipped_targets(a.body),
        more = case when pg_catalog.jsonb_typeof(a.body -> 'more') = 'boolean'
                    then (a.body ->> 'more')::boolean end,
        error = case when a.status_code between 200 and 299 and not coalesce(a.timed_out, false) then null
                     else coalesce(a.error_msg, a.body ->> 'error', a.body ->> 'message',
                                   pg_catalog.format('HTTP %s: %s', a.status_code, a.raw)) end,
        finished_at = a.created
    from answered as a
    where d.id = a.id;
  get diagnostics collected = row_count;

  -- pg_net keeps answers for hours and may lose a request on restart: an answer that never came
  -- must not hold a parallel slot forever.
  update embeddings.dispatches as d
    set outcome = 'timed out', finished_at = pg_catalog.now(),
        error = pg_catalog.format('no answer within %s ms (request %s)', settings.request_timeout_ms + 60000, d.request_id)
    where d.outcome = 'in flight'
      and d.sent_at < pg_catalog.now() - pg_catalog.make_interval(secs => (settings.request_timeout_ms + 60000) / 1000.0);

  delete from embeddings.dispatches as d where d.sent_at < pg_catalog.now() - interval '7 days';
  return collected;
end;
$$;
comment on function embeddings.collect_dispatch_outcomes() is
  'Records the answers pg_net received for invocations in flight (succeeded, failed with the error, timed out; the rows written, the kinds of key the function accepts, the targets it skipped and whether work is left, from its report) and times out those with no answer after the request timeout plus a minute. Returns how many answers it recorded.';

/**
 * Why the dispatch must not send its key to that project URL, or null. The key is a service
 * credential: over plain http anyone on the path reads it. Loopback and the Docker host (a local
 * stack, where the request never leaves the machine) may use http.
 */
create or replace function embeddings._project_url_problem(project_url text, secret_name text)
returns text
language plpgsql immutable set search_path = ''
as $$
declare
  -- Scheme and host only: the URL may carry credentials, which an error must not repeat.
  parts text[] := pg_catalog.regexp_match(project_url, '^([A-Za-z][A-Za-z0-9+.-]*)://(?:[^@/?#]*@)?(\[[^]/]*\]|[^:/?#]*)');
  scheme text := pg_catalog.lower(parts[1]);
  host text := pg_catalog.lower(parts[2]);
begin
  if scheme = 'https' and host <> '' then
    return null;
  end if;
  if scheme = 'http' and (host in ('localhost', '[::1]', 'host.docker.internal') or host ~ '^127(\.[0-9]{1,3}){3}$') then
    return null;
  end if;
  return format('Vault secret %s is not an https URL (%s): the dispatch sends the service key in its apikey header, so it sends nothing over plain http except to localhost, 127.0.0.1, [::1] or host.docker.internal; fix: select vault.update_secret(s.id, ''https://<project-ref>.supabase.co'') from vault.secrets as s where s.name = %L;',
    secret_name,
    case when parts is null then 'not a URL' else format('%s://%s', coalesce(scheme, ''), coalesce(host, '')) end,
    secret_name);
end;
$$;
comment on function embeddings._project_url_problem(text, text) is
  'Null when the dispatch may send its key to that project URL: https, or http to loopback (localhost, 127.0.0.0/8, [::1]) or host.docker.internal; else the reason and the fix, naming the Vault secret, the scheme and the host but never the rest of the URL (it may hold credentials).';

-- =============================================================================================
-- The job's command
-- =============================================================================================

/** Sends as many invocations as the backlog needs, up to max_parallel in flight; says why. */
create or replace function embeddings.dispatch_embed_requests(force boolean default false)
returns table (sent integer, reason text)
language plpgsql volatile security definer set search_path = ''
as $$
declare
  settings embeddings.dispatch_settings;
  claimable bigint;
  backfills_running integer;
  in_flight integer;
  wanted integer;
  project_url text;
  service_key text;
  missing_secret text;
  posted_request_id bigint;
  dispatch_id bigint;
begin
  sent := 0;
  reason := embeddings._dispatch_missing();
  if reason is not null then
    return next;
    return;
  end if;
  -- One dispatcher at a time: overlapping runs cannot both fill the same free slots.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('embeddings.dispatch_embed_requests'));
  perform embeddings.collect_dispatch_outcomes();

  select * into settings from embeddings.dispatch_settings;
  if not settings.enabled and not force then
    reason := 'the scheduled dispatch is disabled: turn it on with update embeddings.dispatch_settings set enabled = true; or run it once anyway with select * from embeddings.dispatch_embed_requests(force => true);';
    return next;
    return;
  end if;

  -- Deleted rows' books go even while no worker claims (notes a minute old: about once a minute).
  perform embeddings._sweep_deleted_rows(t.id, interval '1 minute') from embeddings.targets as t;
  -- With the keys bulk statements noted for the next claim to queue (those of rows deleted since
  -- among them: they only size the invocations), of registered targets only.
  select (select count(*) from embeddings._claimable_queue)
         + (select coalesce(sum(cardinality(s.row_keys)), 0) from embeddings.queued_key_sets as s
            where exists (select 1 from embeddings.targets as t where t.id = s.target_id))
    into claimable;
  select count(*) into backfills_running from embeddings.targets as t where not t.backfill_done;
  if claimable = 0 and backfills_running = 0 then
    reason := 'nothing to embed: no target has claimable rows or an unfinished backfill';
    return next;  -- an idle database sends nothing
    return;
  end if;

  select count(*) into in_flight from embeddings.dispatches as d where d.outcome = 'in flight';
  wanted := least(
    settings.max_parallel - in_flight,
    greatest(ceil(claimable::numeric / settings.max_rows)::integer, least(backfills_running, 1)));
  if wanted <= 0 then
    reason := format('%s invocations are still in flight (max_parallel %s) for %s claimable rows',
      in_flight, settings.max_parallel, claimable);
    return next;  -- runs never pile up beyond max_parallel
    return;
  end if;

  select s.decrypted_secret into project_url from vault.decrypted_secrets as s where s.name = settings.project_url_secret;
  select s.decrypted_secret into service_key from vault.decrypted_secrets as s where s.name = settings.service_key_secret;
  if project_url is null or service_key is null then
    missing_secret := case when project_url is null then settings.project_url_secret else settings.service_key_secret end;
    reason := format('Vault secret %s is missing: run select vault.create_secret(''<value>'', %L);',
      missing_secret, missing_secret);
    insert into embeddings.dispatches (queued_rows, outcome, error, finished_at)
      values (claimable, 'not sent', reason, pg_catalog.now());
    return next;
    return;
  end if;
  reason := embeddings._project_url_problem(project_url, settings.project_url_secret);
  if reason is not null then
    insert into embeddings.dispatches (queued_rows, outcome, error, finished_at)
      values (claimable, 'not sent', reason, pg_catalog.now());
    return next;
    return;
  end if;

  for i in 1 .. wanted loop
    -- The row first: the function is told its id, to ask for a follow-on when it stops with work left.
    insert into embeddings.dispatches (queued_rows) values (claimable) returning id into dispatch_id;
    posted_request_id := net.http_post(
      url => pg_catalog.rtrim(project_url, '/') || '/functions/v1/' || settings.function_name,
      body => pg_catalog.jsonb_build_object(
        'batchSize', settings.batch_size,
        'maxRows', settings.max_rows,
        'timeBudgetMs', settings.time_budget_ms,
        'leaseSeconds', settings.lease_seconds),
      headers => pg_catalog.jsonb_build_object(
        'Content-Type', 'application/json',
        'apikey', service_key,
        'x-embeddings-dispatch-id', dispatch_id::text),
      timeout_milliseconds => settings.request_timeout_ms);
    update embeddings.dispatches as d set request_id = posted_request_id
      where d.id = dispatch_id;
  end loop;
  sent := wanted;
  reason := format('sent %s invocations for %s claimable rows (%s already in flight)', wanted, claimable, in_flight);
  return next;
end;
$$;
comment on function embeddings.dispatch_embed_requests(boolean) is
  'The cron job''s command: records the answers of earlier invocations, then, when enabled (or forced) and rows are claimable, POSTs to the embed function through net.http_post as many times as the backlog needs (max_rows each), keeping at most max_parallel in flight. Returns how many it sent and why: disabled (with how to enable it or force one run), idle, slots full, a missing Vault secret, a project URL that is not https (loopback aside: the key would travel in clear text), or what it sent.';

/**
 * The follow-on: an invocation that stopped with work left is followed at once, not at the next
 * tick. pg_net has no completion callback, so the embed function asks for it after answering
 * (the dispatch id came in its x-embeddings-dispatch-id header), and this waits for its answer to
 * be recorded: only then is its slot free, so max_parallel holds for requests in flight. It sends
 * only when that answer said more (rows written, work left): a target that keeps failing writes
 * nothing and waits for the tick, so no chain of follow-ons loops on it.
 */
create or replace function embeddings.follow_on_dispatch(dispatch_id bigint)
returns table (sent integer, reason text, answered boolean)
language plpgsql volatile security definer set search_path = ''
as $$
declare
  recorded embeddings.dispatches;
begin
  perform embeddings.collect_dispatch_outcomes();
  select * into recorded from embeddings.dispatches as d where d.id = dispatch_id;
  sent := 0;
  answered := recorded.id is null or recorded.outcome <> 'in flight';
  if recorded.id is null then
    reason := pg_catalog.format('no dispatch %s in embeddings.dispatches: nothing to follow on', dispatch_id);
  elsif not answered then
    reason := pg_catalog.format('dispatch %s has no recorded answer yet: ask again once pg_net has it', dispatch_id);
  elsif recorded.outcome <> 'succeeded' or not coalesce(recorded.more, false) or coalesce(recorded.written, 0) = 0 then
    reason := pg_catalog.format('dispatch %s %s (written %s, more %s): no follow-on, the next tick decides',
      dispatch_id, recorded.outcome, coalesce(recorded.written::text, 'unknown'), coalesce(recorded.more::text, 'unknown'));
  else
    select r.sent, r.reason into sent, reason from embeddings.dispatch_embed_requests() as r;
  end if;
  return next;
end;
$$;
comment on function embeddings.follow_on_dispatch(bigint) is
  'Called by the embed function after answering a scheduled invocation that stopped with work left: once that answer is recorded (until then it says so, and the caller asks again), and when it succeeded, wrote rows and said more, runs embeddings.dispatch_embed_requests() at once, which sends what the backlog needs within max_parallel (nothing when the dispatch is disabled). Otherwise it sends nothing and says why: the next tick decides, so a target that keeps failing cannot loop. answered is false while that answer is not recorded yet.';

-- =============================================================================================
-- The scheduler in one row
-- =============================================================================================

/** On or off, the job, what is in flight, the last outcome and the failures of the last day. */
create or replace function embeddings.dispatch_status()
returns table (
  enabled boolean, schedule text, job_active boolean, max_parallel integer, max_rows integer,
  in_flight bigint, last_sent_at timestamptz, last_outcome text, last_error text,
  last_success_at timestamptz, failures_last_day bigint, missing text
)
language plpgsql stable security definer set search_path = ''
as $$
begin
  missing := embeddings._dispatch_missing();
  if pg_catalog.to_regclass('cron.job') is not null then
    execute 'select j.active from cron.job as j where j.jobname = $1' into job_active using 'embeddings-dispatch';
  end if;
  select s.enabled, s.schedule, s.max_parallel, s.max_rows
    into enabled, schedule, max_parallel, max_rows
    from embeddings.dispatch_settings as s;
  select count(*) into in_flight from embeddings.dispatches as d where d.outcome = 'in flight';
  select d.sent_at, d.outcome, d.error into last_sent_at, last_outcome, last_error
    from embeddings.dispatches as d order by d.id desc limit 1;
  select max(d.finished_at) into last_success_at from embeddings.dispatches as d where d.outcome = 'succeeded';
  select count(*) into failures_last_day from embeddings.dispatches as d
    where d.outcome in ('failed', 'timed out', 'not sent') and d.sent_at > pg_catalog.now() - interval '1 day';
  return next;
end;
$$;
comment on function embeddings.dispatch_status() is
  'The scheduled dispatch in one row: on or off, schedule, whether the cron job is active, invocations in flight, the last invocation''s outcome and error, the last success, the failures of the last day, and what the database lacks for it (pg_cron, pg_net, Vault), if anything.';

create view embeddings.dispatch_status with (security_invoker = true) as
  select * from embeddings.dispatch_status();
comment on view embeddings.dispatch_status is 'embeddings.dispatch_status() as a view.';
