import type { Logger } from "pino";
import type pg from "pg";
import type { Address, PublicClient } from "viem";
import type { ChainHead } from "../chain/head-watcher.ts";
import type { Config } from "../config.ts";
import { databaseFault } from "../database/faults.ts";
import { OutageLog } from "../lib/outage.ts";
import { loadEventCatalogue, type EventCatalogue } from "./events.ts";
import { HeadSignal } from "./head-signal.ts";
import { HeadSubscription } from "./head-subscription.ts";
import { WriterLock } from "./lock.ts";
import { indexerMetrics } from "./metrics.ts";
import { ProgressBar } from "./progress.ts";
import { fetchHeaders, InconsistentRangeError, RangeFetcher, type Fetched, type RpcBlock } from "./fetch.ts";
import { WorkerRangeFetcher } from "./fetch-pool.ts";
import { isRangeTooLarge, isRpcFault, RpcClient } from "./rpc.ts";
import {
  applyBatch,
  CheckpointMovedError,
  type PreparedBatch,
  IndexInvariantError,
  pruneBlocks,
  readCheckpoint,
  readRecentBlocks,
  rollbackTo,
  type BlockHeader,
  type Checkpoint,
} from "./store.ts";

export type IndexerOptions = {
  db: pg.Pool;
  /** JSON-RPC HTTP URLs, tried in order with fallback. */
  rpcUrls?: string[];
  /** Only for callers that have no URL list: the URL of this viem client's HTTP transport is used. */
  client?: PublicClient;
  /** Optional WebSocket URL: `newHeads` wakes the live loop at once (polling continues as a safety net). */
  wsUrl?: string;
  chainId: number;
  factory: Address;
  /** Contracts indexed from the start block besides the factory's collections (e.g. benchmark tokens). */
  extraContracts?: Address[];
  startBlock: bigint;
  confirmations: number;
  finalityDepth: number;
  pollIntervalMs: number;
  maxBlockRange: number;
  /** Aim for about this many logs per eth_getLogs call (ranges adapt to the density of events). */
  targetLogsPerRange?: number;
  /** Block ranges fetched ahead, in parallel, while earlier ones are written. */
  fetchConcurrency?: number;
  rpcTimeoutMs?: number;
  /** Hold the chain's writer lock while running (default true); off only in tests that drive step() directly. */
  writerLock?: boolean;
  /** Fetch and prepare ranges on a worker thread (default false: on the calling thread; see INDEXER_FETCH_THREAD). */
  fetchThread?: boolean;
  /** Draw a progress bar on stderr during backfill when it is a terminal. */
  progress?: boolean;
  /** While a dependency is down, one summary log line this often (default 60 s); see OutageLog. */
  outageSummaryMs?: number;
  logger: Logger;
};

/** The indexer's options from the validated configuration. */
export function indexerOptionsFromConfig(
  config: Config,
  deps: { db: pg.Pool; chainId: number; logger: Logger; progress?: boolean },
): IndexerOptions {
  return {
    db: deps.db,
    chainId: deps.chainId,
    logger: deps.logger,
    progress: deps.progress,
    rpcUrls: config.rpcUrls,
    wsUrl: config.wsUrl,
    rpcTimeoutMs: config.rpcTimeoutMs,
    factory: config.factory,
    extraContracts: config.extraContracts,
    startBlock: config.startBlock,
    confirmations: config.confirmations,
    finalityDepth: config.finalityDepth,
    pollIntervalMs: config.pollIntervalMs,
    maxBlockRange: config.maxBlockRange,
    targetLogsPerRange: config.targetLogsPerRange,
    fetchConcurrency: config.fetchConcurrency,
    fetchThread: config.fetchThread,
  };
}

