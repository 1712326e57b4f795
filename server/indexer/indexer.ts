import type { Logger } from "pino";
import type pg from "pg";
import { getAbiItem, parseAbi, type AbiEvent, type Address, type PublicClient } from "viem";
import { loadArtifact } from "../chain/artifacts.ts";
import {
  applyBatch,
  CheckpointMovedError,
  pruneBlocks,
  readCheckpoint,
  readRecentBlocks,
  rollbackTo,
  type BlockHeader,
  type Checkpoint,
  type CollectionRow,
  type TransferRow,
} from "./store.ts";

export const erc1155TransferEvents = parseAbi([
  "event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value)",
  "event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values)",
]);

export type IndexerOptions = {
  db: pg.Pool;
  client: PublicClient;
  chainId: number;
  factory: Address;
  startBlock: bigint;
  confirmations: number;
  finalityDepth: number;
  pollIntervalMs: number;
  maxBlockRange: number;
  logger: Logger;
};

export class DeepReorgError extends Error {
  constructor(chainId: number, depth: number) {
    super(
      `Chain ${chainId} reorganised deeper than the finality depth (${depth} blocks): no stored block matches the ` +
        `canonical chain. The indexer stopped instead of guessing. Rewind it below the fork and restart.`,
    );
    this.name = "DeepReorgError";
  }
}

export type IndexerStatus = {
  indexedBlock: bigint | null;
  headBlock: bigint | null;
  lastProgressAt: number;
};

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * Mirrors ERC-1155 ownership of every collection the factory creates into PostgreSQL.
 * Each step fetches one block range, and writes its events, balances and checkpoint in one transaction.
 */
export class Indexer {
  readonly status: IndexerStatus = { indexedBlock: null, headBlock: null, lastProgressAt: Date.now() };
  private collections = new Set<string>();
  private collectionsLoaded = false;
  private range: number;
  private collectionCreated: AbiEvent | undefined;

  constructor(private readonly o: IndexerOptions) {
    this.range = o.maxBlockRange;
  }

  private async header(number: bigint): Promise<BlockHeader> {
    const block = await this.o.client.getBlock({ blockNumber: number });
    return { number, hash: block.hash, parentHash: block.parentHash, timestamp: block.timestamp };
  }

  private async collectionCreatedEvent(): Promise<AbiEvent> {
    if (!this.collectionCreated) {
      const factory = await loadArtifact("EditionFactory");
      this.collectionCreated = getAbiItem({ abi: factory.abi, name: "CollectionCreated" }) as AbiEvent;
    }
    return this.collectionCreated;
  }

  private async loadCollections() {
    if (this.collectionsLoaded) return;
    const { rows } = await this.o.db.query<{ address: string }>("SELECT address FROM collection WHERE chain_id = $1", [
      this.o.chainId,
    ]);
    this.collections = new Set(rows.map((r) => r.address));
    this.collectionsLoaded = true;
  }

  /**
   * Finds the newest stored block still on the canonical chain and rolls back to it.
   * Throws DeepReorgError when none of the stored blocks within the finality depth matches.
   */
  private async handleReorg(checkpoint: Checkpoint) {
    const stored = await readRecentBlocks(this.o.db, this.o.chainId, this.o.finalityDepth + 1);
    for (const block of stored) {
      const canonical = await this.header(block.number);
      if (canonical.hash === block.hash) {
        const { transfersRemoved } = await rollbackTo(this.o.db, this.o.chainId, block);
        this.o.logger.warn(
          { from: checkpoint.blockNumber.toString(), ancestor: block.number.toString(), transfersRemoved },
          "reorg: rolled back to common ancestor",
        );
        this.collectionsLoaded = false;
        return;
      }
    }
    throw new DeepReorgError(this.o.chainId, this.o.finalityDepth);
  }

