/**
 * A batch's balance movements, worked out in memory before its transaction: a slot per (collection, token, owner)
 * touched, each transfer as a pair of slots, and the walk that turns stored balances into the batch's results.
 * Guarantees: amounts stay exact (doubles only while every value and sum is below 2^53, else bigints), and
 * held-since sees every return to zero, even inside one batch.
 */
import { HEX_LOWER, HEX_VALUE, latin1 } from "../log-scan.ts";

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
  return [m.editionOfSlot, m.fromSlot, m.toSlot, m.amount, m.blockNumber, m.blockTime].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

/** A token id or amount as a map key or a number: a double when exact, else its decimal text. */
export type Amount = number | bigint;
export const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);
export function exactAmount(decimal: string): Amount {
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

const ZERO_DIGITS = "0".repeat(40);

export class MovesBuilder {
  private readonly keys = { collection: [] as string[], tokenId: [] as string[], owner: [] as string[] };
  private readonly editionOfSlot = new Column(new Int32Array(64));
  private readonly editions = {
    collection: [] as string[],
    tokenId: [] as string[],
    minted: [] as Amount[],
    burned: [] as Amount[],
  };
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
    if (tokens === undefined) this.editionIndex.set(collection, (tokens = new Map<number | bigint, number>()));
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
      editions: {
        collection: e.collection,
        tokenId: e.tokenId,
        minted: e.minted.map(String),
        burned: e.burned.map(String),
      },
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

/**
 * Balances and held-since after walking the batch's transfers in chain order from the stored `start` amounts.
 * Held-since must see every return to zero, even inside a batch. Generic over the number type: doubles when every
 * amount and sum is exact in one (nearly always), bigints otherwise.
 */
export function walkBalances<N extends number | bigint>(
  m: BalanceMoves,
  start: N[],
  amountOf: (i: number) => N,
  zero: N,
) {
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
