-- 160 Rate limits (embeddings.take_rate_limit): allowed requests answer 0 and are counted; over
-- the limit the answer is the seconds until the window ends; a window that has passed starts
-- again; callers are counted apart; windows that ended are swept; only service_role may call it.
begin;
\ir ../fixtures/test_helpers.psql
create extension if not exists pgtap with schema extensions;
select plan(12);

delete from embeddings.rate_limit_windows;

/** n calls of take_rate_limit for one caller, as service_role (the functions' connection): their answers in order. */
create function pg_temp.take(caller_key text, n integer, max_requests integer, window_seconds integer)
returns integer[]
language plpgsql set search_path = ''
as $$
declare
  answers integer[] := array[]::integer[];
begin
  perform tests.authenticate_as_service_role();
  for i in 1 .. n loop
    answers := answers || embeddings.take_rate_limit(caller_key, max_requests, window_seconds);
  end loop;
  perform tests.clear_authentication();
  return answers;
end;
$$;

select is(pg_temp.take('ip:203.0.113.7', 3, 3, 60), array[0, 0, 0], 'three requests within a limit of 3 a minute are allowed');
select ok(
  (select a between 1 and 60 from unnest(pg_temp.take('ip:203.0.113.7', 1, 3, 60)) as a),
  'the fourth is refused with the seconds until the window ends (1 to 60)'
);
select ok(
  (select bool_and(a between 1 and 60) from unnest(pg_temp.take('ip:203.0.113.7', 5, 3, 60)) as a),
  'and so is every further one in the window: a refused request does not free a place'
);
select is(pg_temp.take('ip:198.51.100.2', 2, 3, 60), array[0, 0], 'another caller has its own count');
select is(pg_temp.take('user:aaaaaaaa-0000-4000-8000-000000000160', 1, 1, 60), array[0], 'a user''s key too');
select is(
  (select requests from embeddings.rate_limit_windows where caller_key = 'ip:203.0.113.7'), 4,
  'the count stops one past the limit'
);

-- The window passes (moved into the past rather than waited for).
update embeddings.rate_limit_windows set window_ends_at = now() - interval '1 second'
  where caller_key = 'ip:203.0.113.7';
select is(pg_temp.take('ip:203.0.113.7', 3, 3, 60), array[0, 0, 0], 'once the window has passed, the caller starts again');
select is(
  (select requests from embeddings.rate_limit_windows where caller_key = 'ip:203.0.113.7'), 3,
  'counting from 1 in the new window'
);

-- Windows long over are swept when a window starts.
insert into embeddings.rate_limit_windows (caller_key, window_ends_at, requests)
  select 'ip:192.0.2.' || i, now() - interval '1 hour', 1 from generate_series(1, 30) as i;
select is(pg_temp.take('ip:203.0.113.99', 1, 3, 60), array[0], 'a new caller is allowed');
select is(
  (select count(*)::integer from embeddings.rate_limit_windows where window_ends_at < now()), 10,
  'and its new window swept 20 of the 30 windows that had ended'
);

select tests.authenticate_as_service_role();
select throws_ok(
  $$ select embeddings.take_rate_limit('ip:203.0.113.7', 0, 60) $$,
  '22023', null,
  'a limit below 1 is refused'
);
select tests.clear_authentication();
set local role anon;
select throws_ok(
  $$ select embeddings.take_rate_limit('ip:203.0.113.7', 3, 60) $$,
  '42501', null,
  'anon may not take from a limit itself'
);
select tests.clear_authentication();

select * from finish();
rollback;
