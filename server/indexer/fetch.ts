import { TRANSFER_BATCH, TRANSFER_SINGLE, type ChainEvent, type EventCatalogue, type RawLog } from "./events.ts";
import { HEX_LOWER, latin1, rawLogAt, readLogs, releaseTable, type LogTable } from "./log-scan.ts";
import { releaseAnswer, RpcResponseError, type RpcClient, type RpcRequest } from "./rpc.ts";
import { BatchBuilder, prepareBatch, type Batch, type BlockHeader, type PreparedBatch } from "./store.ts";

/**
 * Fetching one block range: its logs and headers from the node, checked to be one branch, decoded and turned into
 * what the write needs (COPY rows, balance moves). It depends on nothing the writer holds, so it runs ahead of the
 * writes, several ranges at once, and off the main thread (fetch-worker.ts).
 */

/** The node answered with data from two branches (a reorg during the fetch); the range is fetched again. */
export class InconsistentRangeError extends Error {
  constructor(reason: string) {
    super(`Inconsistent answers for a block range (${reason}); fetching it again`);
    this.name = "InconsistentRangeError";
  }
}

export type Fetched = {
  from: bigint;
  to: bigint;
  /** The header of `from`, which must extend the checkpoint. (The others the write needs are in `prepared`.) */
  first: BlockHeader;
  /** The contracts whose events the range holds: those known when it was fetched. */
  known: Set<string>;
  /** Collections the factory created inside the range, with their creation block. */
  created: Map<string, bigint>;
  /** Decoded and turned into COPY rows and balance moves as soon as it arrived (its `previous` is set when applied). */
  prepared: PreparedBatch;
  logCount: number;
};

export type RpcBlock = { number: string; hash: string; parentHash: string; timestamp: string } | null;

const hex = (n: bigint) => `0x${n.toString(16)}`;

function toHeader(block: RpcBlock, number: bigint): BlockHeader {
  if (!block || typeof block.hash !== "string" || typeof block.parentHash !== "string") {
    throw new InconsistentRangeError(`block ${number} not found`);
  }
  const header = {
    number: BigInt(block.number),
    hash: block.hash,
    parentHash: block.parentHash,
    timestamp: BigInt(block.timestamp),
  };
  if (header.number !== number) throw new InconsistentRangeError(`asked for block ${number}, got ${header.number}`);
  return header;
}

/** Block headers by number, in one JSON-RPC batch; a missing block or a wrong number is an inconsistent answer. */
export async function fetchHeaders(rpc: RpcClient, numbers: bigint[]): Promise<BlockHeader[]> {
  const blocks = await rpc.batch<RpcBlock[]>(
    numbers.map((n) => ({ method: "eth_getBlockByNumber", params: [hex(n), false] })),
  );
  return blocks.map((b, i) => toHeader(b, numbers[i]!));
}

/** Checks that a range's headers are one branch: each consecutive pair chains by parent hash. */
function checkHeaderChain(headers: Map<bigint, BlockHeader>) {
  let previous: BlockHeader | undefined;
  for (const n of [...headers.keys()].sort((a, b) => (a < b ? -1 : 1))) {
    const h = headers.get(n)!;
    if (previous && previous.number + 1n === n && h.parentHash !== previous.hash) {
      throw new InconsistentRangeError(`block ${n} does not extend block ${previous.number}`);
    }
    previous = h;
  }
}

/** Checks that a fetched range is one branch: headers chain by parent hash, logs sit in those blocks. */
function verifyRange(from: bigint, to: bigint, headers: Map<bigint, BlockHeader>, logs: RawLog[]) {
  checkHeaderChain(headers);
  // A block's hash is stored once (event_block), so every log of a block must name the same one.
  const hashOf = new Map<bigint, string>();
  for (const log of logs) {
    if (log.removed) throw new InconsistentRangeError("a log was removed");
    const n = BigInt(log.blockNumber);
    if (n < from || n > to) throw new InconsistentRangeError(`log of block ${n} outside ${from}..${to}`);
    const h = headers.get(n);
    if (h && h.hash !== log.blockHash) throw new InconsistentRangeError(`log of block ${n} from another branch`);
    const seen = hashOf.get(n);
    if (seen === undefined) hashOf.set(n, log.blockHash);
    else if (seen !== log.blockHash) throw new InconsistentRangeError(`logs of block ${n} name two block hashes`);
  }
}

