/**
 * A reader for the one answer that is most of the indexer's input: the array of logs eth_getLogs returns. It reads
 * the answer's bytes in place and records, per log, where each field sits and the few numbers it needs, in typed
 * arrays: no JSON.parse, no object or string per field. At 100k logs per second JSON.parse's objects, and the
 * garbage collector's work on them, were most of the fetch thread's time.
 *
 * It checks as it reads (every hex field's digits and length, the shape of topics and data), and returns null on
 * anything it does not expect (an escape, a missing field, a number too large, a non-hex digit): the caller then
 * parses the same bytes with JSON.parse and takes the general path, which accepts or refuses exactly as before. So
 * this reader only ever makes accepting a well-formed answer faster; it never decides alone what is malformed.
 */

import type { RawLog } from "./events.ts";

/** Hex digit → its lowercase character code; 0 for anything else. */
export const HEX_LOWER = new Uint8Array(256);
for (const c of "0123456789abcdef") HEX_LOWER[c.charCodeAt(0)] = c.charCodeAt(0);
for (const c of "ABCDEF") HEX_LOWER[c.charCodeAt(0)] = c.toLowerCase().charCodeAt(0);
/** Hex digit → its value; 255 for anything else. */
export const HEX_VALUE = new Uint8Array(256).fill(255);
for (let i = 0; i < 16; i++) {
  HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;
  HEX_VALUE["0123456789ABCDEF".charCodeAt(i)] = i;
}

/** Two bytes (the first in the low byte) → 1 if both are hex digits, else 0: half the lookups of HEX_VALUE. */
const HEX_PAIR = new Uint8Array(65536);
for (let a = 0; a < 256; a++)
  for (let c = 0; c < 256; c++) if (HEX_VALUE[a] !== 255 && HEX_VALUE[c] !== 255) HEX_PAIR[a | (c << 8)] = 1;

/** `bytes[start, end)` as a string, one byte per character (Buffer's own fast path, which its typings omit). */
export function latin1(bytes: Buffer, start: number, end: number): string {
  return (bytes as Buffer & { latin1Slice(start: number, end: number): string }).latin1Slice(start, end);
}

const QUOTE = 34;
const COMMA = 44;
const COLON = 58;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const BACKSLASH = 92;

