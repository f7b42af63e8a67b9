-- =============================================================================================
-- EMBEDDING ENGINE: extensions and the engine's schema
-- =============================================================================================
-- The engine is the files named 20261121*_embeddings_*.sql. Copy them, and nothing else, to give
-- any Supabase project the registry, queue, worker API, status and scheduled dispatch; then
-- register your own tables with embeddings.register_target (see the app's migrations for examples).

-- pgvector lives in `extensions`, as Supabase recommends (the advisor flags extensions in public).
-- Older projects may have it in public: then say exactly what to change, before anything else.
create schema if not exists extensions;
do $$
declare
  installed_in name;
begin
  select n.nspname into installed_in
    from pg_catalog.pg_extension as e join pg_catalog.pg_namespace as n on n.oid = e.extnamespace
    where e.extname = 'vector';
  if installed_in is not null and installed_in <> 'extensions' then
    raise exception using errcode = '55000',
      message = format('the vector extension is installed in schema %I, and the embedding kit expects it in extensions (as Supabase recommends)', installed_in),
      hint = 'Move it first: alter extension vector set schema extensions; (its types, operators and indexes move with it; columns keep their data), then apply the migrations again.';
  end if;
end;
$$;
create extension if not exists vector with schema extensions;

-- The engine's own schema. It is not exposed through the REST API; who may use what in it is
-- stated once, in 20261121000600_embeddings_privileges.sql.
create schema if not exists embeddings;
comment on schema embeddings is
  'Embedding engine: the registry of targets, the queue, the service-role API that claims rows and writes verified vectors, status, and the scheduled dispatch.';

-- Chunked targets' chunk tables, one per target (embedding_chunks.<target name>), created and
-- dropped by the registry. Not exposed through the REST API: service_role only, and search reads
-- them through the parent rows' RLS.
create schema if not exists embedding_chunks;
comment on schema embedding_chunks is
  'Embedding engine: one chunk table per chunked target (embedding_chunks.<target name>), holding each row''s chunks and their vectors; created by embeddings.register_target, dropped by embeddings.unregister_target. service_role only.';

/**
 * The model targets are registered with unless a migration says otherwise: gte-small, Supabase's
 * built-in model, or the database setting embeddings.default_model where one is set (the local
 * stack sets its offline model there, because gte-small runs only on Supabase).
 */
create or replace function embeddings.default_model()
returns text
language sql stable set search_path = ''
as $$
  select coalesce(nullif(pg_catalog.current_setting('embeddings.default_model', true), ''), 'gte-small')
$$;
comment on function embeddings.default_model() is
  'The model to register targets with: the database setting embeddings.default_model when set, else gte-small (Supabase''s built-in model).';