/**
 * The blocks of a table's logs that came without a block time. (A loop over every log, kept out of the async
 * `fetch`: a hot loop there would have the whole of `fetch` compiled by the optimizing compiler, on every run.)
 */
function blocksWithoutTime(t: LogTable): bigint[] {
  const missing = new Set<number>();
  for (let i = 0; i < t.count; i++) if (t.blockTimestamp[i]! < 0) missing.add(t.blockNumber[i]!);
  return [...missing].map(BigInt);
}

/** Whether a table's logs are in chain order (duplicates, adjacent, allowed): nodes answer so; sorting is for the general path. */
function isInChainOrder(t: LogTable): boolean {
  for (let i = 1; i < t.count; i++) {
    const block = t.blockNumber[i]! - t.blockNumber[i - 1]!;
    if (block < 0 || (block === 0 && t.logIndex[i]! < t.logIndex[i - 1]!)) return false;
  }
  return true;
}

const hexBytes = (topic: string) => Buffer.from(topic.slice(2).toLowerCase(), "latin1");
const TRANSFER_SINGLE_BYTES = hexBytes(TRANSFER_SINGLE);
const TRANSFER_BATCH_BYTES = hexBytes(TRANSFER_BATCH);

/** Whether the `0x…` hex at `start` of `b` has the digits `digits` (lowercase), in any case. */
function sameHex(b: Buffer, start: number, digits: Buffer): boolean {
  // Nodes write lowercase: one native comparison; another case is compared digit by digit.
  if (digits.compare(b, start + 2, start + 2 + digits.length) === 0) return true;
  for (let i = 0; i < digits.length; i++) if (HEX_LOWER[b[start + 2 + i]!] !== digits[i]) return false;
  return true;
}

/**
 * Whether `length` bytes of `a` from `aStart` equal those of `b` from `bStart`. A loop here rather than
 * Buffer.compare: for these few dozen bytes, once per log, the native call costs more than the comparison.
 */
