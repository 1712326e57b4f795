import type pg from "pg";

/** ERC-1155 transfer, one row per (log, id) pair of a TransferSingle/TransferBatch log. */
export type TransferRow = {
  blockNumber: bigint;
  blockHash: string;
  txHash: string;
  logIndex: number;
  batchIndex: number;
  collection: string;
  tokenId: bigint;
  operator: string;
  from: string;
  to: string;
  amount: bigint;
};

export type CollectionRow = {
  address: string;
  owner: string;
  contractUri: string;
  createdBlock: bigint;
  createdTx: string;
};

export type BlockHeader = { number: bigint; hash: string; parentHash: string; timestamp: bigint };

export type Checkpoint = { blockNumber: bigint; blockHash: string };

export type Batch = {
  chainId: number;
  /** The checkpoint this batch extends (null for the first batch); guards against a second writer. */
  previous: Checkpoint | null;
  /** The last block of the batch: becomes the checkpoint. */
  head: BlockHeader;
  collections: CollectionRow[];
  transfers: TransferRow[];
};

export class CheckpointMovedError extends Error {
  constructor(chainId: number) {
    super(`The checkpoint of chain ${chainId} moved under this indexer: another indexer is writing to this database.`);
    this.name = "CheckpointMovedError";
  }
}

const ZERO = "0x0000000000000000000000000000000000000000";

export async function readCheckpoint(db: pg.Pool | pg.PoolClient, chainId: number): Promise<Checkpoint | null> {
  const { rows } = await db.query<{ block_number: string; block_hash: string }>(
    "SELECT block_number, block_hash FROM indexer_checkpoint WHERE chain_id = $1",
    [chainId],
  );
  const row = rows[0];
  return row ? { blockNumber: BigInt(row.block_number), blockHash: row.block_hash } : null;
}

/** Stored headers from newest to oldest, for walking back to a common ancestor after a reorg. */
export async function readRecentBlocks(db: pg.Pool, chainId: number, limit: number): Promise<BlockHeader[]> {
  const { rows } = await db.query<{ number: string; hash: string; parent_hash: string; ts: string }>(
    `SELECT number, hash, parent_hash, extract(epoch FROM timestamp)::bigint AS ts FROM indexed_block
     WHERE chain_id = $1 ORDER BY number DESC LIMIT $2`,
    [chainId, limit],
  );
  return rows.map((r) => ({ number: BigInt(r.number), hash: r.hash, parentHash: r.parent_hash, timestamp: BigInt(r.ts) }));
}

/**
 * Adds signed balance deltas with one set-based upsert, then drops balances that reached zero. Deltas are
 * aggregated per key first, so a key appears once per statement.
 */
async function applyBalanceDeltas(
  tx: pg.PoolClient,
  chainId: number,
  deltas: Map<string, { collection: string; tokenId: bigint; owner: string; delta: bigint }>,
) {
  if (deltas.size === 0) return;
  const collections: string[] = [];
  const tokenIds: string[] = [];
  const owners: string[] = [];
  const amounts: string[] = [];
  for (const d of deltas.values()) {
    if (d.delta === 0n) continue;
    collections.push(d.collection);
    tokenIds.push(d.tokenId.toString());
    owners.push(d.owner);
    amounts.push(d.delta.toString());
  }
  if (collections.length === 0) return;
  const { rows } = await tx.query<{ collection: string; token_id: string; owner: string; amount: string }>(
    `INSERT INTO token_balance (chain_id, collection, token_id, owner, amount)
     SELECT $1, c, t, o, a FROM unnest($2::text[], $3::numeric[], $4::text[], $5::numeric[]) AS u(c, t, o, a)
     ON CONFLICT (chain_id, collection, token_id, owner) DO UPDATE SET amount = token_balance.amount + EXCLUDED.amount
     RETURNING collection, token_id::text, owner, amount::text`,
    [chainId, collections, tokenIds, owners, amounts],
  );
  const emptied = rows.filter((r) => r.amount === "0");
  if (emptied.length > 0) {
    await tx.query(
      `DELETE FROM token_balance b USING unnest($2::text[], $3::numeric[], $4::text[]) AS u(c, t, o)
       WHERE b.chain_id = $1 AND b.collection = u.c AND b.token_id = u.t AND b.owner = u.o AND b.amount = 0`,
      [chainId, emptied.map((r) => r.collection), emptied.map((r) => r.token_id), emptied.map((r) => r.owner)],
    );
  }
}

