/**
 * The indexer's write model: what a batch is, what a write reports, and the errors a write can end with. Shared by
 * every stage of the write path (see ../store.ts for the order of the stages).
 */
import type { ChainEvent } from "../events.ts";

export type BlockHeader = { number: bigint; hash: string; parentHash: string; timestamp: bigint };

export type Checkpoint = { blockNumber: bigint; blockHash: string };

export type Batch = {
  chainId: number;
  /** The checkpoint this batch extends (null for the first batch); guards against a second writer. */
  previous: Checkpoint | null;
  /** The last block of the batch: becomes the checkpoint. */
  head: BlockHeader;
  /** Headers to keep for reorg detection (the unfinalized blocks of the batch, and at least `head`). */
  headers: BlockHeader[];
  /** Decoded logs in chain order, each with its block time. */
  events: ChainEvent[];
};

export class CheckpointMovedError extends Error {
  constructor(chainId: number) {
    super(`The checkpoint of chain ${chainId} moved under this indexer: another indexer is writing to this database.`);
    this.name = "CheckpointMovedError";
  }
}

/** Something that must never happen did: the database holds rows the checkpoint says it should not. */
export class IndexInvariantError extends Error {
  constructor(message: string) {
    super(
      `${message} Run \`npm run indexer:rebuild -- --rewind <block>\` to rewind below it, then restart the indexer.`,
    );
    this.name = "IndexInvariantError";
  }
}

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

export type ApplyResult = { eventsApplied: number; transfersApplied: number; alreadyApplied: boolean };
