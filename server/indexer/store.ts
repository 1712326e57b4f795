import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { collectionOf, type ChainEvent, type CollectionRow } from "./events.ts";
import { HEX_LOWER, HEX_VALUE, latin1, type LogTable } from "./log-scan.ts";

export type { CollectionRow };

/**
 * The indexer's write side. Raw events (`chain_event`) are the source of truth; every other table is a projection
 * derived from them: transfers, balances with held-since, edition supply and holders, collections. A batch, its
 * projections, its block headers and the checkpoint commit in ONE transaction, so a crash at any point leaves the
 * database at a checkpoint. Writes are set-based (unnest), never row by row.
 */

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
    super(`${message} Run \`npm run indexer:rebuild -- --rewind <block>\` to rewind below it, then restart the indexer.`);
    this.name = "IndexInvariantError";
  }
}

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** Transaction-scoped lock that serialises every write of one chain's index (batches, rollbacks, rebuilds). */
const WRITE_LOCK_CLASS = 0x5045524b; // "PERK"

async function lockChain(tx: pg.PoolClient | pg.Client, chainId: number) {
  await tx.query("SELECT pg_advisory_xact_lock($1, $2)", [WRITE_LOCK_CLASS, chainId]);
}

/** COPY text format: backslash, tab, newline and carriage return escaped. */
function copyValue(text: string): string {
  return /[\\\t\n\r]/.test(text) ? text.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r") : text;
}

/**
 * COPY text, built outside the transaction (see prepareBatch) straight into Buffers of about 1 MB. Every value
 * written is ASCII (hex, decimal, ISO times, escaped ASCII JSON), so each is copied in as latin1: no per-row
 * strings to concatenate, join or UTF-8 encode, which at 100k rows per second is most of the cost of a row.
 */
/**
 * Spare COPY buffers. A batch's buffers come back here once PostgreSQL has them (see PreparedBatch.recycle): 50 MB of
 * fresh buffers per 100k events would each count as new external memory, and V8 answers that with full garbage
 * collections on both threads.
 */
const spareCopyBuffers: ArrayBuffer[] = [];
const COPY_BUFFER_SIZE = 1 << 20;

/** Takes back the buffers of COPY chunks that were written (those of the standard size; at most 32 are kept). */
export function recycleCopyChunks(chunks: ArrayBufferLike[]) {
  for (const buffer of chunks) {
    if (buffer.byteLength === COPY_BUFFER_SIZE && spareCopyBuffers.length < 32 && buffer instanceof ArrayBuffer) spareCopyBuffers.push(buffer);
  }
}

class CopyWriter {
  private static readonly SIZE = COPY_BUFFER_SIZE;
  private readonly done: Buffer[] = [];
  private buffer = Buffer.allocUnsafe(CopyWriter.SIZE);
  private at = 0;
  /** Starts a row; `room` is an upper bound of its length in bytes. */
  row(room: number) {
    if (this.at + room + 1 > this.buffer.length) {
      if (this.at > 0) this.done.push(this.buffer.subarray(0, this.at));
      const spare = room + 1 <= CopyWriter.SIZE ? spareCopyBuffers.pop() : undefined;
      this.buffer = spare ? Buffer.from(spare) : Buffer.allocUnsafe(Math.max(CopyWriter.SIZE, room + 1));
      this.at = 0;
    }
    return this;
  }
  /** An ASCII value that needs no escaping (validated hex, numbers), followed by a tab. */
  value(text: string) {
    this.at += this.buffer.write(text, this.at, "latin1");
    this.buffer[this.at++] = 9;
    return this;
  }
  /** The last value of the row (ASCII, already escaped), then the end of the row. */
  last(text: string) {
    this.at += this.buffer.write(text, this.at, "latin1");
    this.buffer[this.at++] = 10;
  }
  /** ASCII text, no separator. */
  text(text: string) {
    this.at += this.buffer.write(text, this.at, "latin1");
    return this;
  }
  /** Constant bytes, no separator. */
  bytes(bytes: Buffer) {
    this.at += bytes.copy(this.buffer, this.at);
    return this;
  }
  tab() {
    this.buffer[this.at++] = 9;
    return this;
  }
  end() {
    this.buffer[this.at++] = 10;
  }
  /** `length` bytes of `src` from `start`, as they are (checked hex from log-scan.ts). */
  raw(src: Buffer, start: number, length: number) {
    const b = this.buffer;
    let at = this.at;
    for (let i = start, end = start + length; i < end; i++) b[at++] = src[i]!;
    this.at = at;
    return this;
  }
  /** `0x` and `digits` hex digits of `src` from `start` (already checked as hex by log-scan.ts), lowercased. */
  hex(src: Buffer, start: number, digits: number) {
    const b = this.buffer;
    let at = this.at;
    b[at++] = 48;
    b[at++] = 120;
    for (let i = start, end = start + digits; i < end; i++) b[at++] = HEX_LOWER[src[i]!]!;
    this.at = at;
    return this;
  }
  /** A non-negative integer below 2^53, in decimal. */
  decimal(n: number) {
    const b = this.buffer;
    if (n < 10) {
      b[this.at++] = 48 + n;
      return this;
    }
    if (n < 100) {
      // Log indexes, token ids and amounts are mostly this small.
      const tens = (n / 10) | 0;
      b[this.at++] = 48 + tens;
      b[this.at++] = 48 + n - tens * 10;
      return this;
    }
    const digits = n < 1e15 ? Math.floor(Math.log10(n)) + 1 : String(n).length;
    // log10 can be off by one next to powers of ten: correct it.
    let width = digits;
    if (n >= 10 ** width) width++;
    else if (n < 10 ** (width - 1)) width--;
    let at = this.at + width;
    this.at = at;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      b[--at] = 48 + (n - q * 10);
      n = q;
    }
    b[--at] = 48 + n;
    return this;
  }
  amount(a: Amount) {
    return typeof a === "number" ? this.decimal(a) : this.text(a.toString());
  }
  /** Amounts as the items of a JSON array of strings: `"1","2"`. */
  amounts(list: Amount[]) {
    for (let i = 0; i < list.length; i++) this.text(i > 0 ? ',"' : '"').amount(list[i]!).text('"');
    return this;
  }
  chunks(): Buffer[] {
    if (this.at > 0) this.done.push(this.buffer.subarray(0, this.at));
    this.at = 0;
    this.buffer = Buffer.allocUnsafe(0);
    return this.done;
  }
}

