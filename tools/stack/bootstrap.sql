-- LOCAL STAND-IN for the platform a Supabase project starts with. Never a migration.
--
-- A hosted project (or `supabase start`) already has these roles, schemas, grants and auth
-- functions before any migration runs. Plain PostgreSQL has none of them, so the local stack
-- applies this file first. It recreates only what our migrations and tests rely on, with the
-- same names and semantics as Supabase's own definitions. Safe to run more than once.

-- ---------------------------------------------------------------------------------------------
-- Roles: the API roles PostgREST switches to, and the login role it connects as.
-- ---------------------------------------------------------------------------------------------
do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;

alter role postgres with password 'postgres';
alter role authenticator with password 'postgres';
grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;

-- ---------------------------------------------------------------------------------------------
-- Schemas: extensions live in `extensions`; Supabase Auth's helpers live in `auth`.
-- ---------------------------------------------------------------------------------------------
create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
alter default privileges in schema extensions grant execute on functions to public;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

alter database postgres set search_path to "$user", public, extensions;

-- ---------------------------------------------------------------------------------------------
-- Supabase's default privileges on `public`: every new table, function and sequence is granted
-- to the API roles, so row-level security is what actually protects the data (as on Supabase).
-- ---------------------------------------------------------------------------------------------
grant usage on schema public to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Supabase Auth stand-ins: the users table (only the columns our schema references) and the
-- functions RLS policies call. They read the claims PostgREST puts in `request.jwt.claims`.
-- ---------------------------------------------------------------------------------------------
create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text unique,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
comment on table auth.users is 'LOCAL STAND-IN for Supabase Auth''s users table (id and email only).';

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;
comment on function auth.jwt() is 'LOCAL STAND-IN: the JWT claims of the current API request.';

create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
comment on function auth.uid() is 'LOCAL STAND-IN: the user id (sub claim) of the current API request.';

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
comment on function auth.role() is 'LOCAL STAND-IN: the role claim of the current API request.';

grant execute on function auth.jwt(), auth.uid(), auth.role() to anon, authenticated, service_role;
grant select on auth.users to service_role;
