/**
 * Turns a batch's events into what its transaction sends (a PreparedBatch): COPY rows of the raw events, balance
 * moves, created collections and the keys its configuration events touch (for the edition projection), built outside the transaction so the next batch is prepared while PostgreSQL
 * writes this one. Guarantees: the byte path (addTransferLog) and the decoded path (addEvent) write the very same
 * rows (the tests compare them byte for byte), and events out of chain order or naming two hashes for one block are
 * refused.
 */
import { collectionOf, type ChainEvent, type CollectionRow } from "../events.ts";
import { HEX_VALUE, latin1, type LogTable } from "../log-scan.ts";
import { exactAmount, MAX_EXACT, MovesBuilder, type Amount, type BalanceMoves } from "./balance-moves.ts";
import { asciiJson, copyValue, CopyWriter } from "./copy-encoding.ts";
import { addConfigKey, emptyConfigKeys, type ConfigKeys } from "./edition-projection.ts";
import type { Batch } from "./model.ts";

/** A batch turned into what the transaction sends: built in memory, outside the transaction, so the indexer can
 *  prepare the next batch while PostgreSQL writes this one. */
export type PreparedBatch = {
  batch: Omit<Batch, "events">;
  eventCount: number;
  eventChunks: Buffer[];
  /**
   * Called with the chunks' buffers once they are written, for reuse by whoever made them (the fetch thread, see
   * fetch-pool.ts); unset, they go back to this thread's spares.
   */
  recycle?: (buffers: ArrayBuffer[]) => void;
  moves: BalanceMoves;
  collections: CollectionRow[];
  /** The editions and collections the batch's configuration events touch (edition-projection.ts); empty for most. */
  config: ConfigKeys;
  /** The blocks the batch's events are in (event_block rows): number, hash, unix time, in chain order. */
  blocks: { number: string[]; hash: string[]; time: string[] };
};

type TransferArgs = {
  operator: string;
  from: string;
  to: string;
  id?: string;
  value?: string;
  ids?: string[];
  values?: string[];
};

const jsonStrings = (items: string[]) => (items.length === 0 ? "[]" : `["${items.join('","')}"]`);

/**
 * An event's args as COPY text of ASCII JSON. The two transfer events (nearly all rows) are written directly: their
 * addresses and numbers were validated as hex and decimal by the decoder, so they need neither escaping nor a scan.
 * Their from and to are left out: they are the row's from_address and to_address.
 */
function argsText(e: ChainEvent): string {
  if (e.name === "TransferSingle") {
    const a = e.args as TransferArgs;
    return `{"operator":"${a.operator}","id":"${a.id}","value":"${a.value}"}`;
  }
  if (e.name === "TransferBatch") {
    const a = e.args as TransferArgs;
    return `{"operator":"${a.operator}","ids":${jsonStrings(a.ids!)},"values":${jsonStrings(a.values!)}}`;
  }
  return copyValue(asciiJson(e.args));
}

/** Reads 64 hex digits of `src` from `start` (checked hex) as an exact double when below 2^52, else a bigint. */
function readWord(src: Buffer, start: number): Amount {
  const small = start + 51;
  let i = start;
  while (i < small && src[i] === 48) i++;
  if (i < small) {
    const big = BigInt(`0x${latin1(src, start, start + 64)}`);
    return big <= MAX_EXACT ? Number(big) : big;
  }
  let value = 0;
  for (; i < start + 64; i++) value = value * 16 + HEX_VALUE[src[i]!]!;
  return value;
}

/** The uint256[] whose offset is in word `offsetWord` of ABI data (digits from `data`): its first item's word, its length. */
function arrayAt(
  src: Buffer,
  data: number,
  words: number,
  offsetWord: number,
): { first: number; length: number } | null {
  const offset = readWord(src, data + offsetWord * 64);
  if (typeof offset !== "number" || offset % 32 !== 0 || offset / 32 >= words) return null;
  const length = readWord(src, data + offset * 2);
  if (typeof length !== "number" || offset / 32 + 1 + length > words) return null;
  return { first: offset / 32 + 1, length };
}

