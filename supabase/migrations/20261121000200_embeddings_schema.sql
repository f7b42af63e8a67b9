-- The engine's own schema: the content definitions and the SECURITY DEFINER API the embed
-- function calls. It is not exposed through the REST API, and only service_role may use it.

create schema if not exists embeddings;
comment on schema embeddings is
  'Embedding engine: what text each row embeds, and the service-role API that reads pending rows and writes verified embeddings.';

revoke all on schema embeddings from public;
grant usage on schema embeddings to service_role;

-- Keeps updated_at current on tables that have one.
create or replace function embeddings.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end;
$$;
comment on function embeddings.set_updated_at() is
  'Trigger function: sets updated_at to now() on every update of the row''s content.';

-- Functions are executable by PUBLIC when created; triggers need no EXECUTE grant to fire.
revoke execute on function embeddings.set_updated_at() from public, anon, authenticated;
