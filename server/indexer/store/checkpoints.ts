/**
 * The checkpoint and the stored headers behind it: reading them, rolling back to a common ancestor after a reorg (or
 * an operator's rewind), pruning final headers, and forgetting a chain. Guarantees: a rollback removes everything
 * above the ancestor, recomputes what it touched and moves the checkpoint back in one transaction.
 */
import type pg from "pg";
import type { BlockHeader, Checkpoint } from "./model.ts";
import { ZERO_ADDRESS } from "./model.ts";
import { readConfigKeysAbove, recomputeEditionProjection } from "./edition-projection.ts";
import { appendRetractedFacts } from "./fact-feed.ts";
import { recomputeProjections } from "./rebuild.ts";
import { CHECKPOINT_NOTICE, inTransaction, lockChain, type Queryable } from "./sql.ts";

export async function readCheckpoint(db: Queryable, chainId: number): Promise<Checkpoint | null> {
  const { rows } = await db.query<{ block_number: string; block_hash: string }>(
    "SELECT block_number, block_hash FROM indexer_checkpoint WHERE chain_id = $1",
    [chainId],
  );
  const row = rows[0];
  return row ? { blockNumber: BigInt(row.block_number), blockHash: row.block_hash } : null;
}

/** Stored headers from newest to oldest, for walking back to a common ancestor after a reorg. */
export async function readRecentBlocks(db: Queryable, chainId: number, limit: number): Promise<BlockHeader[]> {
  const { rows } = await db.query<{ number: string; hash: string; parent_hash: string; ts: string }>(
    `SELECT number, hash, parent_hash, extract(epoch FROM timestamp)::bigint AS ts FROM indexed_block
     WHERE chain_id = $1 ORDER BY number DESC LIMIT $2`,
    [chainId, limit],
  );
  return rows.map((r) => ({
    number: BigInt(r.number),
    hash: r.hash,
    parentHash: r.parent_hash,
    timestamp: BigInt(r.ts),
  }));
}

/**
 * Undoes everything indexed above `ancestor` (a reorg's common ancestor, or an operator's rewind): removes the
 * raw events, transfers, collections and headers above it, recomputes the projections they touched, appends the
 * removed events to the facts feed as retracted, and moves the checkpoint back, in one transaction.
 */
export async function rollbackTo(
  db: pg.Pool,
  chainId: number,
  ancestor: { number: bigint; hash: string },
): Promise<{ eventsRemoved: number; transfersRemoved: number }> {
  return inTransaction(db, async (tx) => {
    await lockChain(tx, chainId);
    const above = ancestor.number.toString();
    await tx.query(`CREATE TEMP TABLE affected_key (collection text, token_id numeric, owner text) ON COMMIT DROP`);
    // The balances the removed transfers touched, read before their raw events go.
    const removed = await tx.query(
      `INSERT INTO affected_key SELECT DISTINCT collection, token_id, owner FROM (
         SELECT collection, token_id, from_address AS owner FROM token_transfer WHERE chain_id = $1 AND block_number > $2
         UNION ALL SELECT collection, token_id, to_address FROM token_transfer WHERE chain_id = $1 AND block_number > $2
       ) k WHERE owner <> $3`,
      [chainId, above, ZERO_ADDRESS],
    );
    const transfers = await tx.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM token_transfer WHERE chain_id = $1 AND block_number > $2",
      [chainId, above],
    );
    // The editions and collections whose configuration events are about to go.
    const config = await readConfigKeysAbove(tx, chainId, above);
    // The facts feed hears of every event that goes (server/facts' consumers undo what they derived from them).
    await appendRetractedFacts(tx, chainId, above);
    const events = await tx.query("DELETE FROM chain_event WHERE chain_id = $1 AND block_number > $2", [
      chainId,
      above,
    ]);
    if ((removed.rowCount ?? 0) > 0 || (events.rowCount ?? 0) > 0) await recomputeProjections(tx, chainId, false);
    await tx.query("DELETE FROM collection WHERE chain_id = $1 AND created_block > $2", [chainId, above]);
    await recomputeEditionProjection(tx, chainId, config);
    await tx.query("DELETE FROM event_block WHERE chain_id = $1 AND number > $2", [chainId, above]);
    await tx.query("DELETE FROM indexed_block WHERE chain_id = $1 AND number > $2", [chainId, above]);
    await tx.query(
      `UPDATE indexer_checkpoint SET block_number = $2, block_hash = $3, updated_at = now() WHERE chain_id = $1
       RETURNING ${CHECKPOINT_NOTICE}`,
      [chainId, above, ancestor.hash],
    );
    return { eventsRemoved: events.rowCount ?? 0, transfersRemoved: Number(transfers.rows[0]!.n) };
  });
}

/** Forgets headers older than `below` (they are final): the walk-back after a reorg never needs them. */
export async function pruneBlocks(db: Queryable, chainId: number, below: bigint) {
  await db.query("DELETE FROM indexed_block WHERE chain_id = $1 AND number < $2", [chainId, below.toString()]);
}

/**
 * Forgets everything indexed for `chainId` (operator command, and `npm run dev`, whose local chain is new on every
 * start), except the facts feed, which records every event as retracted. The next run backfills from the start block.
 */
export async function resetChainIndex(db: pg.Pool | pg.Client, chainId: number) {
  const client = "totalCount" in db ? await db.connect() : db;
  try {
    await client.query("BEGIN");
    await lockChain(client, chainId);
    // The feed outlives a reset: its consumers hear every event retracted (what they derived is undone), and the
    // sequence numbers go on from where they were.
    await appendRetractedFacts(client, chainId, "-1");
    for (const table of [
      "chain_event",
      "event_block",
      "token_balance",
      "token_supply",
      "edition_phase",
      "edition",
      "collection",
      "indexed_block",
      "indexer_checkpoint",
    ]) {
      await client.query(`DELETE FROM ${table} WHERE chain_id = $1`, [chainId]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    if (client !== db) (client as pg.PoolClient).release();
  }
}
