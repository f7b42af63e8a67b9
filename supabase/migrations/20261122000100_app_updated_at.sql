-- =============================================================================================
-- APP: the updated_at trigger function its tables share
-- =============================================================================================
-- The app's migrations follow the engine's: each table in its own file with its RLS policies, its
-- content function beside it (granted to the roles that may search the table), its
-- register_target call and any keyword search setting.

/** Keeps updated_at current on the app's tables. */
create or replace function public.set_updated_at()
returns trigger
language plpgsql set search_path = ''
as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end;
$$;
comment on function public.set_updated_at() is
  'Trigger function: sets updated_at to now() on every update of the row''s content.';
-- A trigger needs no EXECUTE grant to fire; no client has a reason to call it.
revoke execute on function public.set_updated_at() from public, anon, authenticated;
