-- =============================================================================================
-- EMBEDDING ENGINE: per-caller rate limits, shared by every instance of the functions
-- =============================================================================================
-- The search function is public: each request can cost a provider call and a vector scan. Its
-- instances share nothing but the database, so the count of a caller's requests lives here: one
-- row per caller and window (fixed windows), taken in one statement that is safe under
-- concurrency. Only service_role (the functions' connection) and the owner use it.

/** One caller's current window: when it ends and how many requests it has seen. */
create unlogged table if not exists embeddings.rate_limit_windows (
  -- The function's key of the caller: user:<sub> for a user's JWT, ip:<address> for anon.
  caller_key text primary key,
  window_ends_at timestamptz not null,
  -- Requests seen in the window, refused ones included (at most max_requests + 1).
  requests integer not null
);
-- Windows that have ended are deleted a few at a time, oldest first.
create index if not exists rate_limit_windows_ends_idx on embeddings.rate_limit_windows (window_ends_at);
comment on table embeddings.rate_limit_windows is
  'Per-caller request counts of embeddings.take_rate_limit: each caller''s current fixed window (when it ends, requests seen). Unlogged on purpose: after a crash the counts start again, which only lets a caller through early, and the counting writes no WAL. RLS on with no policy: only service_role, through take_rate_limit, and the owner use it.';
alter table embeddings.rate_limit_windows enable row level security;

/**
 * Takes one request from the caller's allowance: 0 when it is allowed (and counted), else the
 * whole seconds until the caller's window ends and it may try again (at least 1).
 */
create or replace function embeddings.take_rate_limit(
  caller_key text,
  max_requests integer,
  window_seconds integer
)
returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare
  now_at constant timestamptz := pg_catalog.clock_timestamp();
  ends_at timestamptz;
  seen integer;
begin
  if caller_key is null or caller_key = '' or max_requests is null or max_requests < 1
     or window_seconds is null or window_seconds < 1 then
    raise exception using errcode = '22023',
      message = pg_catalog.format('take_rate_limit needs a caller key, max_requests >= 1 and window_seconds >= 1, got %L, %s, %s',
        caller_key, coalesce(max_requests::text, 'null'), coalesce(window_seconds::text, 'null'));
  end if;
  -- One statement: concurrent requests of one caller queue on its row, each counted once.
  insert into embeddings.rate_limit_windows as w (caller_key, window_ends_at, requests)
    values (take_rate_limit.caller_key, now_at + pg_catalog.make_interval(secs => window_seconds), 1)
    on conflict on constraint rate_limit_windows_pkey do update
      set window_ends_at = case when w.window_ends_at <= now_at then excluded.window_ends_at else w.window_ends_at end,
          requests = case when w.window_ends_at <= now_at then 1
                          else least(w.requests + 1, take_rate_limit.max_requests + 1) end
    returning w.window_ends_at, w.requests into ends_at, seen;
  if seen = 1 then
    -- A new window (at most once per caller and window): sweep a few that have ended, so the
    -- table holds about the callers of the last window. Rows other callers hold are skipped.
    delete from embeddings.rate_limit_windows as old
      where old.caller_key in (
        select o.caller_key from embeddings.rate_limit_windows as o
        where o.window_ends_at < now_at
        order by o.window_ends_at
        limit 20
        for update skip locked);
  end if;
  if seen <= max_requests then
    return 0;
  end if;
  return greatest(1, ceil(extract(epoch from ends_at - now_at))::integer);
end;
$$;
comment on function embeddings.take_rate_limit(text, integer, integer) is
  'Counts one request of caller_key against max_requests per window_seconds (fixed windows, shared by every instance of the functions): 0 when it is allowed, else the whole seconds until the window ends (>= 1), for a 429''s Retry-After. Refused requests are not allowed through later in the same window. Safe under concurrency (one insert ... on conflict do update per request); a new window deletes up to 20 windows that have ended. 22023 for a missing key or a limit below 1. service_role only.';
