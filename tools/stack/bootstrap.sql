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

create or replace function auth.uid() returns uuid language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''), auth.jwt() ->> 'sub')::uuid $$;
comment on function auth.uid() is 'LOCAL STAND-IN: the user id (sub claim) of the current API request.';

create or replace function auth.role() returns text language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''), auth.jwt() ->> 'role') $$;
comment on function auth.role() is 'LOCAL STAND-IN: the role claim of the current API request.';

grant execute on function auth.jwt(), auth.uid(), auth.role() to anon, authenticated, service_role;
grant select on auth.users to service_role;

-- =============================================================================================
-- pg_net stand-in: the parts the scheduled dispatch uses, with pg_net's names and signature.
-- net.http_post only queues the request (sent after commit, as pg_net does); the stack's
-- tools/stack/pg_net_worker.ts sends queued requests and records responses in net._http_response.
-- =============================================================================================
create schema if not exists net;
comment on schema net is 'LOCAL STAND-IN for the pg_net extension (Supabase has the real one).';

create table if not exists net.http_request_queue (
  id bigserial primary key,
  method text not null check (method in ('GET', 'POST', 'DELETE')),
  url text not null,
  headers jsonb not null,
  body bytea,
  timeout_milliseconds integer not null
);
comment on table net.http_request_queue is
  'LOCAL STAND-IN: requests waiting for the pg_net worker, as pg_net''s own queue table.';

create unlogged table if not exists net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
comment on table net._http_response is
  'LOCAL STAND-IN: responses by request id, as pg_net records them (kept 6 hours).';

create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  request_id bigint;
  query text;
begin
  if coalesce(headers ->> 'Content-Type', headers ->> 'Content-type', headers ->> 'content-type', 'application/json')
     <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;
  select string_agg(pg_catalog.format('%s=%s', p.key, p.value), '&') into query
    from jsonb_each_text(coalesce(params, '{}'::jsonb)) as p;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
    values ('POST', url || coalesce('?' || query, ''), coalesce(headers, '{}'::jsonb),
            pg_catalog.convert_to(coalesce(body, '{}'::jsonb)::text, 'UTF8'), timeout_milliseconds)
    returning id into request_id;
  return request_id;
end;
$$;
comment on function net.http_post(text, jsonb, jsonb, jsonb, integer) is
  'LOCAL STAND-IN for pg_net''s net.http_post: queues a POST and returns its request id; the response appears in net._http_response.';

revoke all on schema net from public;
revoke execute on function net.http_post(text, jsonb, jsonb, jsonb, integer) from public;
grant usage on schema net to postgres, service_role;
grant execute on function net.http_post(text, jsonb, jsonb, jsonb, integer) to postgres, service_role;
grant select on net._http_response to postgres, service_role;

-- =============================================================================================
-- Supabase Vault stand-in: vault.create_secret / update_secret and vault.decrypted_secrets.
-- Secrets are stored in plain text here; real Vault encrypts them at rest.
-- =============================================================================================
create schema if not exists vault;
comment on schema vault is 'LOCAL STAND-IN for Supabase Vault (secrets are NOT encrypted here).';

create table if not exists vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index if not exists secrets_name_idx on vault.secrets (name) where name is not null;
comment on table vault.secrets is 'LOCAL STAND-IN: Vault''s secrets table, unencrypted.';

create or replace view vault.decrypted_secrets as
  select id, name, description, secret, secret as decrypted_secret, key_id, nonce, created_at, updated_at
  from vault.secrets;
comment on view vault.decrypted_secrets is 'LOCAL STAND-IN: Vault''s view of decrypted secrets.';

create or replace function vault.create_secret(
  new_secret text,
  new_name text default null,
  new_description text default '',
  new_key_id uuid default null
)
returns uuid
language sql
volatile
security definer
set search_path = ''
as $$
  insert into vault.secrets (secret, name, description, key_id)
    values (new_secret, new_name, coalesce(new_description, ''), new_key_id)
    returning id
$$;
comment on function vault.create_secret(text, text, text, uuid) is
  'LOCAL STAND-IN for vault.create_secret: stores a secret under a unique name and returns its id.';

create or replace function vault.update_secret(
  secret_id uuid,
  new_secret text default null,
  new_name text default null,
  new_description text default null,
  new_key_id uuid default null
)
returns void
language sql
volatile
security definer
set search_path = ''
as $$
  update vault.secrets as s
    set secret = coalesce(new_secret, s.secret), name = coalesce(new_name, s.name),
        description = coalesce(new_description, s.description),
        key_id = coalesce(new_key_id, s.key_id), updated_at = now()
    where s.id = secret_id
$$;
comment on function vault.update_secret(uuid, text, text, text, uuid) is
  'LOCAL STAND-IN for vault.update_secret: changes a secret''s value, name or description.';

revoke all on schema vault from public;
revoke all on all tables in schema vault from public;
revoke execute on function vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid) from public;
grant usage on schema vault to postgres, service_role;