/**
 * JSON text that is pure ASCII: characters beyond it become \uXXXX escapes, which jsonb reads back as the same text.
 * NUL, which jsonb refuses, becomes U+FFFD, so one odd string in an event cannot stop the indexer.
 */
function asciiJson(value: unknown): string {
  let json = JSON.stringify(value);
  if (json.includes("\\u0000")) json = JSON.stringify(value, (_key, v: unknown) => (typeof v === "string" ? v.replaceAll("\0", "\ufffd") : v));
  if (!/[^\x00-\x7f]/.test(json)) return json;
  return json.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Appends rows with COPY, the fastest way into PostgreSQL (several times an INSERT of the same rows). No ON
 * CONFLICT: the checkpoint guard means none of these rows can exist yet, and if one does, the primary key fails the
 * whole transaction rather than letting an event count twice.
 */
async function copyRows(tx: pg.PoolClient, table: string, columns: string[], chunks: Buffer[]) {
  if (chunks.length === 0) return;
  const stream = tx.query(copyFrom(`COPY ${table} (${columns.join(", ")}) FROM STDIN`));
  try {
    await pipeline(Readable.from(chunks), stream);
  } catch (error) {
    if ((error as { code?: string }).code === "23505") {
      throw new IndexInvariantError(`${table}: a row of this batch was already stored above the checkpoint (${(error as Error).message}).`);
    }
    throw error;
  }
}

type Queryable = pg.Pool | pg.PoolClient | pg.Client;

/** Values a PostgreSQL array literal holds without quoting: hex and decimal (addresses, hashes, ids, amounts). */
const PLAIN_ARRAY_ITEM = /^(?:0x[0-9a-fA-F]+|-?[0-9]+)$/;

/**
 * An array parameter for unnest(): a PostgreSQL array literal built by one join when every item is plain (see
 * PLAIN_ARRAY_ITEM; null becomes NULL), else the array itself for pg to quote. pg's own conversion quotes and
 * concatenates item by item, which at a few thousand items per batch was the indexer's largest source of garbage.
 */
function arrayParam(items: readonly (string | number | null)[]): string | readonly (string | number | null)[] {
  for (const item of items) if (item !== null && typeof item !== "number" && !PLAIN_ARRAY_ITEM.test(item)) return items;
  return `{${items.map((item) => (item === null ? "NULL" : item)).join(",")}}`;
}

async function inTransaction<T>(db: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const tx = await db.connect();
  try {
    await tx.query("BEGIN");
    const result = await fn(tx);
    await tx.query("COMMIT");
    return result;
  } catch (error) {
    await tx.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    tx.release();
  }
}

export async function readCheckpoint(db: Queryable, chainId: number): Promise<Checkpoint | null> {
  const { rows } = await db.query<{ block_number: string; block_hash: string }>(
    "SELECT block_number, block_hash FROM indexer_checkpoint WHERE chain_id = $1",
    [chainId],
  );
  const row = rows[0];
  return row ? { blockNumber: BigInt(row.block_number), blockHash: row.block_hash } : null;
}

/** Stored headers from newest to oldest, for walking back to a common ancestor after a reorg. */
export async function readRecentBlocks(db: Queryable, chainId: number, limit: number): Promise<BlockHeader[]> {
  const { rows } = await db.query<{ number: string; hash: string; parent_hash: string; ts: string }>(
    `SELECT number, hash, parent_hash, extract(epoch FROM timestamp)::bigint AS ts FROM indexed_block
     WHERE chain_id = $1 ORDER BY number DESC LIMIT $2`,
    [chainId, limit],
  );
  return rows.map((r) => ({ number: BigInt(r.number), hash: r.hash, parentHash: r.parent_hash, timestamp: BigInt(r.ts) }));
}

/**
 * A batch's balance movements, worked out outside the transaction (see BatchBuilder): every (collection, token,
 * owner) the batch touches gets a slot, and each transfer refers to its sender's and recipient's slots, so the
 * transaction itself only reads the slots' balances, walks integers and writes the results. Per-transfer columns are
 * typed arrays: they cross from the fetch thread without being cloned value by value.
 */
export type BalanceMoves = {
  /** The touched balances, by slot. */
  keys: { collection: string[]; tokenId: string[]; owner: string[] };
  editionOfSlot: Int32Array;
  /** Per edition touched: minted and burned in this batch (decimal). */
  editions: { collection: string[]; tokenId: string[]; minted: string[]; burned: string[] };
  /** Per transfer, in chain order: sender slot and recipient slot (-1: none, a mint, burn or self-transfer). */
  fromSlot: Int32Array;
  toSlot: Int32Array;
  /** Per transfer: its amount, exact in a double unless `bigAmount` is set, which then holds every amount (decimal). */
  amount: Float64Array;
  /** The sum of `amount` (computed as they were added, so the write need not walk them for it). */
  amountTotal: number;
  bigAmount?: string[];
  blockNumber: Float64Array;
  blockTime: Float64Array;
};

/** The typed arrays of a BalanceMoves, to be moved (not copied) to another thread. */
export function movesTransferList(m: BalanceMoves): ArrayBuffer[] {
  return [m.editionOfSlot, m.fromSlot, m.toSlot, m.amount, m.blockNumber, m.blockTime].map((a) => a.buffer as ArrayBuffer);
}

/** A token id or amount as a map key or a number: a double when exact, else its decimal text. */
type Amount = number | bigint;
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);
function exactAmount(decimal: string): Amount {
  if (decimal.length < 16) return Number(decimal);
  const big = BigInt(decimal);
  return big <= MAX_EXACT ? Number(big) : big;
}
function addAmounts(a: Amount, b: Amount): Amount {
  if (typeof a === "number" && typeof b === "number" && a + b <= Number.MAX_SAFE_INTEGER) return a + b;
  return BigInt(a) + BigInt(b);
}

