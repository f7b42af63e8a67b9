-- =============================================================================================
-- EMBEDDING ENGINE: privileges, the one place they are set
-- =============================================================================================
-- The rule: the embeddings schema belongs to service_role (the worker, the dispatch, operators)
-- and to the owner (postgres, which registers targets in migrations). PUBLIC, anon and
-- authenticated get nothing in it: no schema usage, no table, no function. service_role may read
-- every table and view and execute the API; the `_`-prefixed internals it may not call directly.
-- Vectors reach a target's table only through write_batch.

revoke all on schema embeddings from public, anon, authenticated;
grant usage on schema embeddings to service_role;

revoke all on all tables in schema embeddings from public, anon, authenticated, service_role;
grant select on all tables in schema embeddings to service_role;
revoke select on embeddings._claimable_queue from service_role;

-- Functions are executable by PUBLIC when created; triggers need no EXECUTE grant to fire.
revoke execute on all functions in schema embeddings from public, anon, authenticated, service_role;
grant execute on function
  -- registry
  embeddings.default_model(),
  embeddings.register_target(regclass, name, regprocedure, name, text, integer, integer, text),
  embeddings.unregister_target(bigint),
  embeddings.set_target_model(bigint, text, integer),
  embeddings.queue_backfill_chunk(bigint, integer),
  embeddings.set_target_options(bigint, boolean, boolean),
  -- worker API
  embeddings.run_option_limits(),
  embeddings.claim_batch(bigint, integer, integer),
  embeddings.write_batch(bigint, uuid, text, text[], text[], text[]),
  embeddings.write_batch(bigint, uuid, text, jsonb),
  embeddings.fail_rows(bigint, uuid, jsonb),
  embeddings.release_batch(bigint, uuid, text[]),
  embeddings.requeue_dead(bigint, text[]),
  embeddings.requeue_target(bigint),
  -- scheduled dispatch
  embeddings.dispatch_embed_requests(boolean),
  embeddings.collect_dispatch_outcomes(),
  embeddings.dispatch_status(),
  -- status, verify and doctor
  embeddings.status(bigint),
  embeddings.verify_checks(),
  embeddings.verify(bigint, boolean, integer),
  embeddings.doctor()
to service_role;