/** A reorg deeper than the finality depth: an operator must decide. */
export class DeepReorgError extends Error {
  constructor(chainId: number, depth: number, oldestChecked: bigint | null) {
    super(
      `Chain ${chainId} reorganised deeper than the finality depth (${depth} blocks): none of the stored block ` +
        `hashes${oldestChecked !== null ? ` (down to block ${oldestChecked})` : ""} matches the canonical chain. The indexer stopped ` +
        `instead of guessing. Rewind it below the fork with \`npm run indexer:rebuild -- --rewind <block>\` ` +
        `(or \`--reset\` to re-index from the start block), then restart it.`,
    );
    this.name = "DeepReorgError";
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

export type IndexerStatus = {
  indexedBlock: bigint | null;
  headBlock: bigint | null;
  /** The latest head as last fetched, with its time and when it was seen (for /health, without a call of its own). */
  head: ChainHead | null;
  lastProgressAt: number;
  isWriter: boolean;
  reorgs: number;
  /** Head block time minus the time of the last block applied, as of the last batch. */
  lagSeconds: number | null;
};

/**
 * Mirrors every event of the factory and the collections it creates into PostgreSQL, reorg-safe and crash-safe.
 *
 * One loop serves backfill and live sync: block ranges are planned from the checkpoint to the head (minus
 * confirmations), fetched ahead in parallel with adaptive sizes, and applied strictly in order; each range is one
 * transaction with its checkpoint. Every range is linked to the checkpoint by parent hash; a mismatch walks the
 * stored headers back to the common ancestor, rolls back, and continues on the canonical branch.
 */
export class Indexer {
  readonly status: IndexerStatus = {
    indexedBlock: null,
    headBlock: null,
    head: null,
    lastProgressAt: Date.now(),
    isWriter: false,
    reorgs: 0,
    lagSeconds: null,
  };
  readonly rpc: RpcClient;
  private readonly urls: string[];
  private catalogue: EventCatalogue | undefined;
  private fetcher: Pick<RangeFetcher, "fetch"> & { close?(): Promise<void>; warmUp?(): Promise<void> } = undefined!;
  private collections = new Map<string, bigint>();
  private collectionsLoaded = false;
  private readonly extra: Set<string>;
  private range: number;
  private lastHeadHash: string | undefined;
  private prunedBelow = 0n;
  private readonly heads = new HeadSignal();
  private subscription: HeadSubscription | undefined;
  /** Step failures are logged per outage of what failed (see OutageLog), not once per retry. */
  private readonly outages: { database: OutageLog; chain: OutageLog };
  private readonly progress: ProgressBar | undefined;
  private readonly labels: { chain_id: string };

  private readonly o: IndexerOptions;

  constructor(o: IndexerOptions) {
    this.o = o;
    // Small first ranges: the first answers arrive (and the pipeline fills) quickly; adapt() grows them to the density.
    this.range = Math.min(o.maxBlockRange, 10);
    this.extra = new Set((o.extraContracts ?? []).map((a) => a.toLowerCase()));
    this.labels = { chain_id: String(o.chainId) };
    const transportUrl = (o.client?.transport as { url?: string } | undefined)?.url;
    const urls = o.rpcUrls ?? (transportUrl ? [transportUrl] : []);
    this.urls = urls;
    if (urls.length === 0) throw new Error("Indexer needs rpcUrls (or a viem client with an HTTP transport).");
    this.rpc = new RpcClient({
      urls,
      timeoutMs: o.rpcTimeoutMs ?? 10_000,
      logger: o.logger,
      onFault: (kind) => indexerMetrics.rpcFaults.inc({ kind }),
      onRequest: (method, seconds) =>
        indexerMetrics.rpcSeconds.observe({ method: method.replace(/\(.*$/, "") }, seconds),
    });
    this.progress = o.progress ? new ProgressBar() : undefined;
    const outage = (what: string) => new OutageLog({ logger: o.logger, what, summaryEveryMs: o.outageSummaryMs });
    this.outages = { database: outage("database (indexer)"), chain: outage("chain RPC (indexer)") };
  }

  private get targetLogs() {
    return this.o.targetLogsPerRange ?? 5000;
  }

  /** The range fetcher: on a worker thread when `fetchThread` is set. Needs the catalogue loaded. */
  private createFetcher() {
    this.fetcher ??=
      this.o.fetchThread !== true
        ? new RangeFetcher({
            rpc: this.rpc,
            catalogue: this.catalogue!,
            chainId: this.o.chainId,
            factory: this.o.factory,
            finalityDepth: this.o.finalityDepth,
          })
        : new WorkerRangeFetcher({
            urls: this.urls,
            timeoutMs: this.o.rpcTimeoutMs ?? 10_000,
            chainId: this.o.chainId,
            factory: this.o.factory,
            finalityDepth: this.o.finalityDepth,
            logger: this.o.logger,
            onFault: (kind) => indexerMetrics.rpcFaults.inc({ kind }),
            onRequest: (method, seconds) =>
              indexerMetrics.rpcSeconds.observe({ method: method.replace(/\(.*$/, "") }, seconds),
          });
    return this.fetcher;
  }

  private async loadState() {
    this.catalogue ??= await loadEventCatalogue();
    this.createFetcher();
    if (this.collectionsLoaded) return;
    const { rows } = await this.o.db.query<{ address: string; created_block: string }>(
      "SELECT address, created_block FROM collection WHERE chain_id = $1",
      [this.o.chainId],
    );
    this.collections = new Map(rows.map((r) => [r.address, BigInt(r.created_block)]));
    this.collectionsLoaded = true;
  }

  private headers(numbers: bigint[]): Promise<BlockHeader[]> {
    return fetchHeaders(this.rpc, numbers);
  }

  private async latest(): Promise<{ number: bigint; hash: string; timestamp: bigint }> {
    const block = await this.rpc.request<RpcBlock>("eth_getBlockByNumber", ["latest", false]);
    if (!block) throw new InconsistentRangeError("no latest block");
    const head = { number: BigInt(block.number), hash: block.hash, timestamp: BigInt(block.timestamp) };
    this.status.head = { number: head.number, timestamp: head.timestamp, observedAt: Date.now() };
    return head;
  }

  /** Fetches a range knowing the factory, the extra contracts, the known collections and `alsoKnown`. */
  private fetchRange(from: bigint, to: bigint, head: bigint, alsoKnown: Iterable<string> = []): Promise<Fetched> {
    const known = new Set([this.o.factory.toLowerCase(), ...this.extra, ...this.collections.keys(), ...alsoKnown]);
    return this.fetcher.fetch(from, to, head, known);
  }

  /** Stops the fetch thread, if any (run() does it when it ends; for callers that drive step() themselves). */
  async close() {
    await this.fetcher?.close?.();
  }

  /**
   * Contracts the range was fetched without, that it must include: collections that became known while it was in
   * flight (created in an earlier range fetched in parallel) and collections created inside it (their later events
   * in the same range). Empty when the range is complete.
   */
  private missingFrom(f: Fetched): string[] {
    return [...new Set([...this.collections.keys(), ...f.created.keys()])].filter((a) => !f.known.has(a));
  }

  /**
   * Finds the newest stored block still on the canonical chain and rolls back to it.
   * Throws DeepReorgError when none of the stored blocks within the finality depth matches.
   */
  private async handleReorg(checkpoint: Checkpoint) {
    const stored = await readRecentBlocks(this.o.db, this.o.chainId, this.o.finalityDepth + 1);
    const head = await this.latest();
    const candidates = stored.filter((b) => b.number <= head.number);
    const canonical = candidates.length > 0 ? await this.headers(candidates.map((b) => b.number)) : [];
    const ancestor = candidates.find((b, i) => canonical[i]!.hash === b.hash);
    if (!ancestor) throw new DeepReorgError(this.o.chainId, this.o.finalityDepth, stored.at(-1)?.number ?? null);
    const { eventsRemoved } = await rollbackTo(this.o.db, this.o.chainId, ancestor);
    const depth = Number(checkpoint.blockNumber - ancestor.number);
    this.status.reorgs++;
    indexerMetrics.reorgs.inc(this.labels);
    indexerMetrics.reorgDepth.observe(this.labels, depth);
    this.o.logger.warn(
      { from: checkpoint.blockNumber.toString(), ancestor: ancestor.number.toString(), depth, eventsRemoved },
      "reorg: rolled back to the common ancestor",
    );
    this.collectionsLoaded = false;
    this.status.indexedBlock = ancestor.number;
  }

  /** Is the checkpoint's block still canonical? (Catches reorgs that shorten the chain or replace its tip.) */
  private async checkpointIsCanonical(checkpoint: Checkpoint, head: bigint): Promise<boolean> {
    if (checkpoint.blockNumber > head) return false;
    const [h] = await this.headers([checkpoint.blockNumber]);
    return h!.hash === checkpoint.blockHash;
  }

  /**
   * Brings the index up to the current head (minus confirmations). Returns the number of blocks applied; 0 when
   * already caught up.
   */
  async step(): Promise<number> {
    await this.loadState();
    const { chainId } = this.o;
    const head = await this.latest();
    this.status.headBlock = head.number;
    indexerMetrics.headBlock.set(this.labels, Number(head.number));
    const target = head.number - BigInt(this.o.confirmations);
    const checkpoint = await readCheckpoint(this.o.db, chainId);
    if (checkpoint) this.status.indexedBlock = checkpoint.blockNumber;
    const next = checkpoint ? checkpoint.blockNumber + 1n : this.o.startBlock;
    if (next > target) {
      if (
        checkpoint &&
        head.hash !== this.lastHeadHash &&
        !(await this.checkpointIsCanonical(checkpoint, head.number))
      ) {
        await this.handleReorg(checkpoint);
        return this.step();
      }
      this.lastHeadHash = head.hash;
      return 0;
    }
    this.lastHeadHash = head.hash;

    const concurrency = Math.max(1, this.o.fetchConcurrency ?? 3);
    const startedFrom = next;
    const backfill = target - next > 10n;
    const inflight: Promise<Fetched>[] = [];
    let planned = next;
    const plan = () => {
      while (inflight.length < concurrency && planned <= target) {
        const from = planned;
        let to = from + BigInt(this.range) - 1n;
        if (to > target) to = target;
        planned = to + 1n;
        const p = this.fetchRange(from, to, head.number);
        p.catch(() => {}); // handled when awaited in order
        inflight.push(p);
      }
    };
    let applied = 0;
    // Writes are pipelined: while PostgreSQL commits one range, the next is decoded and prepared here. `tip` is what
    // the next range must extend: the last range handed to the writer (the checkpoint once its write commits).
    let tip = checkpoint;
    // At most two writes in flight: one copying its rows, the one before it committing.
    let writing: Promise<void> | undefined;
    let committing: Promise<void> | undefined;
    const settle = async () => {
      const [a, b] = [committing, writing];
      committing = writing = undefined;
      await Promise.all([a, b]);
    };
    const write = async (
      prepared: PreparedBatch,
      fetched: Fetched,
      eventCount: number,
      after: Promise<void> | undefined,
    ) => {
      const started = performance.now();
      const result = await applyBatch(this.o.db, prepared, after);
      indexerMetrics.batchSeconds.observe(this.labels, (performance.now() - started) / 1000);
      indexerMetrics.batches.inc(this.labels);
      indexerMetrics.events.inc(this.labels, result.eventsApplied);
      const last = prepared.batch.head;
      applied += Number(fetched.to - fetched.from + 1n);
      this.status.indexedBlock = last.number;
      this.status.lastProgressAt = Date.now();
      indexerMetrics.indexedBlock.set(this.labels, Number(last.number));
      indexerMetrics.lagBlocks.set(this.labels, Number(head.number - last.number));
      this.status.lagSeconds = Math.max(0, Number(head.timestamp - last.timestamp));
      indexerMetrics.lagSeconds.set(this.labels, this.status.lagSeconds);
      if (backfill) this.progress?.update({ from: startedFrom, done: fetched.to, target, events: eventCount });
      this.o.logger.debug(
        { from: fetched.from.toString(), to: fetched.to.toString(), events: eventCount, range: this.range },
        "indexed range",
      );
    };
    try {
      plan();
      while (inflight.length > 0) {
        let fetched: Fetched;
        try {
          fetched = await inflight[0]!;
        } catch (error) {
          if (isRangeTooLarge(error) && this.range > 1) {
            this.range = Math.max(1, Math.floor(this.range / 4));
            this.o.logger.info({ range: this.range }, "node refused the log range; shrinking it");
            await settle();
            return applied;
          }
          throw error;
        }
        // Already awaited just above: the range is done with, not a promise left floating.
        void inflight.shift();
        // A range fetched before it could know every collection it holds events of is fetched again, now knowing
        // them (rare: a collection created in a range in flight, or inside this one).
        for (let missing = this.missingFrom(fetched); missing.length > 0; missing = this.missingFrom(fetched)) {
          fetched = await this.fetchRange(fetched.from, fetched.to, head.number, missing);
        }
        const first = fetched.first;
        if (tip && first.parentHash !== tip.blockHash) {
          // The range does not extend what is indexed: either the indexed tip was reorganised away, or this range
          // was fetched on a branch that has since been replaced. The stored headers tell which.
          await settle();
          if (await this.checkpointIsCanonical(tip, head.number))
            throw new InconsistentRangeError(
              `block ${fetched.from} (parent ${first.parentHash}) does not extend the checkpoint ${tip.blockNumber} (${tip.blockHash})`,
            );
          await this.handleReorg(tip);
          return applied + (await this.step());
        }
        // Known at once, not after the write: ranges checked while this one is being written must see them.
        for (const [address, block] of fetched.created) this.collections.set(address, block);
        const { prepared } = fetched;
        prepared.batch.previous = tip;
        tip = { blockNumber: prepared.batch.head.number, blockHash: prepared.batch.head.hash };
        this.adapt(fetched);
        plan();
        await committing;
        committing = writing;
        writing = write(prepared, fetched, prepared.eventCount, committing);
        writing.catch(() => {}); // awaited by the next write or settle()
      }
      await settle();
      const finalBelow = target - BigInt(this.o.finalityDepth) - 1n;
      if (finalBelow > this.prunedBelow + 100n) {
        await pruneBlocks(this.o.db, chainId, finalBelow);
        this.prunedBelow = finalBelow;
      }
      return applied;
    } finally {
      // Ranges still in flight belong to a plan that no longer holds (reorg, error): their answers are dropped. A
      // write still running finishes (or fails) before anything else touches the index.
      inflight.length = 0;
      await Promise.allSettled([committing, writing]);
    }
  }

  /** Grows or shrinks the block range toward `targetLogs` logs per call. */
  private adapt(f: Fetched) {
    const blocks = Number(f.to - f.from + 1n);
    if (blocks < this.range) return; // a short range at the head says nothing about density
    const perBlock = f.logCount / blocks;
    const ideal = perBlock > 0 ? Math.floor(this.targetLogs / perBlock) : this.range * 2;
    const next = Math.max(1, Math.min(this.o.maxBlockRange, ideal, this.range * 2));
    this.range = next;
  }

  private listenForHeads(signal: AbortSignal) {
    if (!this.o.wsUrl || this.subscription) return;
    const subscription = new HeadSubscription({
      url: this.o.wsUrl,
      onHead: () => this.heads.wake(),
      logger: this.o.logger,
    }).start();
    this.subscription = subscription;
    signal.addEventListener(
      "abort",
      () => {
        subscription.close();
        if (this.subscription === subscription) this.subscription = undefined;
      },
      { once: true },
    );
  }

  /**
   * Follows the chain until `signal` aborts: waits for the writer lock (standby), catches up, then follows the head.
   * Transient failures (RPC or database) are retried with capped exponential backoff and jitter; a range is never
   * skipped. Errors that need an operator (a reorg deeper than the finality depth, a broken invariant) end the loop.
   */
  /** Loads the event catalogue and starts the fetch thread: after this, the indexer can fetch at once. */
  async ready() {
    this.catalogue ??= await loadEventCatalogue();
    await this.createFetcher().warmUp?.();
  }

  async run(signal: AbortSignal) {
    // Ready to fetch before taking the writer role: a standby takes over with its fetch thread already running.
    await this.ready();
    const lock =
      this.o.writerLock === false
        ? undefined
        : new WriterLock(this.o.db.options, this.o.chainId, this.o.logger, undefined, this.o.outageSummaryMs);
    if (lock && !(await lock.acquire(signal))) return;
    this.status.isWriter = true;
    indexerMetrics.isWriter.set(this.labels, 1);
    this.listenForHeads(signal);
    let failures = 0;
    try {
      while (!signal.aborted) {
        try {
          if (lock?.lostError) throw lock.lostError;
          const applied = await this.step();
          failures = 0;
          this.outages.database.success();
          this.outages.chain.success();
          if (applied === 0) {
            this.progress?.finish();
            await this.heads.wait(this.o.pollIntervalMs, signal);
          }
        } catch (error) {
          if (error instanceof DeepReorgError || error instanceof IndexInvariantError) throw error;
          if (error instanceof CheckpointMovedError || error === lock?.lostError) {
            // Someone else wrote: go back to standby rather than fight over the checkpoint.
            this.o.logger.error({ err: error }, "lost the writer role; waiting to take over again");
            await lock?.release();
            this.status.isWriter = false;
            indexerMetrics.isWriter.set(this.labels, 0);
            this.collectionsLoaded = false;
            if (lock && !(await lock.acquire(signal))) return;
            this.status.isWriter = true;
            indexerMetrics.isWriter.set(this.labels, 1);
            continue;
          }
          failures++;
          indexerMetrics.stepFailures.inc(this.labels);
          const inconsistent = error instanceof InconsistentRangeError;
          const delay = inconsistent
            ? 20
            : Math.min(10_000, 100 * 2 ** Math.min(failures, 7)) * (0.5 + Math.random() / 2);
          // A database or node that is down fails every retry the same way: logged as one outage (its start, a summary
          // now and then, its end). Anything else is logged each time.
          const outage = databaseFault(error)
            ? this.outages.database
            : isRpcFault(error)
              ? this.outages.chain
              : undefined;
          if (outage) outage.failure(error, { failures, retryInMs: Math.round(delay) });
          else
            this.o.logger.warn({ err: error, failures, retryInMs: Math.round(delay) }, "indexer step failed; retrying");
          this.collectionsLoaded = false;
          await sleep(delay, signal);
        }
      }
    } finally {
      this.progress?.finish();
      this.subscription?.close();
      this.subscription = undefined;
      this.status.isWriter = false;
      indexerMetrics.isWriter.set(this.labels, 0);
      await lock?.release();
      await this.close();
    }
  }
}