/** A growable column of numbers in a typed array: no garbage per value, and it crosses threads as one buffer. */
class Column<A extends Int32Array | Float64Array> {
  private length = 0;
  private values: A;
  constructor(values: A) {
    this.values = values;
  }
  push(value: number) {
    if (this.length === this.values.length) {
      const bigger = new (this.values.constructor as new (n: number) => A)(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = value;
  }
  get size() {
    return this.length;
  }
  finish(): A {
    return this.values.slice(0, this.length) as A;
  }
}

/**
 * An owner's key without making its string: the value of its last 7 hex digits (of 40, from `start` in `src`).
 * Addresses are hashes, so their tails are as good as random; a match is then checked digit by digit.
 */
function ownerKey(src: Buffer, start: number): number {
  let key = 0;
  for (let i = start + 33; i < start + 40; i++) key = key * 16 + HEX_VALUE[src[i]!]!;
  return key;
}

class MovesBuilder {
  private readonly keys = { collection: [] as string[], tokenId: [] as string[], owner: [] as string[] };
  private readonly editionOfSlot = new Column(new Int32Array(64));
  private readonly editions = { collection: [] as string[], tokenId: [] as string[], minted: [] as Amount[], burned: [] as Amount[] };
  /** collection → token id (exact double or bigint) → edition. */
  private readonly editionIndex = new Map<string, Map<number | bigint, number>>();
  /** Owner (40 lowercase hex digits, no 0x) → owner number; and the same by hash of the digits, for the byte path. */
  private readonly ownerIndex = new Map<string, number>();
  private readonly ownerByHash = new Map<number, number[]>();
  private readonly owners: string[] = [];
  /** Per edition: owner number → slot. */
  private readonly slotsOf: Map<number, number>[] = [];
  private readonly fromSlot = new Column(new Int32Array(1024));
  private readonly toSlot = new Column(new Int32Array(1024));
  private readonly amount = new Column(new Float64Array(1024));
  /** The sum of the amounts that are doubles (a bound for projectTransfers; it need not be exact). */
  private amountTotal = 0;
  /** Set once an amount is not exact in a double: then every amount, as decimal text. */
  private bigAmount: string[] | undefined;
  private readonly blockNumber = new Column(new Float64Array(1024));
  private readonly blockTime = new Column(new Float64Array(1024));

  edition(collection: string, tokenId: Amount): number {
    let tokens = this.editionIndex.get(collection);
    if (tokens === undefined) this.editionIndex.set(collection, (tokens = new Map()));
    let edition = tokens.get(tokenId);
    if (edition === undefined) {
      edition = this.editions.collection.length;
      tokens.set(tokenId, edition);
      this.editions.collection.push(collection);
      this.editions.tokenId.push(tokenId.toString());
      this.editions.minted.push(0);
      this.editions.burned.push(0);
      this.slotsOf.push(new Map());
    }
    return edition;
  }

  /** The owner number of `digits` (40 lowercase hex digits, no 0x). */
  owner(digits: string): number {
    let o = this.ownerIndex.get(digits);
    if (o === undefined) {
      o = this.owners.length;
      this.ownerIndex.set(digits, o);
      this.owners.push(`0x${digits}`);
    }
    return o;
  }

  /** The owner number of the 40 hex digits of `src` from `start` (any case), making a string only for a new owner. */
  ownerAt(src: Buffer, start: number): number {
    const hash = ownerKey(src, start);
    const candidates = this.ownerByHash.get(hash);
    if (candidates) {
      for (let c = 0; c < candidates.length; c++) {
        const o = candidates[c]!;
        const known = this.owners[o]!;
        let i = 0;
        while (i < 40 && known.charCodeAt(i + 2) === HEX_LOWER[src[start + i]!]) i++;
        if (i === 40) return o;
      }
    }
    const o = this.owner(latin1(src, start, start + 40).toLowerCase());
    if (candidates) candidates.push(o);
    else this.ownerByHash.set(hash, [o]);
    return o;
  }

  private slot(edition: number, owner: number): number {
    const slots = this.slotsOf[edition]!;
    let slot = slots.get(owner);
    if (slot === undefined) {
      slot = this.keys.owner.length;
      slots.set(owner, slot);
      this.keys.collection.push(this.editions.collection[edition]!);
      this.keys.tokenId.push(this.editions.tokenId[edition]!);
      this.keys.owner.push(this.owners[owner]!);
      this.editionOfSlot.push(edition);
    }
    return slot;
  }

  /** Records one transfer (a TransferSingle, or one (id, value) of a TransferBatch) between owner numbers. */
  add(edition: number, from: number, to: number, amount: Amount, block: number, time: number) {
    const mint = from === this.zero;
    const burn = to === this.zero;
    if (mint) this.editions.minted[edition] = addAmounts(this.editions.minted[edition]!, amount);
    if (burn) this.editions.burned[edition] = addAmounts(this.editions.burned[edition]!, amount);
    const self = from === to;
    this.fromSlot.push(self || mint ? -1 : this.slot(edition, from));
    this.toSlot.push(self || burn ? -1 : this.slot(edition, to));
    if (typeof amount === "bigint" && !this.bigAmount) this.bigAmount = Array.from(this.amount.finish(), String);
    this.bigAmount?.push(amount.toString());
    this.amount.push(typeof amount === "number" ? amount : 0);
    if (typeof amount === "number") this.amountTotal += amount;
    this.blockNumber.push(block);
    this.blockTime.push(time);
  }

  /** The zero address's owner number: transfers from it are mints, to it burns. */
  private readonly zero = this.owner(ZERO_DIGITS);

  finish(): BalanceMoves {
    const e = this.editions;
    return {
      keys: this.keys,
      editionOfSlot: this.editionOfSlot.finish(),
      editions: { collection: e.collection, tokenId: e.tokenId, minted: e.minted.map(String), burned: e.burned.map(String) },
      fromSlot: this.fromSlot.finish(),
      toSlot: this.toSlot.finish(),
      amount: this.bigAmount ? new Float64Array(0) : this.amount.finish(),
      amountTotal: this.amountTotal,
      bigAmount: this.bigAmount,
      blockNumber: this.blockNumber.finish(),
      blockTime: this.blockTime.finish(),
    };
  }
}

const ZERO_DIGITS = "0".repeat(40);

/**
 * Balances and held-since after walking the batch's transfers in chain order from the stored `start` amounts.
 * Held-since must see every return to zero, even inside a batch. Generic over the number type: doubles when every
 * amount and sum is exact in one (nearly always), bigints otherwise.
 */
function walkBalances<N extends number | bigint>(m: BalanceMoves, start: N[], amountOf: (i: number) => N, zero: N) {
  const amount = [...start];
  const since: number[] = new Array<number>(start.length).fill(-2); // -2: unchanged, -1: none, else a transfer
  const move = (slot: number, after: N, i: number) => {
    const before = amount[slot]!;
    amount[slot] = after;
    if (after <= zero) since[slot] = -1;
    else if (before <= zero) since[slot] = i;
  };
  for (let i = 0; i < m.fromSlot.length; i++) {
    const from = m.fromSlot[i]!;
    const to = m.toSlot[i]!;
    const value = amountOf(i);
    if (from >= 0) move(from, ((amount[from]! as number) - (value as number)) as N, i);
    if (to >= 0) move(to, ((amount[to]! as number) + (value as number)) as N, i);
  }
  return { amount, since };
}

/**
 * Every move of a checkpoint (a batch applied, a rollback) is announced on this PostgreSQL channel when its
 * transaction commits, with the payload {"chainId", "block", "hash"}: API servers, tools and the benchmark follow the
 * index with LISTEN instead of polling it.
 */
export const CHECKPOINT_CHANNEL = "indexer_checkpoint";
const CHECKPOINT_NOTICE = `pg_notify('${CHECKPOINT_CHANNEL}', json_build_object('chainId', chain_id, 'block', block_number::text, 'hash', block_hash)::text)`;

/** Stored balance and held-since of the batch's keys, by slot (keys not stored are absent). */
type StoredBalances = { slot: number; amount: string; sb: string | null; st: string | null }[];

/** Reads the stored balance and held-since of every key the batch's transfers touch, in one query. */
async function readStoredBalances(tx: pg.PoolClient, chainId: number, m: BalanceMoves): Promise<StoredBalances> {
  if (m.fromSlot.length === 0) return [];
  const { rows } = await tx.query<StoredBalances[number]>(
    `SELECT (k.n - 1)::int AS slot, b.amount::text, b.held_since_block::text AS sb,
            extract(epoch FROM b.held_since_time)::bigint::text AS st
     FROM unnest($2::text[], $3::numeric[], $4::text[]) WITH ORDINALITY AS k(c, t, o, n)
     JOIN token_balance b ON b.chain_id = $1 AND b.collection = k.c AND b.token_id = k.t AND b.owner = k.o`,
    [chainId, arrayParam(m.keys.collection), arrayParam(m.keys.tokenId), arrayParam(m.keys.owner)],
  );
  return rows;
}

/** What a batch's transfers change, as the columns of the set-based writes in writeProjections. */
type ProjectionChanges = {
  upsert: { c: string[]; t: string[]; o: string[]; a: string[]; sb: (string | null)[]; st: (string | null)[] };
  removed: { c: string[]; t: string[]; o: string[] };
  supply: { c: string[]; t: string[]; minted: string[]; burned: string[]; holders: number[] };
};

/**
 * Walks the batch's transfers in chain order in memory from the `stored` state of the touched keys, and returns
 * the absolute balances and held-since to write, the keys back to zero, and the supply and holder changes.
 */
function projectTransfers(m: BalanceMoves, stored: StoredBalances): ProjectionChanges {
  const upsert: ProjectionChanges["upsert"] = { c: [], t: [], o: [], a: [], sb: [], st: [] };
  const removed: ProjectionChanges["removed"] = { c: [], t: [], o: [] };
  const e = m.editions;
  const holders: number[] = new Array<number>(e.collection.length).fill(0);
  const changes = { upsert, removed, supply: { c: e.collection, t: e.tokenId, minted: e.minted, burned: e.burned, holders } };
  if (m.fromSlot.length === 0) return changes;
  const slots = m.keys.owner.length;
  const startText: string[] = new Array<string>(slots).fill("0");
  const isStored: boolean[] = new Array<boolean>(slots).fill(false);
  const storedSince: { block: string | null; time: string | null }[] = new Array(slots);
  for (const r of stored) {
    isStored[r.slot] = true;
    startText[r.slot] = r.amount;
    storedSince[r.slot] = { block: r.sb, time: r.st };
  }
  // Doubles are exact while every balance stays below 2^53: bounded by the largest start plus all amounts.
  const bound = m.amountTotal;
  let maxStart = 0;
  for (const t of startText) maxStart = Math.max(maxStart, t.length > 16 ? Infinity : Math.abs(Number(t)));
  const exact = !m.bigAmount && bound + maxStart <= Number.MAX_SAFE_INTEGER;
  const startNumber = exact ? startText.map(Number) : [];
  const startBig = exact ? [] : startText.map((t) => BigInt(t));
  const walked = exact
    ? walkBalances(m, startNumber, (i) => m.amount[i]!, 0)
    : walkBalances(m, startBig, m.bigAmount ? (i) => BigInt(m.bigAmount![i]!) : (i) => BigInt(m.amount[i]!), 0n);
  collectChanges(m, exact ? startNumber : startBig, walked, isStored, storedSince, changes);
  return changes;
}

/** The writes for every slot of a batch, from its balance `before` and after the walk (see projectTransfers). */
function collectChanges(
  m: BalanceMoves,
  before: (number | bigint)[],
  walked: { amount: (number | bigint)[]; since: number[] },
  isStored: boolean[],
  storedSince: { block: string | null; time: string | null }[],
  { upsert, removed, supply: { holders } }: ProjectionChanges,
) {
  for (let slot = 0; slot < before.length; slot++) {
    const after = walked.amount[slot]!;
    const held = before[slot]! > 0;
    if (held !== after > 0) holders[m.editionOfSlot[slot]!]! += held ? -1 : 1;
    if (after === 0 || after === 0n) {
      if (isStored[slot]) {
        removed.c.push(m.keys.collection[slot]!);
        removed.t.push(m.keys.tokenId[slot]!);
        removed.o.push(m.keys.owner[slot]!);
      }
      continue;
    }
    const since = walked.since[slot]!;
    upsert.c.push(m.keys.collection[slot]!);
    upsert.t.push(m.keys.tokenId[slot]!);
    upsert.o.push(m.keys.owner[slot]!);
    upsert.a.push(after.toString());
    if (since === -2) {
      upsert.sb.push(storedSince[slot]?.block ?? null);
      upsert.st.push(storedSince[slot]?.time ?? null);
    } else {
      upsert.sb.push(since < 0 ? null : String(m.blockNumber[since]));
      upsert.st.push(since < 0 ? null : String(m.blockTime[since]));
    }
  }
}

/**
 * Every write of a batch after its raw events, in ONE statement (data-modifying CTEs, each over its own rows):
 * balances and held-since, keys back to zero, supply and holders, collections, block headers, the hash and time of
 * the events' blocks, and the checkpoint.
 * One statement rather than six: these writes wait for the previous batch's commit, so each round trip to
 * PostgreSQL here is time the whole pipeline waits.
 */
async function writeProjections(
  tx: pg.PoolClient,
  chainId: number,
  p: ProjectionChanges,
  prepared: Pick<PreparedBatch, "collections" | "blocks">,
  headers: BlockHeader[],
  head: BlockHeader,
) {
  const { collections, blocks: eventBlocks } = prepared;
  const headerRows = [...new Map(headers.map((h) => [h.number, h])).values()];
  const { upsert, removed, supply } = p;
  await tx.query(
    `WITH balances AS (
       INSERT INTO token_balance (chain_id, collection, token_id, owner, amount, held_since_block, held_since_time)
       SELECT $1, c, t, o, a, sb, to_timestamp(st)
       FROM unnest($2::text[], $3::numeric[], $4::text[], $5::numeric[], $6::bigint[], $7::bigint[]) AS u(c, t, o, a, sb, st)
       ON CONFLICT (chain_id, collection, token_id, owner) DO UPDATE
       SET amount = EXCLUDED.amount, held_since_block = EXCLUDED.held_since_block, held_since_time = EXCLUDED.held_since_time
     ), emptied AS (
       DELETE FROM token_balance b USING unnest($8::text[], $9::numeric[], $10::text[]) AS u(c, t, o)
       WHERE b.chain_id = $1 AND b.collection = u.c AND b.token_id = u.t AND b.owner = u.o
     ), supply AS (
       INSERT INTO token_supply (chain_id, collection, token_id, minted, burned, supply, holders)
       SELECT $1, c, t, m, b, m - b, h FROM unnest($11::text[], $12::numeric[], $13::numeric[], $14::numeric[], $15::int[]) AS u(c, t, m, b, h)
       ON CONFLICT (chain_id, collection, token_id) DO UPDATE
       SET minted = token_supply.minted + EXCLUDED.minted, burned = token_supply.burned + EXCLUDED.burned,
           supply = token_supply.supply + EXCLUDED.supply, holders = token_supply.holders + EXCLUDED.holders
     ), collections AS (
       INSERT INTO collection (chain_id, address, owner, contract_uri, created_block, created_tx)
       SELECT $1, * FROM unnest($16::text[], $17::text[], $18::text[], $19::bigint[], $20::text[])
       ON CONFLICT DO NOTHING
     ), blocks AS (
       INSERT INTO indexed_block (chain_id, number, hash, parent_hash, timestamp)
       SELECT $1, n, h, p, to_timestamp(t) FROM unnest($21::bigint[], $22::text[], $23::text[], $24::bigint[]) AS u(n, h, p, t)
       ON CONFLICT (chain_id, number) DO UPDATE SET hash = EXCLUDED.hash, parent_hash = EXCLUDED.parent_hash, timestamp = EXCLUDED.timestamp
     ), event_blocks AS (
       INSERT INTO event_block (chain_id, number, hash, time)
       SELECT $1, n, h, to_timestamp(t) FROM unnest($27::bigint[], $28::text[], $29::bigint[]) AS u(n, h, t)
       ON CONFLICT (chain_id, number) DO UPDATE SET hash = EXCLUDED.hash, time = EXCLUDED.time
     )
     INSERT INTO indexer_checkpoint (chain_id, block_number, block_hash, updated_at) VALUES ($1, $25, $26, now())
     ON CONFLICT (chain_id) DO UPDATE SET block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash, updated_at = now()
     RETURNING ${CHECKPOINT_NOTICE}`,
    [
      chainId,
      ...[upsert.c, upsert.t, upsert.o, upsert.a, upsert.sb, upsert.st].map(arrayParam),
      ...[removed.c, removed.t, removed.o].map(arrayParam),
      ...[supply.c, supply.t, supply.minted, supply.burned, supply.holders].map(arrayParam),
      collections.map((x) => x.address),
      collections.map((x) => x.owner),
      collections.map((x) => x.contractUri),
      collections.map((x) => x.createdBlock.toString()),
      collections.map((x) => x.createdTx),
      ...[headerRows.map((h) => h.number.toString()), headerRows.map((h) => h.hash), headerRows.map((h) => h.parentHash), headerRows.map((h) => h.timestamp.toString())].map(arrayParam),
      head.number.toString(),
      head.hash,
      ...[eventBlocks.number, eventBlocks.hash, eventBlocks.time].map(arrayParam),
    ],
  );
}

export type ApplyResult = { eventsApplied: number; transfersApplied: number; alreadyApplied: boolean };

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
  /** The blocks the batch's events are in (event_block rows): number, hash, unix time, in chain order. */
  blocks: { number: string[]; hash: string[]; time: string[] };
};

type TransferArgs = { operator: string; from: string; to: string; id?: string; value?: string; ids?: string[]; values?: string[] };

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
function arrayAt(src: Buffer, data: number, words: number, offsetWord: number): { first: number; length: number } | null {
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
    else if (e.blockHash !== this.blocks.hash.at(-1)) throw new Error(`Events of block ${e.blockNumber} name two block hashes`);
    this.events++;
    const name = copyValue(e.name);
    const args = argsText(e);
    const isTransfer = e.name === "TransferSingle" || e.name === "TransferBatch";
    const a = e.args as TransferArgs;
    const from = isTransfer ? a.from : "\\N";
    const to = isTransfer ? a.to : "\\N";
    const { chainId, blockText } = this;
    this.rows
      .row(chainId.length + blockText.length + e.txHash.length + e.address.length + name.length + args.length + from.length + to.length + 40)
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
      this.moves.add(edition, this.moves.owner(a.from.slice(2)), this.moves.owner(a.to.slice(2)), exactAmount(a.value!), this.blockNumber, this.time);
    } else if (e.name === "TransferBatch") {
      const from = this.moves.owner(a.from.slice(2));
      const to = this.moves.owner(a.to.slice(2));
      for (let i = 0; i < a.ids!.length; i++) {
        const edition = this.moves.edition(e.address, exactAmount(a.ids![i]!));
        this.moves.add(edition, from, to, exactAmount(a.values![i]!), this.blockNumber, this.time);
      }
    } else {
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
    if (this.enter(t.blockNumber[row]!, time)) this.blocks.hash.push(latin1(src, t.blockHash[row]!, t.blockHash[row]! + 66));
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
        this.moves.add(this.moves.edition(address, idList[i]!), fromOwner, toOwner, valueList[i]!, this.blockNumber, this.time);
      }
    }
    w.tab().hex(src, from, 40).tab().hex(src, to, 40).end();
    return true;
  }

  finish(batch: Omit<Batch, "events">): PreparedBatch {
    return { batch, eventCount: this.events, eventChunks: this.rows.chunks(), moves: this.moves.finish(), collections: this.collections, blocks: this.blocks };
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

/**
 * Writes one batch: raw events, transfers, balances, supply, collections, headers and the checkpoint, in ONE
 * transaction. Replaying a batch that is already the checkpoint changes nothing (`alreadyApplied`); a batch that
 * does not extend the current checkpoint throws CheckpointMovedError and writes nothing.
 *
 * `after` lets batches overlap: the batch's rows are COPYed at once (they depend on nothing), then the write waits
 * for `after` (the previous batch's commit) before the part that must see it: the checkpoint guard, balances, supply
 * and the checkpoint itself. If `after` fails, this batch rolls back too.
 */
export async function applyBatch(db: pg.Pool, batch: Batch | PreparedBatch, after?: Promise<unknown>): Promise<ApplyResult> {
  const prepared = "eventChunks" in batch ? batch : prepareBatch(batch);
  return writeBatch(db, prepared, after);
}

const EVENT_COLUMNS = ["chain_id", "block_number", "tx_hash", "log_index", "address", "name", "args", "from_address", "to_address"];

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
      ? current !== null && current.blockNumber === batch.previous.blockNumber && current.blockHash === batch.previous.blockHash
      : current === null;
    if (!matches) throw new CheckpointMovedError(batch.chainId);
    if (duplicate) throw duplicate;

    const changes = projectTransfers(moves, await readStoredBalances(tx, batch.chainId, moves));
    await writeProjections(tx, batch.chainId, changes, prepared, [...batch.headers, batch.head], batch.head);
    await tx.query("COMMIT");
    return { eventsApplied: prepared.eventCount, transfersApplied: moves.fromSlot.length, alreadyApplied: false };
  } catch (error) {
    await tx.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    tx.release();
  }
}

