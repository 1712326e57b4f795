/**
 * Writes one batch in ONE transaction: its raw events by COPY, then (after the previous batch's commit) the
 * checkpoint guard, the projections (the edition projection only when the batch has configuration events) and the
 * new checkpoint. Guarantees: a batch commits with its checkpoint or not
 * at all; a replay of the current checkpoint changes nothing; a batch that does not extend the checkpoint writes
 * nothing (another writer is at work).
 */
import type pg from "pg";
import { prepareBatch, type PreparedBatch } from "./batch-encoder.ts";
import { readCheckpoint } from "./checkpoints.ts";
import { hasConfigKeys, recomputeEditionProjection } from "./edition-projection.ts";
import { copyRows, recycleCopyChunks } from "./copy-encoding.ts";
import { CheckpointMovedError, IndexInvariantError, type ApplyResult, type Batch } from "./model.ts";
import { projectTransfers, readStoredBalances, writeProjections } from "./projection-writes.ts";
import { lockChain } from "./sql.ts";

/**
 * Writes one batch: raw events, transfers, balances, supply, collections, headers and the checkpoint, in ONE
 * transaction. Replaying a batch that is already the checkpoint changes nothing (`alreadyApplied`); a batch that
 * does not extend the current checkpoint throws CheckpointMovedError and writes nothing.
 *
 * `after` lets batches overlap: the batch's rows are COPYed at once (they depend on nothing), then the write waits
 * for `after` (the previous batch's commit) before the part that must see it: the checkpoint guard, balances, supply
 * and the checkpoint itself. If `after` fails, this batch rolls back too.
 */
export async function applyBatch(
  db: pg.Pool,
  batch: Batch | PreparedBatch,
  after?: Promise<unknown>,
): Promise<ApplyResult> {
  const prepared = "eventChunks" in batch ? batch : prepareBatch(batch);
  return writeBatch(db, prepared, after);
}

const EVENT_COLUMNS = [
  "chain_id",
  "block_number",
  "tx_hash",
  "log_index",
  "address",
  "name",
  "args",
  "from_address",
  "to_address",
];

async function writeBatch(db: pg.Pool, prepared: PreparedBatch, after?: Promise<unknown>): Promise<ApplyResult> {
  const { batch, moves } = prepared;
  const tx = await db.connect();
  try {
    // An indexer loses at most its last few batches if PostgreSQL itself crashes, and re-indexes them from the
    // checkpoint, which is lost with them: safe, and several times faster for small batches.
    const begin = "BEGIN; SET LOCAL synchronous_commit = off";
    await tx.query(begin);
    // A row already stored (a replay, or another writer's rows) fails the COPY; what that means is decided below,
    // once the checkpoint can be read.
    let duplicate: IndexInvariantError | undefined;
    try {
      await copyRows(tx, "chain_event", EVENT_COLUMNS, prepared.eventChunks);
      const written = prepared.eventChunks.map((chunk) => chunk.buffer as ArrayBuffer);
      prepared.eventChunks = [];
      (prepared.recycle ?? recycleCopyChunks)(written);
    } catch (error) {
      if (!(error instanceof IndexInvariantError)) throw error;
      duplicate = error;
      await tx.query("ROLLBACK");
      await tx.query(begin);
    }
    await after;
    await lockChain(tx, batch.chainId);
    const current = await readCheckpoint(tx, batch.chainId);
    if (current && current.blockNumber === batch.head.number && current.blockHash === batch.head.hash) {
      await tx.query("ROLLBACK");
      return { eventsApplied: 0, transfersApplied: 0, alreadyApplied: true };
    }
    const matches = batch.previous
      ? current !== null &&
        current.blockNumber === batch.previous.blockNumber &&
        current.blockHash === batch.previous.blockHash
      : current === null;
    if (!matches) throw new CheckpointMovedError(batch.chainId);
    if (duplicate) throw duplicate;

    const changes = projectTransfers(moves, await readStoredBalances(tx, batch.chainId, moves));
    await writeProjections(tx, batch.chainId, changes, prepared, [...batch.headers, batch.head], batch.head);
    // Only batches with configuration events (an edition created or configured, an ownership transfer, a pause) pay
    // for this; after writeProjections, so that the batch's new collections are there to update.
    if (hasConfigKeys(prepared.config)) await recomputeEditionProjection(tx, batch.chainId, prepared.config);
    await tx.query("COMMIT");
    return { eventsApplied: prepared.eventCount, transfersApplied: moves.fromSlot.length, alreadyApplied: false };
  } catch (error) {
    await tx.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    tx.release();
  }
}