function addDelta(
  deltas: Map<string, { collection: string; tokenId: bigint; owner: string; delta: bigint }>,
  collection: string,
  tokenId: bigint,
  owner: string,
  delta: bigint,
) {
  if (owner === ZERO) return;
  const key = `${collection}:${tokenId}:${owner}`;
  const entry = deltas.get(key);
  if (entry) entry.delta += delta;
  else deltas.set(key, { collection, tokenId, owner, delta });
}

/**
 * Writes one batch, its projections and its checkpoint in ONE transaction. Transfers already present (same
 * chain, tx, log index, batch index) are skipped and contribute no balance delta, so applying a batch twice
 * changes nothing.
 */
export async function applyBatch(db: pg.Pool, batch: Batch): Promise<{ transfersApplied: number }> {
  const tx = await db.connect();
  try {
    await tx.query("BEGIN");
    const current = await tx.query<{ block_number: string; block_hash: string }>(
      "SELECT block_number, block_hash FROM indexer_checkpoint WHERE chain_id = $1 FOR UPDATE",
      [batch.chainId],
    );
    const row = current.rows[0];
    const matches = batch.previous
      ? row && BigInt(row.block_number) === batch.previous.blockNumber && row.block_hash === batch.previous.blockHash
      : !row;
    if (!matches) throw new CheckpointMovedError(batch.chainId);

    if (batch.collections.length > 0) {
      const c = batch.collections;
      await tx.query(
        `INSERT INTO collection (chain_id, address, owner, contract_uri, created_block, created_tx)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
         ON CONFLICT DO NOTHING`,
        [
          batch.chainId,
          c.map((x) => x.address),
          c.map((x) => x.owner),
          c.map((x) => x.contractUri),
          c.map((x) => x.createdBlock.toString()),
          c.map((x) => x.createdTx),
        ],
      );
    }

    let transfersApplied = 0;
    if (batch.transfers.length > 0) {
      const t = batch.transfers;
      const inserted = await tx.query<{ collection: string; token_id: string; from_address: string; to_address: string; amount: string }>(
        `INSERT INTO token_transfer (chain_id, block_number, block_hash, tx_hash, log_index, batch_index, collection,
                                     token_id, operator, from_address, to_address, amount)
         SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::int[], $6::int[], $7::text[],
                                  $8::numeric[], $9::text[], $10::text[], $11::text[], $12::numeric[])
         ON CONFLICT DO NOTHING
         RETURNING collection, token_id::text, from_address, to_address, amount::text`,
        [
          batch.chainId,
          t.map((x) => x.blockNumber.toString()),
          t.map((x) => x.blockHash),
          t.map((x) => x.txHash),
          t.map((x) => x.logIndex),
          t.map((x) => x.batchIndex),
          t.map((x) => x.collection),
          t.map((x) => x.tokenId.toString()),
          t.map((x) => x.operator),
          t.map((x) => x.from),
          t.map((x) => x.to),
          t.map((x) => x.amount.toString()),
        ],
      );
      transfersApplied = inserted.rowCount ?? 0;
      const deltas = new Map();
      for (const r of inserted.rows) {
        const tokenId = BigInt(r.token_id);
        const amount = BigInt(r.amount);
        addDelta(deltas, r.collection, tokenId, r.from_address, -amount);
        addDelta(deltas, r.collection, tokenId, r.to_address, amount);
      }
      await applyBalanceDeltas(tx, batch.chainId, deltas);
    }

    const h = batch.head;
    await tx.query(
      `INSERT INTO indexed_block (chain_id, number, hash, parent_hash, timestamp) VALUES ($1, $2, $3, $4, to_timestamp($5))
       ON CONFLICT (chain_id, number) DO UPDATE SET hash = EXCLUDED.hash, parent_hash = EXCLUDED.parent_hash, timestamp = EXCLUDED.timestamp`,
      [batch.chainId, h.number.toString(), h.hash, h.parentHash, h.timestamp.toString()],
    );
    await tx.query(
      `INSERT INTO indexer_checkpoint (chain_id, block_number, block_hash, updated_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (chain_id) DO UPDATE SET block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash, updated_at = now()`,
      [batch.chainId, h.number.toString(), h.hash],
    );
    await tx.query("COMMIT");
    return { transfersApplied };
  } catch (error) {
    await tx.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    tx.release();
  }
}

