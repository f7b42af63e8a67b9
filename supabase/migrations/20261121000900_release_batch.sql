-- A worker that stops early (its provider is down, its time is up) hands its leased rows back
-- at once, without counting an attempt against them: they did not fail, they were not tried.

create or replace function embeddings.release_batch(target_id bigint, lease_token uuid, row_keys text[] default null)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  target embeddings.targets := embeddings.target_by_id(target_id);
  released integer;
begin
  update embeddings.queue as q
    set lease_token = null, leased_until = null
    where q.target_id = target.id and q.lease_token = release_batch.lease_token
      and (row_keys is null or q.row_key = any(row_keys));
  get diagnostics released = row_count;
  return released;
end;
$$;
comment on function embeddings.release_batch(bigint, uuid, text[]) is
  'Hands rows held by lease_token back to the queue (all of them, or the given keys) without counting an attempt, so another worker can claim them at once. Returns how many.';

revoke execute on function embeddings.release_batch(bigint, uuid, text[]) from public, anon, authenticated;
grant execute on function embeddings.release_batch(bigint, uuid, text[]) to service_role;