  /**
   * Indexes the next block range, if any. Returns the range applied, or null when caught up.
   */
  async step(): Promise<{ from: bigint; to: bigint } | null> {
    const { client, chainId } = this.o;
    await this.loadCollections();
    const head = await client.getBlockNumber({ cacheTime: 0 });
    this.status.headBlock = head;
    const target = head - BigInt(this.o.confirmations);
    const checkpoint = await readCheckpoint(this.o.db, chainId);
    if (checkpoint) {
      this.status.indexedBlock = checkpoint.blockNumber;
      const canonical = await this.header(checkpoint.blockNumber);
      if (canonical.hash !== checkpoint.blockHash) {
        await this.handleReorg(checkpoint);
        return this.step();
      }
    }
    const from = checkpoint ? checkpoint.blockNumber + 1n : this.o.startBlock;
    if (from > target) return null;
    let to = from + BigInt(this.range) - 1n;
    if (to > target) to = target;

    const toHeader = await this.header(to);
    let collections: CollectionRow[];
    let transfers: TransferRow[];
    try {
      ({ collections, transfers } = await this.fetchRange(from, to));
    } catch (error) {
      if (this.range > 1) {
        this.range = Math.max(1, Math.floor(this.range / 2));
        this.o.logger.warn({ err: error, range: this.range }, "getLogs failed; shrinking the block range");
        return { from, to: from - 1n };
      }
      throw error;
    }
    // A reorg between reading the header and the logs would mix branches: verify the head is unchanged.
    const again = await this.header(to);
    const mixed = transfers.some((t) => t.blockNumber === to && t.blockHash !== toHeader.hash);
    if (again.hash !== toHeader.hash || mixed) return { from, to: from - 1n };

    await applyBatch(this.o.db, {
      chainId,
      previous: checkpoint,
      head: toHeader,
      collections,
      transfers,
    });
    for (const c of collections) this.collections.add(c.address);
    if (this.range < this.o.maxBlockRange) this.range = Math.min(this.o.maxBlockRange, this.range * 2);
    const keepFrom = to - BigInt(this.o.finalityDepth);
    if (keepFrom > 0n && to % 100n === 0n) await pruneBlocks(this.o.db, chainId, keepFrom);
    this.status.indexedBlock = to;
    this.status.lastProgressAt = Date.now();
    this.o.logger.debug({ from: from.toString(), to: to.toString(), transfers: transfers.length }, "indexed range");
    return { from, to };
  }

  private async fetchRange(from: bigint, to: bigint) {
    const { client } = this.o;
    const created = await client.getLogs({
      address: this.o.factory,
      event: await this.collectionCreatedEvent(),
      fromBlock: from,
      toBlock: to,
      strict: true,
    });
    const collections: CollectionRow[] = created.map((log) => {
      const args = log.args as { collection: Address; owner: Address; contractURI?: string };
      return {
        address: args.collection.toLowerCase(),
        owner: args.owner.toLowerCase(),
        contractUri: args.contractURI ?? "",
        createdBlock: log.blockNumber!,
        createdTx: log.transactionHash!,
      };
    });
    // Collections created inside this range are included: their events can only follow their creation.
    const addresses = [...this.collections, ...collections.map((c) => c.address)] as Address[];
    const transfers: TransferRow[] = [];
    if (addresses.length === 0) return { collections, transfers };
    const logs = await client.getLogs({
      address: addresses,
      events: erc1155TransferEvents,
      fromBlock: from,
      toBlock: to,
      strict: true,
    });
    for (const log of logs) {
      const base = {
        blockNumber: log.blockNumber,
        blockHash: log.blockHash,
        txHash: log.transactionHash,
        logIndex: log.logIndex,
        collection: log.address.toLowerCase(),
        operator: log.args.operator.toLowerCase(),
        from: log.args.from.toLowerCase(),
        to: log.args.to.toLowerCase(),
      };
      if (log.eventName === "TransferSingle") {
        transfers.push({ ...base, batchIndex: 0, tokenId: log.args.id, amount: log.args.value });
      } else {
        const { ids, values } = log.args;
        if (ids.length !== values.length) throw new Error(`Malformed TransferBatch in ${log.transactionHash}`);
        ids.forEach((id, i) => transfers.push({ ...base, batchIndex: i, tokenId: id, amount: values[i]! }));
      }
    }
    return { collections, transfers };
  }

  /**
   * Follows the chain until `signal` aborts: catches up in ranges, then polls for new blocks. Transient failures
   * (RPC or database) are retried with capped exponential backoff and jitter; a range is never skipped.
   * Errors that need an operator (a reorg deeper than the finality depth, a second writer) end the loop.
   */
  async run(signal: AbortSignal) {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const progressed = await this.step();
        failures = 0;
        if (progressed === null) await sleep(this.o.pollIntervalMs, signal);
      } catch (error) {
        if (error instanceof DeepReorgError || error instanceof CheckpointMovedError) throw error;
        failures++;
        const delay = Math.min(30_000, 200 * 2 ** Math.min(failures, 8)) * (0.5 + Math.random() / 2);
        this.o.logger.warn({ err: error, failures, retryInMs: Math.round(delay) }, "indexer step failed; retrying");
        await sleep(delay, signal);
      }
    }
  }
}
