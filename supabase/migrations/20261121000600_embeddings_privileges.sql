-- =============================================================================================
-- EMBEDDING ENGINE: privileges, the one place they are set
-- =============================================================================================
-- The rule: the embeddings schema belongs to service_role (the worker, the dispatch, operators)
-- and to the owner (postgres, which registers targets in migrations). PUBLIC, anon and
-- authenticated get nothing in it: no schema usage, no table, no function. service_role may read
-- every table and view and execute the API; the `_`-prefixed internals it may not call directly.
-- Vectors reach a target's table only through write_batch. Search is the exception that opens
-- to clients: public.search_embeddings and its plan (section at the end).

revoke all on schema embeddings from public, anon, authenticated;
grant usage on schema embeddings to service_role;

revoke all on all tables in schema embeddings from public, anon, authenticated, service_role;

-- Chunk tables: created at registration, each granted there to service_role only (see
-- embeddings._create_chunk_table); the schema is service_role's alone.
revoke all on schema embedding_chunks from public, anon, authenticated;
grant usage on schema embedding_chunks to service_role;
grant select on all tables in schema embeddings to service_role;
revoke select on embeddings._claimable_queue from service_role;

-- Functions are executable by PUBLIC when created; triggers need no EXECUTE grant to fire.
-- No per-schema default privilege can change that: `alter default privileges in schema embeddings
-- revoke execute on functions from public` is a no-op in PostgreSQL (a per-schema REVOKE only
-- undoes a per-schema GRANT; PUBLIC's EXECUTE is the global default), and a global one would change
-- every function the owner creates in the app's schemas too. So this file, which runs after every
-- other engine migration, revokes by hand, and the event trigger below is the engine schemas' own
-- default: a function created there later starts with no EXECUTE for PUBLIC. doctor
-- (engine_client_executable) and pgTAP 015 and 010 catch any grant nobody meant.

/** The engine schemas' default privilege: no EXECUTE for PUBLIC on a function created in them. */
create or replace function embeddings._revoke_public_execute()
returns event_trigger
language plpgsql security definer set search_path = ''
as $$
declare
  created record;
begin
  for created in
    select c.object_type, c.object_identity from pg_catalog.pg_event_trigger_ddl_commands() as c
    where c.object_type in ('function', 'procedure') and c.schema_name in ('embeddings', 'embedding_search')
  loop
    -- Only PUBLIC's default: the grants this file makes to the API roles stay when a later
    -- migration replaces a function (create or replace keeps its privileges).
    execute format('revoke execute on %s %s from public', created.object_type, created.object_identity);
  end loop;
end;
$$;
comment on function embeddings._revoke_public_execute() is
  'Event trigger function (ddl_command_end, CREATE FUNCTION / CREATE PROCEDURE): revokes EXECUTE from PUBLIC on a function or procedure created in the embeddings or embedding_search schema, which per-schema default privileges cannot do.';
drop event trigger if exists embeddings_revoke_public_execute;
create event trigger embeddings_revoke_public_execute on ddl_command_end
  when tag in ('CREATE FUNCTION', 'CREATE PROCEDURE')
  execute function embeddings._revoke_public_execute();
comment on event trigger embeddings_revoke_public_execute is
  'The engine schemas'' default privilege: a function created in embeddings or embedding_search starts with no EXECUTE for PUBLIC (see embeddings._revoke_public_execute).';

revoke execute on all functions in schema embeddings from public, anon, authenticated, service_role;
grant execute on function
  -- registry
  embeddings.default_model(),
  embeddings.register_target(regclass, name, regprocedure, name, text, integer, integer, text, jsonb),
  embeddings.unregister_target(bigint),
  embeddings.set_target_model(bigint, text, integer),
  embeddings.queue_backfill_chunk(bigint, integer),
  embeddings.set_target_options(bigint, boolean, boolean),
  embeddings.default_chunking(),
  embeddings.set_target_chunking(bigint, jsonb),
  embeddings.chunk_table(bigint),
  -- model changes
  embeddings.start_model_change(bigint, text, integer, name, text),
  embeddings.switch_model_change(bigint, boolean),
  embeddings.rollback_model_change(bigint),
  embeddings.finish_model_change(bigint),
  embeddings.model_change_status(),
  -- worker API
  embeddings.run_option_limits(),
  embeddings.claim_batch(bigint, integer, integer),
  embeddings.write_batch(bigint, uuid, text, text[], text[], text[]),
  embeddings.write_batch(bigint, uuid, text, jsonb),
  embeddings.write_chunks(bigint, uuid, text, text[], text[], integer[], integer[], integer[], text[], text[]),
  embeddings.write_chunks(bigint, uuid, text, jsonb),
  embeddings.fail_rows(bigint, uuid, jsonb),
  embeddings.release_batch(bigint, uuid, text[]),
  embeddings.requeue_dead(bigint, text[]),
  embeddings.requeue_target(bigint),
  -- scheduled dispatch
  embeddings.dispatch_embed_requests(boolean),
  embeddings.collect_dispatch_outcomes(),
  embeddings.follow_on_dispatch(bigint),
  embeddings.dispatch_status(),
  -- status, verify and doctor
  embeddings.status(bigint),
  embeddings.verify_checks(),
  embeddings.verify(bigint, boolean, integer),
  embeddings.doctor(),
  embeddings.estimate_backfill(bigint, numeric, integer),
  -- rate limits (the functions' connection)
  embeddings.take_rate_limit(text, integer, integer)
to service_role;

-- =============================================================================================
-- Search (embedding_search and public.search_embeddings): two functions for the API roles
-- =============================================================================================
-- Clients may execute public.search_embeddings (SECURITY INVOKER: it reads rows as its caller)
-- and embedding_search.plan_search (SECURITY DEFINER: it checks the caller and builds the SQL),
-- and nothing else in the engine's schemas: the `_` builders run only inside the plan, as its
-- owner, and take no grant. Supabase grants new functions in public to the API roles, and PUBLIC
-- may execute any function when it is created: both are revoked first.
revoke all on schema embedding_search from public;
grant usage on schema embedding_search to anon, authenticated, service_role;

revoke execute on all functions in schema embedding_search from public, anon, authenticated, service_role;
revoke execute on function public.search_embeddings(text, text, extensions.vector, text, integer, jsonb, double precision, double precision, double precision, integer, text)
  from public, anon, authenticated, service_role;
grant execute on function
  public.search_embeddings(text, text, extensions.vector, text, integer, jsonb, double precision, double precision, double precision, integer, text),
  embedding_search.plan_search(text, text, extensions.vector, text, integer, jsonb, double precision, double precision, double precision, integer, text)
to anon, authenticated, service_role;

-- Keyword settings are read only through embedding_search.targets. The views are read by the
-- search as its caller; they show nothing the caller could not read in the target tables:
-- current_vectors only records of rows the caller can read, targets only targets whose table the
-- caller may read.
revoke all on embedding_search.keyword_sources from public, anon, authenticated, service_role;
revoke all on embedding_search.targets, embedding_search.current_vectors from public, anon, authenticated, service_role;
grant select on embedding_search.targets, embedding_search.current_vectors to anon, authenticated, service_role;
-- The app's content functions are the app's to grant, beside each one: the search reads a row's
-- text as its caller, so a role that may search a target needs EXECUTE on its content function.