const ascii = (text: string) => Buffer.from(text, "latin1");
const ARGS_OPERATOR = ascii('{"operator":"');
const ARGS_ID = ascii('","id":"');
const ARGS_VALUE = ascii('","value":"');
const ARGS_IDS = ascii('","ids":[');
const ARGS_VALUES = ascii('],"values":[');
const TRANSFER_SINGLE_NAME = ascii("TransferSingle");
const TRANSFER_BATCH_NAME = ascii("TransferBatch");

/**
 * Builds a PreparedBatch event by event, in chain order: COPY rows, balance moves, collections. Events come either
 * decoded (`addEvent`) or, for the two ERC-1155 transfer events that are nearly all of the volume, straight from
 * the bytes of the node's answer (`addTransferLog`), which writes the very same row without a string or object per
 * field. Both paths are compared byte for byte by the tests.
 */
export class BatchBuilder {
  private readonly rows = new CopyWriter();
  private readonly moves = new MovesBuilder();
  private readonly collections: CollectionRow[] = [];
  private readonly config = emptyConfigKeys();
  private readonly chainId: string;
  private events = 0;
  private blockNumber = -1;
  private blockText = "";
  /** A unix time, beyond a small integer's range: NaN (a double) from the start keeps the field's representation. */
  private time = Number.NaN;
  private readonly blocks: PreparedBatch["blocks"] = { number: [], hash: [], time: [] };

  constructor(chainId: number) {
    this.chainId = String(chainId);
  }

  /**
   * Enters block `n` (unix time `time`): the following events belong to it. Returns true for a block not entered
   * before, whose hash the caller then records (once per block: the event_block row).
   */
  private enter(n: number, time: number): boolean {
    if (n === this.blockNumber) return false;
    if (n < this.blockNumber) throw new Error(`Events out of chain order: block ${n} after block ${this.blockNumber}`);
    this.blockNumber = n;
    this.blockText = String(n);
    this.time = time;
    this.blocks.number.push(this.blockText);
    this.blocks.time.push(String(time));
    return true;
  }

  /** A decoded event; `time` is its block's unix time. */
  addEvent(e: ChainEvent, time: number) {
    if (this.enter(Number(e.blockNumber), time)) this.blocks.hash.push(e.blockHash);
    else if (e.blockHash !== this.blocks.hash.at(-1))
      throw new Error(`Events of block ${e.blockNumber} name two block hashes`);
    this.events++;
    const name = copyValue(e.name);
    const args = argsText(e);
    const isTransfer = e.name === "TransferSingle" || e.name === "TransferBatch";
    const a = e.args as TransferArgs;
    const from = isTransfer ? a.from : "\\N";
    const to = isTransfer ? a.to : "\\N";
    const { chainId, blockText } = this;
    this.rows
      .row(
        chainId.length +
          blockText.length +
          e.txHash.length +
          e.address.length +
          name.length +
          args.length +
          from.length +
          to.length +
          40,
      )
      .value(chainId)
      .value(blockText)
      .value(e.txHash)
      .value(String(e.logIndex))
      .value(e.address)
      .value(name)
      .value(args)
      .value(from)
      .last(to);
    if (e.name === "TransferSingle") {
      const edition = this.moves.edition(e.address, exactAmount(a.id!));
      this.moves.add(
        edition,
        this.moves.owner(a.from.slice(2)),
        this.moves.owner(a.to.slice(2)),
        exactAmount(a.value!),
        this.blockNumber,
        this.time,
      );
    } else if (e.name === "TransferBatch") {
      const from = this.moves.owner(a.from.slice(2));
      const to = this.moves.owner(a.to.slice(2));
      for (let i = 0; i < a.ids!.length; i++) {
        const edition = this.moves.edition(e.address, exactAmount(a.ids![i]!));
        this.moves.add(edition, from, to, exactAmount(a.values![i]!), this.blockNumber, this.time);
      }
    } else if (!addConfigKey(this.config, e.address, e.name, e.args)) {
      const created = collectionOf(e);
      if (created) this.collections.push(created);
    }
  }