/**
 * Undoes everything indexed above `ancestor` (a reorg's common ancestor): reverses the balance deltas of the
 * removed transfers, forgets collections created there, and moves the checkpoint back, in one transaction.
 */
export async function rollbackTo(db: pg.Pool, chainId: number, ancestor: BlockHeader): Promise<{ transfersRemoved: number }> {
  const tx = await db.connect();
  try {
    await tx.query("BEGIN");
    await tx.query("SELECT 1 FROM indexer_checkpoint WHERE chain_id = $1 FOR UPDATE", [chainId]);
    const removed = await tx.query<{ collection: string; token_id: string; from_address: string; to_address: string; amount: string }>(
      `DELETE FROM token_transfer WHERE chain_id = $1 AND block_number > $2
       RETURNING collection, token_id::text, from_address, to_address, amount::text`,
      [chainId, ancestor.number.toString()],
    );
    const deltas = new Map();
    for (const r of removed.rows) {
      const tokenId = BigInt(r.token_id);
      const amount = BigInt(r.amount);
      addDelta(deltas, r.collection, tokenId, r.from_address, amount);
      addDelta(deltas, r.collection, tokenId, r.to_address, -amount);
    }
    await applyBalanceDeltas(tx, chainId, deltas);
    await tx.query("DELETE FROM collection WHERE chain_id = $1 AND created_block > $2", [chainId, ancestor.number.toString()]);
    await tx.query("DELETE FROM indexed_block WHERE chain_id = $1 AND number > $2", [chainId, ancestor.number.toString()]);
    await tx.query(
      `UPDATE indexer_checkpoint SET block_number = $2, block_hash = $3, updated_at = now() WHERE chain_id = $1`,
      [chainId, ancestor.number.toString(), ancestor.hash],
    );
    await tx.query("COMMIT");
    return { transfersRemoved: removed.rowCount ?? 0 };
  } catch (error) {
    await tx.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    tx.release();
  }
}

/** Keeps only the newest `keep` stored headers: enough to walk back any reorg within the finality depth. */
export async function pruneBlocks(db: pg.Pool, chainId: number, below: bigint) {
  await db.query("DELETE FROM indexed_block WHERE chain_id = $1 AND number < $2", [chainId, below.toString()]);
}

/**
 * Forgets everything indexed for `chainId` (operator command, and `npm run dev`, whose local chain is new on every
 * start). The next run backfills from the start block.
 */
export async function resetChainIndex(db: pg.Pool | pg.Client, chainId: number) {
  await db.query("BEGIN");
  try {
    for (const table of ["token_transfer", "token_balance", "collection", "indexed_block", "indexer_checkpoint"]) {
      await db.query(`DELETE FROM ${table} WHERE chain_id = $1`, [chainId]);
    }
    await db.query("COMMIT");
  } catch (error) {
    await db.query("ROLLBACK");
    throw error;
  }
}