function sameBytes(a: Buffer, aStart: number, b: Buffer, bStart: number, length: number): boolean {
  for (let i = length - 1; i >= 0; i--) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

/** Beyond this many collections, logs are fetched by event topic only and filtered here (providers cap address lists). */
export const MAX_ADDRESS_FILTER = 1000;

export type RangeFetcherOptions = {
  rpc: RpcClient;
  catalogue: EventCatalogue;
  chainId: number;
  factory: string;
  finalityDepth: number;
};

export class RangeFetcher {
  private readonly o: RangeFetcherOptions;
  private readonly factory: string;
  constructor(o: RangeFetcherOptions) {
    this.o = o;
    this.factory = o.factory.toLowerCase();
  }

  /**
   * Fetches one range (its logs and the headers needed to link and date it, in one JSON-RPC batch, plus one more for
   * the headers of blocks with events when the node's logs carry no block time), checks it is one branch, decodes it
   * and prepares its rows at once: only the compact prepared batch waits for its turn, not thousands of raw logs.
   * `known`: the contracts to ask for (the factory, the extra contracts and the known collections).
   */
  async fetch(from: bigint, to: bigint, head: bigint, known: Set<string>): Promise<Fetched> {
    const byAddress = known.size <= MAX_ADDRESS_FILTER;
    const unfinalizedFrom = head - BigInt(this.o.finalityDepth);
    const wanted = new Set<bigint>([from, to]);
    for (let n = from > unfinalizedFrom ? from : unfinalizedFrom; n <= to; n++) wanted.add(n);
    const numbers = [...wanted].sort((a, b) => (a < b ? -1 : 1));
    const filter: Record<string, unknown> = {
      fromBlock: hex(from),
      toBlock: hex(to),
      topics: [this.o.catalogue.topics],
    };
    if (byAddress) filter.address = [...known];
    const requests: RpcRequest[] = [
      { method: "eth_getLogs", params: [filter] },
      ...numbers.map((n) => ({ method: "eth_getBlockByNumber", params: [hex(n), false] })),
    ];
    // The logs are read straight from the answer's bytes (log-scan.ts) when they can be, else parsed as JSON.
    const [answer, ...blocks] = await this.o.rpc.batch<[RawLog[] | LogTable, ...RpcBlock[]]>(requests, [readLogs]);
    const headers = new Map<bigint, BlockHeader>();
    blocks.forEach((b, i) => headers.set(numbers[i]!, toHeader(b, numbers[i]!)));
    let prepared: PreparedBatch;
    let logCount: number;
    const batchOf = () => ({
      chainId: this.o.chainId,
      previous: null,
      head: headers.get(to)!,
      headers: [...headers.values()].filter((h) => h.number >= unfinalizedFrom || h.number === to),
    });
    const table = answer !== null && typeof answer === "object" && "bytes" in answer ? answer : undefined;
    if (table && isInChainOrder(table)) {
      logCount = table.count;
      await this.addMissingHeaders(headers, blocksWithoutTime(table));
      prepared = this.prepareTable(from, to, headers, table, known, batchOf());
      releaseAnswer(table.bytes);
      releaseTable(table);
    } else {
      const logs = table ? Array.from({ length: table.count }, (_, i) => rawLogAt(table, i)) : answer;
      if (!Array.isArray(logs)) throw new InconsistentRangeError("eth_getLogs answered no array");
      logCount = logs.length;
      await this.addMissingHeaders(
        headers,
        logs.filter((l) => !l.blockTimestamp).map((l) => BigInt(l.blockNumber)),
      );
      prepared = this.prepareLogs(from, to, headers, logs, known, batchOf());
    }
    const created = new Map(prepared.collections.map((c) => [c.address, c.createdBlock]));
    return { from, to, first: headers.get(from)!, known, created, prepared, logCount };
  }

  /** Adds the headers of `blocks` (those whose logs came without a block time) that `headers` lacks, in one batch. */
  private async addMissingHeaders(headers: Map<bigint, BlockHeader>, blocks: bigint[]) {
    const missing = [...new Set(blocks)].filter((n) => !headers.has(n));
    if (missing.length > 0) for (const h of await fetchHeaders(this.o.rpc, missing)) headers.set(h.number, h);
  }

  /**
   * Checks a range (parsed logs in any order) is one branch, decodes it and prepares its rows: the general path.
   * Public, like prepareTable, so tests can hold the two paths to the same output.
   */
  prepareLogs(
    from: bigint,
    to: bigint,
    headers: Map<bigint, BlockHeader>,
    logs: RawLog[],
    known: Set<string>,
    batch: Omit<Batch, "events">,
  ): PreparedBatch {
    verifyRange(from, to, headers, logs);
    return prepareBatch({ ...batch, events: this.decode(logs, headers, known) });
  }

  /**
   * The fast path of `fetch`, for logs read from the answer's bytes in chain order (see isInChainOrder): the same
   * checks as verifyRange and the same rows as prepareLogs. Transfer logs of known collections are written straight
   * from the bytes; every other log (and a transfer log of the wrong shape) is decoded the general way.
   */
  prepareTable(
    from: bigint,
    to: bigint,
    headers: Map<bigint, BlockHeader>,
    t: LogTable,
    known: Set<string>,
    batch: Omit<Batch, "events">,
  ): PreparedBatch {
    checkHeaderChain(headers);
    const builder = new BatchBuilder(this.o.chainId);
    const created = new Set<string>();
    const b = t.bytes;
    const first = Number(from);
    const last = Number(to);
    let block = -1;
    let blockHash: Buffer | undefined;
    let firstHashAt = -1;
    let headerTime = -1;
    let address = "";
    let addressAt = -1;
    for (let i = 0; i < t.count; i++) {
      if (t.removed[i] === 1) throw new InconsistentRangeError("a log was removed");
      // The same log twice (a node answering with duplicates) is kept once (isInChainOrder let only those through).
      if (i > 0 && t.blockNumber[i] === t.blockNumber[i - 1] && t.logIndex[i] === t.logIndex[i - 1]) continue;
      const n = t.blockNumber[i]!;
      if (n !== block) {
        if (n < first || n > last) throw new InconsistentRangeError(`log of block ${n} outside ${from}..${to}`);
        block = n;
        const header = headers.get(BigInt(n));
        blockHash = header ? Buffer.from(header.hash, "latin1") : undefined;
        headerTime = header ? Number(header.timestamp) : -1;
        firstHashAt = t.blockHash[i]!;
      }
      // Every log must name its block's header hash when the header was fetched; otherwise the hash its block's first
      // log names (a block's hash is stored once, in event_block).
      if (blockHash) {
        if (!sameBytes(blockHash, 0, b, t.blockHash[i]!, 66))
          throw new InconsistentRangeError(`log of block ${n} from another branch`);
      } else if (!sameBytes(b, firstHashAt, b, t.blockHash[i]!, 66)) {
        throw new InconsistentRangeError(`logs of block ${n} name two block hashes`);
      }
      // Consecutive logs are mostly of one contract: its address string is made once for them.
      if (addressAt < 0 || !sameBytes(b, addressAt, b, t.address[i]!, 42)) {
        address = latin1(b, t.address[i]!, t.address[i]! + 42).toLowerCase();
      }
      addressAt = t.address[i]!;
      const fromFactory = address === this.factory;
      if (!fromFactory && !known.has(address) && !created.has(address)) continue;
      const time = t.blockTimestamp[i]! >= 0 ? t.blockTimestamp[i]! : headerTime;
      const topic0 = t.topics[i * 4]!;
      if (
        !fromFactory &&
        sameHex(b, topic0, TRANSFER_SINGLE_BYTES) &&
        builder.addTransferLog(t, i, address, false, time)
      )
        continue;
      if (!fromFactory && sameHex(b, topic0, TRANSFER_BATCH_BYTES) && builder.addTransferLog(t, i, address, true, time))
        continue;
      const event = this.o.catalogue.decode(rawLogAt(t, i), fromFactory);
      if (!event) continue;
      if (event.name === "CollectionCreated") created.add(String(event.args.collection));
      builder.addEvent(event, Number(event.blockTime ?? BigInt(time)));
    }
    return builder.finish(batch);
  }

  /** Decodes a range's logs in chain order, keeping the events of `known` contracts and of collections created in it. */
  private decode(logs: RawLog[], headers: Map<bigint, BlockHeader>, known: Set<string>): ChainEvent[] {
    // Nodes answer in chain order; sort only when one did not.
    const order = (a: RawLog, b: RawLog) =>
      Number(a.blockNumber) - Number(b.blockNumber) || Number(a.logIndex) - Number(b.logIndex);
    for (let i = 1; i < logs.length; i++) {
      if (!(order(logs[i - 1]!, logs[i]!) < 0)) {
        logs = [...logs].sort(order);
        break;
      }
    }
    const events: ChainEvent[] = [];
    const created = new Set<string>();
    let previous: RawLog | undefined;
    for (const log of logs) {
      // The same log twice (a node answering with duplicates) is kept once: they are adjacent once sorted.
      if (previous && order(previous, log) === 0) continue;
      previous = log;
      const address = log.address.toLowerCase();
      const fromFactory = address === this.factory;
      if (!fromFactory && !known.has(address) && !created.has(address)) continue;
      const event = this.o.catalogue.decode(log, fromFactory);
      if (!event) continue;
      if (event.blockTime === undefined) event.blockTime = headers.get(event.blockNumber)!.timestamp;
      if (event.name === "CollectionCreated") created.add(String(event.args.collection));
      events.push(event);
    }
    return events;
  }
}

/** An error as a worker posts it: enough to rebuild the classes the indexer tells apart. */
export type SerializedError = { name: string; message: string; method?: string; code?: number; rpcMessage?: string };

export function serializeError(error: unknown): SerializedError {
  const e = error instanceof Error ? error : new Error(String(error));
  if (e instanceof RpcResponseError)
    return { name: e.name, message: e.message, method: e.method, code: e.code, rpcMessage: e.rpcMessage };
  return { name: e.name, message: e.message };
}

export function deserializeError(s: SerializedError): Error {
  if (s.name === "RpcResponseError")
    return new RpcResponseError(s.method ?? "", s.code ?? 0, s.rpcMessage ?? s.message);
  if (s.name === "InconsistentRangeError") {
    const e = new InconsistentRangeError("");
    e.message = s.message;
    return e;
  }
  const e = new Error(s.message);
  e.name = s.name;
  return e;
}