function isSpace(c: number) {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** Logs read from an answer's bytes: per log, offsets into `bytes` (of the opening `0` of each `0x…` value). */
export type LogTable = {
  bytes: Buffer;
  count: number;
  address: Int32Array;
  /** Four per log; -1 where the log has fewer topics. */
  topics: Int32Array;
  topicCount: Uint8Array;
  data: Int32Array;
  /** Characters of data after `0x` (a multiple of 64). */
  dataDigits: Int32Array;
  blockHash: Int32Array;
  txHash: Int32Array;
  blockNumber: Float64Array;
  logIndex: Float64Array;
  /** -1 where the node gave no block time with the log. */
  blockTimestamp: Float64Array;
  removed: Uint8Array;
};

function newTable(bytes: Buffer, capacity: number): LogTable {
  return {
    bytes,
    count: 0,
    address: new Int32Array(capacity),
    topics: new Int32Array(capacity * 4),
    topicCount: new Uint8Array(capacity),
    data: new Int32Array(capacity),
    dataDigits: new Int32Array(capacity),
    blockHash: new Int32Array(capacity),
    txHash: new Int32Array(capacity),
    blockNumber: new Float64Array(capacity),
    logIndex: new Float64Array(capacity),
    blockTimestamp: new Float64Array(capacity),
    removed: new Uint8Array(capacity),
  };
}

/** Tables given back (see releaseTable), reused: their columns are kept at the size of the largest answers. */
const spareTables: LogTable[] = [];

/** Gives a table back once nothing reads it any more. */
export function releaseTable(t: LogTable) {
  if (spareTables.length < 4) spareTables.push(t);
}

function takeTable(bytes: Buffer): LogTable {
  const t = spareTables.pop() ?? newTable(bytes, 1024);
  t.bytes = bytes;
  t.count = 0;
  return t;
}

function grow(t: LogTable): LogTable {
  const bigger = newTable(t.bytes, t.address.length * 2);
  bigger.count = t.count;
  for (const key of [
    "address",
    "topics",
    "topicCount",
    "data",
    "dataDigits",
    "blockHash",
    "txHash",
    "blockNumber",
    "logIndex",
    "blockTimestamp",
    "removed",
  ] as const) {
    (bigger[key] as Int32Array).set(t[key]);
  }
  return bigger;
}

/** A cursor over the answer; `at` is -1 once something unexpected was seen. */
class Cursor {
  at: number;
  readonly b: Buffer;
  readonly end: number;
  constructor(b: Buffer, start: number, end: number) {
    this.b = b;
    this.at = start;
    this.end = end;
  }
  /** Skips whitespace; returns the next byte (or -1 at the end). */
  peek(): number {
    const b = this.b;
    while (this.at < this.end && isSpace(b[this.at]!)) this.at++;
    return this.at < this.end ? b[this.at]! : -1;
  }
  expect(c: number): boolean {
    if (this.peek() !== c) return false;
    this.at++;
    return true;
  }
  /**
   * A `"0x…"` string of hex digits, `min` to `max` of them; returns the offset of its `0`, or -1. Digits are
   * checked here, so the copies made from them later need no second check.
   */
  hex(min: number, max: number): number {
    if (!this.expect(QUOTE)) return -1;
    const b = this.b;
    const start = this.at;
    if (b[start] !== 48 || b[start + 1] !== 120) return -1;
    if (min === max) {
      // A fixed length (addresses, hashes, topics: most of the answer): the closing quote must stand right there,
      // and the digits are checked without a test per digit for the end (HEX_VALUE is 255 for a non-digit).
      const end = start + 2 + min;
      if (end >= this.end || b[end] !== QUOTE) return -1;
      let ok = 1;
      for (let i = start + 2; i < end; i += 2) ok &= HEX_PAIR[b[i]! | (b[i + 1]! << 8)]!;
      if (ok === 0) return -1;
      this.at = end + 1;
      return start;
    }
    let i = start + 2;
    const limit = Math.min(this.end, i + max + 1);
    while (i < limit && HEX_LOWER[b[i]!] !== 0) i++;
    const digits = i - start - 2;
    if (digits < min || digits > max || i >= this.end || b[i] !== QUOTE) return -1;
    this.at = i + 1;
    return start;
  }
  /** A `"0x…"` quantity of 1 to 13 hex digits (exact in a double), or -1. */
  quantity(): number {
    const start = this.hex(1, 13);
    if (start < 0) return -1;
    let value = 0;
    for (let i = start + 2; i < this.at - 1; i++) value = value * 16 + HEX_VALUE[this.b[i]!]!;
    return value;
  }
  /** An object key (no escapes); returns its first byte's offset and sets `keyLength`, or -1. */
  keyLength = 0;
  key(): number {
    if (!this.expect(QUOTE)) return -1;
    const b = this.b;
    const start = this.at;
    let i = start;
    while (i < this.end && b[i] !== QUOTE) {
      if (b[i] === BACKSLASH) return -1;
      i++;
    }
    if (i >= this.end) return -1;
    this.keyLength = i - start;
    this.at = i + 1;
    return this.expect(COLON) ? start : -1;
  }
  /** Skips any JSON value (a field this reader does not use); false if it is cut off. */
  skipValue(): boolean {
    const b = this.b;
    const c = this.peek();
    if (c === QUOTE) {
      let i = this.at + 1;
      while (i < this.end && b[i] !== QUOTE) i += b[i] === BACKSLASH ? 2 : 1;
      if (i >= this.end) return false;
      this.at = i + 1;
      return true;
    }
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      let depth = 0;
      let i = this.at;
      while (i < this.end) {
        const d = b[i]!;
        if (d === QUOTE) {
          i++;
          while (i < this.end && b[i] !== QUOTE) i += b[i] === BACKSLASH ? 2 : 1;
        } else if (d === OPEN_ARRAY || d === OPEN_OBJECT) depth++;
        else if ((d === CLOSE_ARRAY || d === CLOSE_OBJECT) && --depth === 0) {
          this.at = i + 1;
          return true;
        }
        i++;
      }
      return false;
    }
    // A number or a literal: up to the next delimiter.
    let i = this.at;
    while (i < this.end && b[i] !== COMMA && b[i] !== CLOSE_OBJECT && b[i] !== CLOSE_ARRAY && !isSpace(b[i]!)) i++;
    if (i === this.at || i >= this.end) return false;
    this.at = i;
    return true;
  }
  /** `true` or `false`; returns 1, 0, or -1. */
  boolean(): number {
    const c = this.peek();
    const b = this.b;
    if (c === 116 && b[this.at + 1] === 114 && b[this.at + 2] === 117 && b[this.at + 3] === 101) {
      this.at += 4;
      return 1;
    }
    if (
      c === 102 &&
      b[this.at + 1] === 97 &&
      b[this.at + 2] === 108 &&
      b[this.at + 3] === 115 &&
      b[this.at + 4] === 101
    ) {
      this.at += 5;
      return 0;
    }
    return -1;
  }
}