/**
 * Recomputes balances and held-since from the transfers (the `token_transfer` view of the raw events) for the keys in the temporary table `affected_key`
 * (or for every key when `all`), and supply and holders for their tokens. Shared by rollbacks and rebuilds, so
 * both agree with the forward path by construction (the tests compare them).
 */
async function recomputeProjections(tx: pg.PoolClient, chainId: number, all: boolean) {
  const keyFilter = (owner: string) =>
    all ? "" : `AND (tt.collection, tt.token_id, tt.${owner}) IN (SELECT collection, token_id, owner FROM affected_key)`;
  await tx.query(
    all
      ? "DELETE FROM token_balance WHERE chain_id = $1"
      : `DELETE FROM token_balance b USING affected_key k
         WHERE b.chain_id = $1 AND b.collection = k.collection AND b.token_id = k.token_id AND b.owner = k.owner`,
    [chainId],
  );
  await tx.query(
    `WITH moves AS (
       SELECT tt.collection, tt.token_id, tt.to_address AS owner, tt.amount AS delta, tt.block_number, tt.block_time,
              tt.log_index, tt.batch_index
       FROM token_transfer tt WHERE tt.chain_id = $1 AND tt.from_address <> tt.to_address AND tt.to_address <> $2 ${keyFilter("to_address")}
       UNION ALL
       SELECT tt.collection, tt.token_id, tt.from_address, -tt.amount, tt.block_number, tt.block_time, tt.log_index, tt.batch_index
       FROM token_transfer tt WHERE tt.chain_id = $1 AND tt.from_address <> tt.to_address AND tt.from_address <> $2 ${keyFilter("from_address")}
     ), running AS (
       SELECT collection, token_id, owner, block_number, block_time,
              row_number() OVER w AS ord,
              sum(delta) OVER (w ROWS UNBOUNDED PRECEDING) AS bal
       FROM moves
       WINDOW w AS (PARTITION BY collection, token_id, owner ORDER BY block_number, log_index, batch_index)
     ), summary AS (
       SELECT collection, token_id, owner, (array_agg(bal ORDER BY ord DESC))[1] AS amount,
              coalesce(max(ord) FILTER (WHERE bal <= 0), 0) AS last_empty
       FROM running GROUP BY collection, token_id, owner
     )
     INSERT INTO token_balance (chain_id, collection, token_id, owner, amount, held_since_block, held_since_time)
     SELECT $1, s.collection, s.token_id, s.owner, s.amount, r.block_number, r.block_time
     FROM summary s
     LEFT JOIN running r ON s.amount > 0 AND r.collection = s.collection AND r.token_id = s.token_id AND r.owner = s.owner
                        AND r.ord = s.last_empty + 1
     WHERE s.amount <> 0`,
    [chainId, ZERO_ADDRESS],
  );
  const tokenFilter = all ? "" : "AND (collection, token_id) IN (SELECT DISTINCT collection, token_id FROM affected_key)";
  await tx.query(`DELETE FROM token_supply WHERE chain_id = $1 ${tokenFilter}`, [chainId]);
  await tx.query(
    `WITH flows AS (
       SELECT collection, token_id,
              coalesce(sum(amount) FILTER (WHERE from_address = $2), 0) AS minted,
              coalesce(sum(amount) FILTER (WHERE to_address = $2), 0) AS burned
       FROM token_transfer WHERE chain_id = $1 ${tokenFilter} GROUP BY collection, token_id
     ), holders AS (
       SELECT collection, token_id, count(*) FILTER (WHERE amount > 0)::int AS holders
       FROM token_balance WHERE chain_id = $1 ${tokenFilter} GROUP BY collection, token_id
     )
     INSERT INTO token_supply (chain_id, collection, token_id, minted, burned, supply, holders)
     SELECT $1, f.collection, f.token_id, f.minted, f.burned, f.minted - f.burned, coalesce(h.holders, 0)
     FROM flows f LEFT JOIN holders h USING (collection, token_id)`,
    [chainId, ZERO_ADDRESS],
  );
}

