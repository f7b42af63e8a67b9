-- music_knowledge becomes an embedding target like any other: the queue, leases, stale checks and
-- status replace the table-specific API of the first release, which is dropped here.

-- =============================================================================================
-- The table-specific API gives way to claim_batch / write_batch / target_status
-- =============================================================================================
drop function if exists embeddings.pending_music_knowledge(uuid, integer);
drop function if exists embeddings.write_music_knowledge_embeddings(jsonb);
drop function if exists embeddings.music_knowledge_embedding_counts();
-- The queue now knows which rows wait for an embedding.
drop index if exists public.music_knowledge_pending_idx;

comment on column public.music_knowledge.embedding is
  'Embedding of embeddings.music_knowledge_content(row), written only by the embedding worker through embeddings.write_batch.';

-- =============================================================================================
-- Register it (gte-small, Supabase's built-in model; see embeddings.set_target_model)
-- =============================================================================================
select embeddings.register_target(
  'public.music_knowledge', 'id', 'embeddings.music_knowledge_content(public.music_knowledge)',
  'embedding', 'gte-small', 384);
