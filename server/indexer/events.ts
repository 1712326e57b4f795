import { decodeEventLog, parseAbi, toEventSelector, type Abi, type AbiEvent } from "viem";
import { loadArtifact } from "../chain/artifacts.ts";
import { HEX_LOWER } from "./log-scan.ts";

/**
 * The event catalogue: which events the indexer asks for, and how each raw log becomes a stored event. Event ABIs
 * come from the compiled artifacts, so a new or changed contract event is indexed (as a raw event) with no code or
 * schema change. The two ERC-1155 transfer events, which make up nearly all of the volume, have a hand-written
 * decoder (an order of magnitude faster than the generic one).
 */

/** A log as eth_getLogs returns it. */
export type RawLog = {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  logIndex: string;
  removed?: boolean;
  blockTimestamp?: string;
};

export type CollectionRow = {
  address: string;
  owner: string;
  contractUri: string;
  createdBlock: bigint;
  createdTx: string;
};

/** A decoded log, as stored in the raw `chain_event` table. `args` is JSON-safe (bigints as decimal strings). */
export type ChainEvent = {
  blockNumber: bigint;
  blockHash: string;
  txHash: string;
  logIndex: number;
  address: string;
  name: string;
  args: Record<string, unknown>;
  /** From the log when the node provides it, else filled in from the block header. */
  blockTime?: bigint;
};

export const erc1155Events = parseAbi([
  "event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value)",
  "event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values)",
  "event URI(string value, uint256 indexed id)",
]);

export const TRANSFER_SINGLE = toEventSelector(erc1155Events[0]);
export const TRANSFER_BATCH = toEventSelector(erc1155Events[1]);

const topicAddress = (topic: string) => `0x${topic.slice(26)}`.toLowerCase();
const word = (data: string, index: number) => data.slice(2 + index * 64, 2 + (index + 1) * 64);
const wordBig = (data: string, index: number) => BigInt(`0x${word(data, index)}`);

/** Leading hex zeros of a word whose value fits in 52 bits, so a double holds it exactly. */
const SMALL_WORD_PREFIX = "0".repeat(51);

/**
 * Decimal text of the uint256 in word `index` of `data` (already validated as hex). Token ids and amounts are
 * nearly always small: those skip BigInt, which is several times slower and allocates.
 */
function wordDecimal(data: string, index: number): string {
  const start = 2 + index * 64;
  if (data.startsWith(SMALL_WORD_PREFIX, start)) return String(parseInt(data.slice(start + 51, start + 64), 16));
  return BigInt(`0x${data.slice(start, start + 64)}`).toString();
}

/** The uint256[] whose offset is in word `offsetWord` of the log's data, as decimal strings (ABI encoding). */
function uintArray(log: RawLog, offsetWord: number): string[] {
  const words = (log.data.length - 2) / 64;
  if (offsetWord >= words) throw new MalformedLogError(log, "TransferBatch array out of bounds");
  const offset = Number(wordBig(log.data, offsetWord)) / 32;
  if (!Number.isInteger(offset) || offset >= words)
    throw new MalformedLogError(log, "TransferBatch array out of bounds");
  const length = Number(wordBig(log.data, offset));
  if (offset + 1 + length > words) throw new MalformedLogError(log, "TransferBatch array out of bounds");
  const out: string[] = [];
  for (let i = 0; i < length; i++) out.push(wordDecimal(log.data, offset + 1 + i));
  return out;
}

function chainEvent(
  log: RawLog,
  blockNumber: bigint,
  logIndex: number,
  address: string,
  blockTime: bigint | undefined,
  name: string,
  args: Record<string, unknown>,
): ChainEvent {
  return {
    blockNumber,
    blockHash: log.blockHash,
    txHash: log.transactionHash,
    logIndex,
    address,
    name,
    args,
    blockTime,
  };
}

/** "0x" then hex digits, `min` to `max` of them. A loop: several times faster than a regular expression here. */
function isHex(value: unknown, min: number, max: number): boolean {
  if (typeof value !== "string" || value.length < 2 + min || value.length > 2 + max) return false;
  if (value.charCodeAt(0) !== 48 || value.charCodeAt(1) !== 120) return false;
  for (let i = 2; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 255 || HEX_LOWER[c] === 0) return false;
  }
  return true;
}
const isHash = (value: unknown) => isHex(value, 64, 64);

/**
 * Chain data is input from outside: every field the indexer stores or parses is checked here, once, so a faulty or
 * hostile RPC answer is refused (and fetched again) instead of being stored or misread.
 */
function checkLog(log: RawLog) {
  if (typeof log !== "object" || log === null) throw new MalformedLogError(log, "not an object");
  if (!isHex(log.address, 40, 40)) throw new MalformedLogError(log, "bad address");
  if (!isHash(log.blockHash)) throw new MalformedLogError(log, "bad blockHash");
  if (!isHash(log.transactionHash)) throw new MalformedLogError(log, "bad transactionHash");
  if (!isHex(log.blockNumber, 1, 13)) throw new MalformedLogError(log, "bad blockNumber");
  if (!isHex(log.logIndex, 1, 13)) throw new MalformedLogError(log, "bad logIndex");
  if (log.blockTimestamp !== undefined && !isHex(log.blockTimestamp, 1, 13))
    throw new MalformedLogError(log, "bad blockTimestamp");
  if (!isHex(log.data, 0, Infinity) || (log.data.length - 2) % 64 !== 0) throw new MalformedLogError(log, "bad data");
  if (!Array.isArray(log.topics) || log.topics.length === 0 || log.topics.length > 4)
    throw new MalformedLogError(log, "bad topics");
  for (const topic of log.topics) if (!isHash(topic)) throw new MalformedLogError(log, "bad topic");
}

