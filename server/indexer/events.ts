import { decodeEventLog, parseAbi, toEventSelector, type Abi, type AbiEvent } from "viem";
import { loadArtifact } from "../chain/artifacts.ts";

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

/** One ERC-1155 balance movement: one per TransferSingle, one per (id, value) pair of a TransferBatch. */
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
    super(`Malformed log ${log.transactionHash}#${Number(log.logIndex)}: ${reason}`);
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
  const factoryAbi = eventsOf((await loadArtifact("EditionFactory")).abi as Abi);
  const collectionAbi = eventsOf((await loadArtifact("Collection")).abi as Abi);
  const collectionCreatedAbi = factoryAbi.find((e) => e.name === "CollectionCreated");
  if (!collectionCreatedAbi) throw new Error("The EditionFactory ABI has no CollectionCreated event: cannot discover collections.");
  // Collections also get the standard ERC-1155 events, so a collection ABI without them still indexes transfers.
  const byTopic = (events: AbiEvent[]) => new Map(events.map((e) => [toEventSelector(e), e] as const));
  const factoryEvents = byTopic(factoryAbi);
  const collectionEvents = byTopic([...erc1155Events, ...collectionAbi]);
  const topics = [...new Set([...factoryEvents.keys(), ...collectionEvents.keys()])];

  const decodeGeneric = (log: RawLog, abiEvent: AbiEvent) => {
    const decoded = decodeEventLog({
      abi: [abiEvent],
      topics: log.topics as [`0x${string}`, ...`0x${string}`[]],
      data: log.data as `0x${string}`,
      strict: true,
    });
    return toJsonSafe(decoded.args ?? {}) as Record<string, unknown>;
  };

  return {
    topics,
    collectionCreated: toEventSelector(collectionCreatedAbi),
    decode(log, fromFactory) {
      const topic0 = log.topics[0];
      if (!topic0) return null;
      const base = {
        blockNumber: BigInt(log.blockNumber),
        blockHash: log.blockHash,
        txHash: log.transactionHash,
        logIndex: Number(log.logIndex),
        address: log.address.toLowerCase(),
        ...(log.blockTimestamp ? { blockTime: BigInt(log.blockTimestamp) } : {}),
      };
      if (!fromFactory && topic0 === TRANSFER_SINGLE) {
        if (log.topics.length !== 4 || log.data.length !== 2 + 128) throw new MalformedLogError(log, "bad TransferSingle shape");
        return {
          ...base,
          name: "TransferSingle",
          args: {
            operator: topicAddress(log.topics[1]!),
            from: topicAddress(log.topics[2]!),
            to: topicAddress(log.topics[3]!),
            id: wordBig(log.data, 0).toString(),
            value: wordBig(log.data, 1).toString(),
          },
        };
      }
      if (!fromFactory && topic0 === TRANSFER_BATCH) {
        if (log.topics.length !== 4) throw new MalformedLogError(log, "bad TransferBatch topics");
        const words = (log.data.length - 2) / 64;
        const array = (offsetWord: number) => {
          const offset = Number(wordBig(log.data, offsetWord)) / 32;
          const length = Number(wordBig(log.data, offset));
          if (offset + 1 + length > words) throw new MalformedLogError(log, "TransferBatch array out of bounds");
          return Array.from({ length }, (_, i) => wordBig(log.data, offset + 1 + i).toString());
        };
        const ids = array(0);
        const values = array(1);
        if (ids.length !== values.length) throw new MalformedLogError(log, "TransferBatch ids and values differ in length");
        return {
          ...base,
          name: "TransferBatch",
          args: {
            operator: topicAddress(log.topics[1]!),
            from: topicAddress(log.topics[2]!),
            to: topicAddress(log.topics[3]!),
            ids,
            values,
          },
        };
      }
      const abiEvent = (fromFactory ? factoryEvents : collectionEvents).get(topic0 as `0x${string}`);
      if (!abiEvent) return null;
      return { ...base, name: abiEvent.name, args: decodeGeneric(log, abiEvent) };
    },
  };
}

/** The transfers an event stands for (none for non-transfer events). */
export function transfersOf(event: ChainEvent): TransferRow[] {
  const a = event.args as { operator: string; from: string; to: string; id?: string; value?: string; ids?: string[]; values?: string[] };
  const base = {
    blockNumber: event.blockNumber,
    blockHash: event.blockHash,
    txHash: event.txHash,
    logIndex: event.logIndex,
    collection: event.address,
    operator: a.operator,
    from: a.from,
    to: a.to,
  };
  if (event.name === "TransferSingle") return [{ ...base, batchIndex: 0, tokenId: BigInt(a.id!), amount: BigInt(a.value!) }];
  if (event.name === "TransferBatch") {
    return a.ids!.map((id, i) => ({ ...base, batchIndex: i, tokenId: BigInt(id), amount: BigInt(a.values![i]!) }));
  }
  return [];
}

/** The collection a CollectionCreated event announces. */
export function collectionOf(event: ChainEvent): CollectionRow | null {
  if (event.name !== "CollectionCreated") return null;
  const a = event.args as { collection: string; owner: string; contractURI?: string };
  return {
    address: a.collection,
    owner: a.owner,
    contractUri: a.contractURI ?? "",
    createdBlock: event.blockNumber,
    createdTx: event.txHash,
  };
}
