/**
 * The indexer's write side. Raw events (`chain_event`) are the source of truth; every other table is a projection
 * derived from them: transfers, balances with held-since, edition supply and holders, collections, editions and
 * their sale phases. A batch, its
 * projections, its block headers and the checkpoint commit in ONE transaction, so a crash at any point leaves the
 * database at a checkpoint. Writes are set-based (unnest, COPY), never row by row.
 *
 * The stages, in the order a batch goes through them (each file says what it guarantees):
 *   store/batch-encoder.ts      events → COPY rows, balance moves and collections (outside the transaction)
 *   store/copy-encoding.ts      the COPY text encoder and its reused buffers; the COPY itself
 *   store/balance-moves.ts      slots per touched balance, and the in-memory walk of a batch's transfers
 *   store/apply-batch.ts        the batch's transaction: COPY, checkpoint guard, projections, checkpoint
 *   store/projection-writes.ts  balances, held-since, supply, collections, headers and checkpoint in one statement
 *   store/edition-projection.ts editions, phases, collection owner/pause/royalty from configuration events
 *   store/fact-feed.ts          the facts feed: events applied (with the batch) and retracted (with a rollback)
 *   store/checkpoints.ts        reading the checkpoint and headers; rollback after a reorg; pruning; reset
 *   store/rebuild.ts            projections recomputed from the raw events (rollbacks and `indexer:rebuild`)
 *   store/model.ts, store/sql.ts  the shared types and errors; the transaction, write lock and array parameters
 * This module is the write side's public face: the rest of the server imports from here.
 */
export type { CollectionRow } from "./events.ts";
export { applyBatch } from "./store/apply-batch.ts";
export { movesTransferList, type BalanceMoves } from "./store/balance-moves.ts";
export { BatchBuilder, prepareBatch, type PreparedBatch } from "./store/batch-encoder.ts";
export { pruneBlocks, readCheckpoint, readRecentBlocks, resetChainIndex, rollbackTo } from "./store/checkpoints.ts";
export { recycleCopyChunks } from "./store/copy-encoding.ts";
export {
  CheckpointMovedError,
  IndexInvariantError,
  ZERO_ADDRESS,
  type ApplyResult,
  type Batch,
  type BlockHeader,
  type Checkpoint,
} from "./store/model.ts";
export { rebuildProjections } from "./store/rebuild.ts";
export { CHECKPOINT_CHANNEL } from "./store/sql.ts";