/** JSON-safe copy: bigints become decimal strings, addresses lowercase, arrays and structs recursively. */
export function toJsonSafe(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return /^0x[0-9a-fA-F]{40}$/.test(value) ? value.toLowerCase() : value;
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSafe(v)]));
  }
  return value;
}

export class MalformedLogError extends Error {
  constructor(log: RawLog, reason: string) {
    super(`Malformed log ${String(log?.transactionHash)}#${String(log?.logIndex)}: ${reason}`);
    this.name = "MalformedLogError";
  }
}

export type EventCatalogue = {
  /** topic0 of every event the indexer asks the node for. */
  topics: string[];
  /** topic0 of CollectionCreated. */
  collectionCreated: string;
  /** Decodes a log from the factory (`fromFactory`) or a collection. Returns null for events not in the ABI. */
  decode(log: RawLog, fromFactory: boolean): ChainEvent | null;
};

function eventsOf(abi: Abi): AbiEvent[] {
  return abi.filter((item): item is AbiEvent => item.type === "event");
}

/** Builds the catalogue from the factory's and the collection's compiled ABIs. */
export async function loadEventCatalogue(): Promise<EventCatalogue> {
  const factoryAbi = eventsOf((await loadArtifact("EditionFactory")).abi);
  const collectionAbi = eventsOf((await loadArtifact("Collection")).abi);
  const collectionCreatedAbi = factoryAbi.find((e) => e.name === "CollectionCreated");
  if (!collectionCreatedAbi)
    throw new Error("The EditionFactory ABI has no CollectionCreated event: cannot discover collections.");
  // Collections also get the standard ERC-1155 events, so a collection ABI without them still indexes transfers.
  const byTopic = (events: AbiEvent[]) => new Map(events.map((e) => [toEventSelector(e), e] as const));
  const factoryEvents = byTopic(factoryAbi);
  const collectionEvents = byTopic([...erc1155Events, ...collectionAbi]);
  const topics = [...new Set([...factoryEvents.keys(), ...collectionEvents.keys()])];

  const decodeGeneric = (log: RawLog, abiEvent: AbiEvent) => {
    const decoded = decodeEventLog({
      abi: [abiEvent],
      topics: log.topics.map((t) => t.toLowerCase()) as [`0x${string}`, ...`0x${string}`[]],
      data: log.data.toLowerCase() as `0x${string}`,
      strict: true,
    });
    return toJsonSafe(decoded.args ?? {}) as Record<string, unknown>;
  };

  return {
    topics,
    collectionCreated: toEventSelector(collectionCreatedAbi),
    decode(log, fromFactory) {
      checkLog(log);
      // Hex is case-insensitive; the catalogue's topics are lowercase.
      const topic0 = log.topics[0]!.toLowerCase();
      const blockNumber = BigInt(log.blockNumber);
      const logIndex = Number(log.logIndex);
      const address = log.address.toLowerCase();
      const blockTime = log.blockTimestamp ? BigInt(log.blockTimestamp) : undefined;
      if (!fromFactory && topic0 === TRANSFER_SINGLE) {
        if (log.topics.length !== 4 || log.data.length !== 2 + 128)
          throw new MalformedLogError(log, "bad TransferSingle shape");
        return chainEvent(log, blockNumber, logIndex, address, blockTime, "TransferSingle", {
          operator: topicAddress(log.topics[1]!),
          from: topicAddress(log.topics[2]!),
          to: topicAddress(log.topics[3]!),
          id: wordDecimal(log.data, 0),
          value: wordDecimal(log.data, 1),
        });
      }
      if (!fromFactory && topic0 === TRANSFER_BATCH) {
        if (log.topics.length !== 4) throw new MalformedLogError(log, "bad TransferBatch topics");
        const ids = uintArray(log, 0);
        const values = uintArray(log, 1);
        if (ids.length !== values.length)
          throw new MalformedLogError(log, "TransferBatch ids and values differ in length");
        return chainEvent(log, blockNumber, logIndex, address, blockTime, "TransferBatch", {
          operator: topicAddress(log.topics[1]!),
          from: topicAddress(log.topics[2]!),
          to: topicAddress(log.topics[3]!),
          ids,
          values,
        });
      }
      const abiEvent = (fromFactory ? factoryEvents : collectionEvents).get(topic0 as `0x${string}`);
      if (!abiEvent) return null;
      return chainEvent(log, blockNumber, logIndex, address, blockTime, abiEvent.name, decodeGeneric(log, abiEvent));
    },
  };
}

/** The collection a CollectionCreated event announces. */
export function collectionOf(event: ChainEvent): CollectionRow | null {
  if (event.name !== "CollectionCreated") return null;
  const a = event.args as { collection: string; owner: string; contractURI?: string };
  return {
    address: a.collection,
    owner: a.owner,
    // PostgreSQL text cannot hold NUL; a partner's odd URI must not stop the indexer.
    contractUri: (a.contractURI ?? "").replaceAll("\0", "\ufffd"),
    createdBlock: event.blockNumber,
    createdTx: event.txHash,
  };
}