  /**
   * Row `row` of `t`, a TransferSingle (`batch` false) or TransferBatch log of contract `address` (lowercase), in
   * block time `time`. Returns false, having written nothing, when the log does not have the event's shape: the
   * caller then decodes it the general way, which names what is wrong with it.
   */
  addTransferLog(t: LogTable, row: number, address: string, batch: boolean, time: number): boolean {
    if (t.topicCount[row] !== 4) return false;
    const src = t.bytes;
    const data = t.data[row]! + 2;
    const words = t.dataDigits[row]! / 64;
    // TransferBatch: ABI encoding, two offsets (in bytes from the start of data), each to a length word and items.
    let ids = 0;
    let values = 0;
    let count = 1;
    if (!batch) {
      if (words !== 2) return false;
    } else {
      if (words < 2) return false;
      const idArray = arrayAt(src, data, words, 0);
      const valueArray = arrayAt(src, data, words, 1);
      if (!idArray || !valueArray || idArray.length !== valueArray.length) return false;
      ids = idArray.first;
      values = valueArray.first;
      count = idArray.length;
    }
    if (this.enter(t.blockNumber[row]!, time))
      this.blocks.hash.push(latin1(src, t.blockHash[row]!, t.blockHash[row]! + 66));
    this.events++;
    const topic1 = t.topics[row * 4 + 1]! + 26;
    const from = t.topics[row * 4 + 2]! + 26;
    const to = t.topics[row * 4 + 3]! + 26;
    const { chainId, blockText } = this;
    const w = this.rows
      .row(700 + count * 2 * 80)
      .value(chainId)
      .value(blockText)
      .raw(src, t.txHash[row]!, 66)
      .tab()
      .decimal(t.logIndex[row]!)
      .tab()
      .value(address)
      .bytes(batch ? TRANSFER_BATCH_NAME : TRANSFER_SINGLE_NAME)
      .tab()
      .bytes(ARGS_OPERATOR)
      .hex(src, topic1, 40);
    const fromOwner = this.moves.ownerAt(src, from);
    const toOwner = this.moves.ownerAt(src, to);
    if (!batch) {
      const id = readWord(src, data);
      const value = readWord(src, data + 64);
      w.bytes(ARGS_ID).amount(id).bytes(ARGS_VALUE).amount(value).text('"}');
      this.moves.add(this.moves.edition(address, id), fromOwner, toOwner, value, this.blockNumber, this.time);
    } else {
      const idList: Amount[] = new Array<Amount>(count);
      const valueList: Amount[] = new Array<Amount>(count);
      for (let i = 0; i < count; i++) {
        idList[i] = readWord(src, data + (ids + i) * 64);
        valueList[i] = readWord(src, data + (values + i) * 64);
      }
      w.bytes(ARGS_IDS).amounts(idList).bytes(ARGS_VALUES).amounts(valueList).text("]}");
      for (let i = 0; i < count; i++) {
        this.moves.add(
          this.moves.edition(address, idList[i]!),
          fromOwner,
          toOwner,
          valueList[i]!,
          this.blockNumber,
          this.time,
        );
      }
    }
    w.tab().hex(src, from, 40).tab().hex(src, to, 40).end();
    return true;
  }

  finish(batch: Omit<Batch, "events">): PreparedBatch {
    return {
      batch,
      eventCount: this.events,
      eventChunks: this.rows.chunks(),
      moves: this.moves.finish(),
      collections: this.collections,
      config: this.config,
      blocks: this.blocks,
    };
  }
}

/** A batch of decoded events, prepared for the write (see BatchBuilder). */
export function prepareBatch(batch: Batch): PreparedBatch {
  const times = new Map(batch.headers.map((h) => [h.number, h.timestamp]));
  times.set(batch.head.number, batch.head.timestamp);
  const builder = new BatchBuilder(batch.chainId);
  for (const e of batch.events) {
    const t = e.blockTime ?? times.get(e.blockNumber);
    if (t === undefined) throw new Error(`No block time for event ${e.txHash}#${e.logIndex} in block ${e.blockNumber}`);
    builder.addEvent(e, Number(t));
  }
  const { events: _decoded, ...rest } = batch;
  return builder.finish(rest);
}
