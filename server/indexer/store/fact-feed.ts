/**
 * The indexer's side of the facts feed (migration fact_feed; read by server/facts): every event a batch stores is
 * appended as applied, in the batch's own statement; every event a rollback removes is appended as retracted, before
 * it goes, in the rollback's transaction. Both run under the chain's write lock, so the sequence numbers are gapless
 * and in commit order: a consumer that reads past seq N has seen every fact up to N.
 */
import type { Queryable } from "./sql.ts";

/** The next free sequence number of a chain's feed, read under the write lock. */
const NEXT_SEQ = `(SELECT coalesce(max(seq), 0) FROM fact_feed WHERE chain_id = $1)`;

/**
 * A data-modifying CTE for writeProjections: the batch's events as applied facts, in chain order. `$1` is the chain
 * id; `blocks` and `hashes` are the parameters holding the batch's event blocks and their hashes (every block with
 * an event belongs to exactly one batch, so its events are this batch's).
 */
export function appendAppliedFacts(blocks: string, hashes: string) {
  return `INSERT INTO fact_feed (chain_id, seq, block_number, block_hash, log_index, applied)
       SELECT $1, ${NEXT_SEQ} + row_number() OVER (ORDER BY e.block_number, e.log_index), e.block_number, eb.h, e.log_index, true
       FROM unnest(${blocks}::bigint[], ${hashes}::text[]) AS eb(n, h)
       JOIN chain_event e ON e.chain_id = $1 AND e.block_number = eb.n`;
}

/**
 * Appends every stored event above block `above` (-1: all of them) as a retracted fact, newest first (undo order).
 * Call it in the rollback's transaction, under the write lock, before those events are removed.
 */
export async function appendRetractedFacts(tx: Queryable, chainId: number, above: string) {
  await tx.query(
    `INSERT INTO fact_feed (chain_id, seq, block_number, block_hash, log_index, applied)
     SELECT $1, ${NEXT_SEQ} + row_number() OVER (ORDER BY e.block_number DESC, e.log_index DESC), e.block_number, b.hash, e.log_index, false
     FROM chain_event e JOIN event_block b ON b.chain_id = e.chain_id AND b.number = e.block_number
     WHERE e.chain_id = $1 AND e.block_number > $2`,
    [chainId, above],
  );
}
