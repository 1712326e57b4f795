/**
 * The facts feed, read side: the indexer → domain modules contract. The indexer appends every chain event it stores
 * as an applied fact, and every event a reorg (or a reset) removes as a retracted fact, in the same transaction as the
 * batch or the rollback (server/indexer/store/fact-feed.ts), numbered per chain without gaps in commit order. A
 * fact's key is (chain, block hash, log index): an event that replaces a reorged one at the same position is another
 * fact. Consumers (consumer.ts) derive their effects from facts and undo them on retraction, keyed by that key.
 */
import type { Queryable } from "../indexer/store/sql.ts";

/** A chain event as the feed hands it over: decoded arguments as stored (uint256 as decimal text, lowercase hex). */
export type FactEvent = {
  txHash: string;
  address: string;
  name: string;
  args: Record<string, unknown>;
  /** Sender and recipient of an ERC-1155 transfer event (null for other events). */
  from: string | null;
  to: string | null;
  blockTime: Date;
};

export type Fact = {
  chainId: number;
  seq: bigint;
  blockNumber: bigint;
  blockHash: string;
  logIndex: number;
  applied: boolean;
  /**
   * The event, for an applied fact still on the indexed branch. Null for a retraction (the event is gone), and for an
   * applied fact already retracted further on in the feed (its retraction follows; nothing needs doing for either).
   */
  event: FactEvent | null;
};

/** A fact's key, the same for its applied and its retracted row: what a consumer keys its effects by. */
export const factKey = (fact: Pick<Fact, "chainId" | "blockHash" | "logIndex">) =>
  `${fact.chainId}:${fact.blockHash}:${fact.logIndex}`;

/** Facts of `chainId` after sequence number `afterSeq`, in order, at most `limit`. */
export async function readFacts(db: Queryable, chainId: number, afterSeq: bigint, limit: number): Promise<Fact[]> {
  const { rows } = await db.query<{
    seq: string;
    block_number: string;
    block_hash: string;
    log_index: number;
    applied: boolean;
    tx_hash: string | null;
    address: string;
    name: string;
    args: Record<string, unknown>;
    from_address: string | null;
    to_address: string | null;
    time: Date;
  }>(
    `SELECT f.seq::text, f.block_number::text, f.block_hash, f.log_index, f.applied,
            e.tx_hash, e.address, e.name, e.args, e.from_address, e.to_address, b.time
     FROM fact_feed f
     LEFT JOIN event_block b ON f.applied AND b.chain_id = f.chain_id AND b.number = f.block_number AND b.hash = f.block_hash
     LEFT JOIN chain_event e ON b.number IS NOT NULL AND e.chain_id = f.chain_id AND e.block_number = f.block_number
                            AND e.log_index = f.log_index
     WHERE f.chain_id = $1 AND f.seq > $2 ORDER BY f.seq LIMIT $3`,
    [chainId, afterSeq.toString(), limit],
  );
  return rows.map((r) => ({
    chainId,
    seq: BigInt(r.seq),
    blockNumber: BigInt(r.block_number),
    blockHash: r.block_hash,
    logIndex: r.log_index,
    applied: r.applied,
    event:
      r.tx_hash === null
        ? null
        : {
            txHash: r.tx_hash,
            address: r.address,
            name: r.name,
            args: r.args,
            from: r.from_address,
            to: r.to_address,
            blockTime: r.time,
          },
  }));
}

/** The newest sequence number of `chainId`'s feed (0 when empty). */
export async function feedHead(db: Queryable, chainId: number): Promise<bigint> {
  const { rows } = await db.query<{ seq: string }>(
    "SELECT coalesce(max(seq), 0)::text AS seq FROM fact_feed WHERE chain_id = $1",
    [chainId],
  );
  return BigInt(rows[0]!.seq);
}