/**
 * Undoes everything indexed above `ancestor` (a reorg's common ancestor, or an operator's rewind): removes the
 * raw events, transfers, collections and headers above it, recomputes the projections they touched, and moves the
 * checkpoint back, in one transaction.
 */
export async function rollbackTo(
  db: pg.Pool,
  chainId: number,
  ancestor: { number: bigint; hash: string },
): Promise<{ eventsRemoved: number; transfersRemoved: number }> {
  return inTransaction(db, async (tx) => {
    await lockChain(tx, chainId);
    const above = ancestor.number.toString();
    await tx.query(`CREATE TEMP TABLE affected_key (collection text, token_id numeric, owner text) ON COMMIT DROP`);
    // The balances the removed transfers touched, read before their raw events go.
    const removed = await tx.query(
      `INSERT INTO affected_key SELECT DISTINCT collection, token_id, owner FROM (
         SELECT collection, token_id, from_address AS owner FROM token_transfer WHERE chain_id = $1 AND block_number > $2
         UNION ALL SELECT collection, token_id, to_address FROM token_transfer WHERE chain_id = $1 AND block_number > $2
       ) k WHERE owner <> $3`,
      [chainId, above, ZERO_ADDRESS],
    );
    const transfers = await tx.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM token_transfer WHERE chain_id = $1 AND block_number > $2",
      [chainId, above],
    );
    const events = await tx.query("DELETE FROM chain_event WHERE chain_id = $1 AND block_number > $2", [chainId, above]);
    if ((removed.rowCount ?? 0) > 0 || (events.rowCount ?? 0) > 0) await recomputeProjections(tx, chainId, false);
    await tx.query("DELETE FROM collection WHERE chain_id = $1 AND created_block > $2", [chainId, above]);
    await tx.query("DELETE FROM event_block WHERE chain_id = $1 AND number > $2", [chainId, above]);
    await tx.query("DELETE FROM indexed_block WHERE chain_id = $1 AND number > $2", [chainId, above]);
    await tx.query(
      `UPDATE indexer_checkpoint SET block_number = $2, block_hash = $3, updated_at = now() WHERE chain_id = $1
       RETURNING ${CHECKPOINT_NOTICE}`,
      [chainId, above, ancestor.hash],
    );
    return { eventsRemoved: events.rowCount ?? 0, transfersRemoved: Number(transfers.rows[0]!.n) };
  });
}

