// Hands back the rows a killed owner's workers held: every worker of an embedded database talks through its owner's server, so when the owner is gone, so are they.
import type { PGlite } from "./pglite_loader.ts";

/** Releases every live lease through the engine's own release_batch (no attempt counted); returns how many rows. */
export async function releaseOrphanedLeases(db: PGlite): Promise<number> {
  return await db.transaction(async (tx) => {
    await tx.exec("set local role service_role");
    const { rows } = await tx.query<{ released: number }>(`
      select coalesce(sum(embeddings.release_batch(leases.target_id, leases.lease_token)), 0)::int
        as released
      from (select distinct q.target_id, q.lease_token from embeddings.queue as q
            where q.lease_token is not null) as leases`);
    return rows[0]?.released ?? 0;
  });
}
