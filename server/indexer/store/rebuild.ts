/**
 * Projections recomputed from the raw events alone (no RPC call): for the keys a rollback touched, or for a whole
 * chain (`npm run indexer:rebuild`). Rollbacks and rebuilds share this one recompute, so both agree with the
 * forward path by construction (the tests compare them).
 */
import type pg from "pg";
import { recomputeEditionProjection } from "./edition-projection.ts";
import { ZERO_ADDRESS } from "./model.ts";
import { inTransaction, lockChain } from "./sql.ts";

/**
 * Recomputes balances and held-since from the transfers (the `token_transfer` view of the raw events) for the keys in the temporary table `affected_key`
 * (or for every key when `all`), and supply and holders for their tokens. Shared by rollbacks and rebuilds, so
 * both agree with the forward path by construction (the tests compare them).
 */
export async function recomputeProjections(tx: pg.PoolClient, chainId: number, all: boolean) {
  const keyFilter = (owner: string) =>
    all
      ? ""
      : `AND (tt.collection, tt.token_id, tt.${owner}) IN (SELECT collection, token_id, owner FROM affected_key)`;
  await tx.query(
    all
      ? "DELETE FROM token_balance WHERE chain_id = $1"
      : `DELETE FROM token_balance b USING affected_key k
         WHERE b.chain_id = $1 AND b.collection = k.collection AND b.token_id = k.token_id AND b.owner = k.owner`,
    [chainId],
  );
  await tx.query(
    `WITH moves AS (
       SELECT tt.collection, tt.token_id, tt.to_address AS owner, tt.amount AS delta, tt.block_number, tt.block_time,
              tt.log_index, tt.batch_index
       FROM token_transfer tt WHERE tt.chain_id = $1 AND tt.from_address <> tt.to_address AND tt.to_address <> $2 ${keyFilter("to_address")}
       UNION ALL
       SELECT tt.collection, tt.token_id, tt.from_address, -tt.amount, tt.block_number, tt.block_time, tt.log_index, tt.batch_index
       FROM token_transfer tt WHERE tt.chain_id = $1 AND tt.from_address <> tt.to_address AND tt.from_address <> $2 ${keyFilter("from_address")}
     ), running AS (
       SELECT collection, token_id, owner, block_number, block_time,
              row_number() OVER w AS ord,
              sum(delta) OVER (w ROWS UNBOUNDED PRECEDING) AS bal
       FROM moves
       WINDOW w AS (PARTITION BY collection, token_id, owner ORDER BY block_number, log_index, batch_index)
     ), summary AS (
       SELECT collection, token_id, owner, (array_agg(bal ORDER BY ord DESC))[1] AS amount,
              coalesce(max(ord) FILTER (WHERE bal <= 0), 0) AS last_empty
       FROM running GROUP BY collection, token_id, owner
     )
     INSERT INTO token_balance (chain_id, collection, token_id, owner, amount, held_since_block, held_since_time)
     SELECT $1, s.collection, s.token_id, s.owner, s.amount, r.block_number, r.block_time
     FROM summary s
     LEFT JOIN running r ON s.amount > 0 AND r.collection = s.collection AND r.token_id = s.token_id AND r.owner = s.owner
                        AND r.ord = s.last_empty + 1
     WHERE s.amount <> 0`,
    [chainId, ZERO_ADDRESS],
  );
  const tokenFilter = all
    ? ""
    : "AND (collection, token_id) IN (SELECT DISTINCT collection, token_id FROM affected_key)";
  await tx.query(`DELETE FROM token_supply WHERE chain_id = $1 ${tokenFilter}`, [chainId]);
  await tx.query(
    `WITH flows AS (
       SELECT collection, token_id,
              coalesce(sum(amount) FILTER (WHERE from_address = $2), 0) AS minted,
              coalesce(sum(amount) FILTER (WHERE to_address = $2), 0) AS burned
       FROM token_transfer WHERE chain_id = $1 ${tokenFilter} GROUP BY collection, token_id
     ), holders AS (
       SELECT collection, token_id, count(*) FILTER (WHERE amount > 0)::int AS holders
       FROM token_balance WHERE chain_id = $1 ${tokenFilter} GROUP BY collection, token_id
     )
     INSERT INTO token_supply (chain_id, collection, token_id, minted, burned, supply, holders)
     SELECT $1, f.collection, f.token_id, f.minted, f.burned, f.minted - f.burned, coalesce(h.holders, 0)
     FROM flows f LEFT JOIN holders h USING (collection, token_id)`,
    [chainId, ZERO_ADDRESS],
  );
}

/**
 * Rebuilds every projection of `chainId` (collections, transfers, balances, held-since, supply, editions) from the raw events
 * alone: no RPC call. The checkpoint and the raw events are unchanged.
 */
export async function rebuildProjections(db: pg.Pool, chainId: number): Promise<{ events: number; transfers: number }> {
  return inTransaction(db, async (tx) => {
    await lockChain(tx, chainId);
    await tx.query("DELETE FROM collection WHERE chain_id = $1", [chainId]);
    await tx.query(
      `INSERT INTO collection (chain_id, address, owner, contract_uri, created_block, created_tx)
       SELECT chain_id, args->>'collection', args->>'owner', coalesce(args->>'contractURI', ''), block_number, tx_hash
       FROM chain_event WHERE chain_id = $1 AND name = 'CollectionCreated' ON CONFLICT DO NOTHING`,
      [chainId],
    );
    const transfers = await tx.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM token_transfer WHERE chain_id = $1",
      [chainId],
    );
    await recomputeProjections(tx, chainId, true);
    await recomputeEditionProjection(tx, chainId, "all");
    const events = await tx.query<{ n: string }>("SELECT count(*)::text AS n FROM chain_event WHERE chain_id = $1", [
      chainId,
    ]);
    return { events: Number(events.rows[0]!.n), transfers: Number(transfers.rows[0]!.n) };
  });
}