/** The field names a log has, by their bytes. */
const FIELDS = [
  "address",
  "topics",
  "data",
  "blockNumber",
  "blockHash",
  "transactionHash",
  "logIndex",
  "blockTimestamp",
  "removed",
] as const;
type Field = (typeof FIELDS)[number];
/** Candidates by name length (address and removed share one), so a key is compared with one name, not nine. */
const FIELDS_BY_LENGTH: { name: Field; bytes: Buffer }[][] = [];
for (const name of FIELDS) (FIELDS_BY_LENGTH[name.length] ??= []).push({ name, bytes: Buffer.from(name, "latin1") });

function fieldAt(b: Buffer, start: number, length: number): Field | undefined {
  const candidates = FIELDS_BY_LENGTH[length];
  if (candidates === undefined) return undefined;
  for (const { name, bytes } of candidates) {
    let same = true;
    for (let i = 0; i < length && same; i++) same = bytes[i] === b[start + i];
    if (same) return name;
  }
  return undefined;
}

const REQUIRED = (1 << 7) - 1; // address .. logIndex

/** Reads one log object into row `row` of `t`; false if it is not a log this reader can take. */
function readLog(c: Cursor, t: LogTable, row: number): boolean {
  if (!c.expect(OPEN_OBJECT)) return false;
  let seen = 0;
  t.blockTimestamp[row] = -1;
  t.removed[row] = 0;
  if (c.peek() === CLOSE_OBJECT) return false;
  for (;;) {
    const k = c.key();
    if (k < 0) return false;
    const field = fieldAt(c.b, k, c.keyLength);
    switch (field) {
      case "address":
        if ((t.address[row] = c.hex(40, 40)) < 0) return false;
        seen |= 1;
        break;
      case "topics": {
        if (!c.expect(OPEN_ARRAY)) return false;
        let n = 0;
        if (c.peek() === CLOSE_ARRAY) return false; // no topic0: the general path refuses it
        for (;;) {
          if (n === 4) return false;
          const topic = c.hex(64, 64);
          if (topic < 0) return false;
          t.topics[row * 4 + n++] = topic;
          if (c.expect(COMMA)) continue;
          if (c.expect(CLOSE_ARRAY)) break;
          return false;
        }
        for (let i = n; i < 4; i++) t.topics[row * 4 + i] = -1;
        t.topicCount[row] = n;
        seen |= 2;
        break;
      }
      case "data": {
        const start = c.hex(0, 1 << 30);
        if (start < 0) return false;
        const digits = c.at - 1 - start - 2;
        if (digits % 64 !== 0) return false;
        t.data[row] = start;
        t.dataDigits[row] = digits;
        seen |= 4;
        break;
      }
      case "blockNumber":
        if ((t.blockNumber[row] = c.quantity()) < 0) return false;
        seen |= 8;
        break;
      case "blockHash":
        if ((t.blockHash[row] = c.hex(64, 64)) < 0) return false;
        seen |= 16;
        break;
      case "transactionHash":
        if ((t.txHash[row] = c.hex(64, 64)) < 0) return false;
        seen |= 32;
        break;
      case "logIndex":
        if ((t.logIndex[row] = c.quantity()) < 0) return false;
        seen |= 64;
        break;
      case "blockTimestamp":
        if ((t.blockTimestamp[row] = c.quantity()) < 0) return false;
        break;
      case "removed": {
        const removed = c.boolean();
        if (removed < 0) return false;
        t.removed[row] = removed;
        break;
      }
      default:
        if (!c.skipValue()) return false;
    }
    if (c.expect(COMMA)) continue;
    if (c.expect(CLOSE_OBJECT)) return seen === REQUIRED;
    return false;
  }
}