/**
 * Rebuilds every projection of `chainId` (collections, transfers, balances, held-since, supply) from the raw events
 * alone: no RPC call. The checkpoint and the raw events are unchanged.
 */
export async function rebuildProjections(db: pg.Pool, chainId: number): Promise<{ events: number; transfers: number }> {
  return inTransaction(db, async (tx) => {
    await lockChain(tx, chainId);
    await tx.query("DELETE FROM collection WHERE chain_id = $1", [chainId]);
    await tx.query(
      `INSERT INTO collection (chain_id, address, owner, contract_uri, created_block, created_tx)
       SELECT chain_id, args->>'collection', args->>'owner', coalesce(args->>'contractURI', ''), block_number, tx_hash
       FROM chain_event WHERE chain_id = $1 AND name = 'CollectionCreated' ON CONFLICT DO NOTHING`,
      [chainId],
    );
    const transfers = await tx.query<{ n: string }>("SELECT count(*)::text AS n FROM token_transfer WHERE chain_id = $1", [chainId]);
    await recomputeProjections(tx, chainId, true);
    const events = await tx.query<{ n: string }>("SELECT count(*)::text AS n FROM chain_event WHERE chain_id = $1", [chainId]);
    return { events: Number(events.rows[0]!.n), transfers: Number(transfers.rows[0]!.n) };
  });
}

/** Forgets headers older than `below` (they are final): the walk-back after a reorg never needs them. */
export async function pruneBlocks(db: Queryable, chainId: number, below: bigint) {
  await db.query("DELETE FROM indexed_block WHERE chain_id = $1 AND number < $2", [chainId, below.toString()]);
}

/**
 * Forgets everything indexed for `chainId` (operator command, and `npm run dev`, whose local chain is new on every
 * start). The next run backfills from the start block.
 */
export async function resetChainIndex(db: pg.Pool | pg.Client, chainId: number) {
  const client = "totalCount" in db ? await db.connect() : db;
  try {
    await client.query("BEGIN");
    await lockChain(client, chainId);
    for (const table of ["chain_event", "event_block", "token_balance", "token_supply", "collection", "indexed_block", "indexer_checkpoint"]) {
      await client.query(`DELETE FROM ${table} WHERE chain_id = $1`, [chainId]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    if (client !== db) (client as pg.PoolClient).release();
  }
}