/**
 * Reads the JSON array of logs that starts at `start` (after any whitespace) of `bytes[…, end)`; returns the table
 * and where the array ended, or null if it holds anything this reader does not take (the caller then falls back to
 * JSON.parse). The table points into `bytes`, which must not be reused while it is in use.
 */
export function readLogs(bytes: Buffer, start: number, end: number): { value: LogTable; end: number } | null {
  const c = new Cursor(bytes, start, end);
  if (!c.expect(OPEN_ARRAY)) return null;
  let t = takeTable(bytes);
  if (c.expect(CLOSE_ARRAY)) return { value: t, end: c.at };
  for (;;) {
    if (t.count === t.address.length) t = grow(t);
    if (!readLog(c, t, t.count)) return null;
    t.count++;
    if (c.expect(COMMA)) continue;
    if (c.expect(CLOSE_ARRAY)) return { value: t, end: c.at };
    return null;
  }
}

/**
 * Reads a value at `start` of `bytes[…, end)` (see readLogs): the value and where it ended, or null when this
 * reader does not take it.
 */
export type ValueReader = (bytes: Buffer, start: number, end: number) => { value: unknown; end: number } | null;

/** Where each item of a JSON-RPC batch answer sits: its id, and its result (read, or as bytes) or its error. */
export type BatchItemSpan = { id: number; read?: unknown; result?: [number, number]; error?: [number, number] };

/**
 * Splits a JSON-RPC batch answer (an array of `{jsonrpc, id, result | error}`) into its items without parsing the
 * results, except that the result of an item whose id `readerFor` has a reader for is read by it in the same pass
 * (when the item's id comes before its result, as nodes write it). Null if it is not such an array (the caller parses
 * it whole, and reports it malformed if need be).
 */
export function scanBatchAnswer(
  bytes: Buffer,
  start: number,
  end: number,
  readerFor: (id: number) => ValueReader | undefined,
): BatchItemSpan[] | null {
  const c = new Cursor(bytes, start, end);
  if (!c.expect(OPEN_ARRAY)) return null;
  const items: BatchItemSpan[] = [];
  if (c.expect(CLOSE_ARRAY)) return c.peek() === -1 ? items : null;
  for (;;) {
    if (!c.expect(OPEN_OBJECT)) return null;
    const item: BatchItemSpan = { id: -1 };
    if (c.peek() !== CLOSE_OBJECT) {
      for (;;) {
        const k = c.key();
        if (k < 0) return null;
        const name = latin1(bytes, k, k + c.keyLength);
        c.peek();
        const valueStart = c.at;
        const reader = name === "result" && item.id >= 0 ? readerFor(item.id) : undefined;
        const read = reader?.(bytes, valueStart, end);
        if (read) {
          item.read = read.value;
          c.at = read.end;
        } else if (!c.skipValue()) return null;
        if (name === "id") {
          const id = Number(latin1(bytes, valueStart, c.at));
          if (!Number.isSafeInteger(id)) return null;
          item.id = id;
        } else if (name === "result" && !read) item.result = [valueStart, c.at];
        else if (name === "error") item.error = [valueStart, c.at];
        if (c.expect(COMMA)) continue;
        if (c.peek() === CLOSE_OBJECT) break;
        return null;
      }
    }
    c.at++;
    items.push(item);
    if (c.expect(COMMA)) continue;
    if (c.expect(CLOSE_ARRAY)) break;
    return null;
  }
  return c.peek() === -1 ? items : null;
}

/** Row `row` of `t` as the object JSON.parse would have made of it, for the general path. */
export function rawLogAt(t: LogTable, row: number): RawLog {
  const b = t.bytes;
  const text = (start: number, length: number) => latin1(b, start, start + length);
  const topics: string[] = [];
  for (let i = 0; i < t.topicCount[row]!; i++) topics.push(text(t.topics[row * 4 + i]!, 66));
  const timestamp = t.blockTimestamp[row]!;
  return {
    address: text(t.address[row]!, 42),
    topics,
    data: text(t.data[row]!, 2 + t.dataDigits[row]!),
    blockNumber: `0x${t.blockNumber[row]!.toString(16)}`,
    blockHash: text(t.blockHash[row]!, 66),
    transactionHash: text(t.txHash[row]!, 66),
    logIndex: `0x${t.logIndex[row]!.toString(16)}`,
    removed: t.removed[row] === 1,
    ...(timestamp >= 0 ? { blockTimestamp: `0x${timestamp.toString(16)}` } : {}),
  };
}
