import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { collectionOf, type ChainEvent, type CollectionRow } from "./events.ts";

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
class CopyWriter {
  private static readonly SIZE = 1 << 20;
  private readonly done: Buffer[] = [];
  private buffer = Buffer.allocUnsafe(CopyWriter.SIZE);
  private at = 0;
  /** Starts a row; `room` is an upper bound of its length in bytes. */
  row(room: number) {
    if (this.at + room + 1 > this.buffer.length) {
      if (this.at > 0) this.done.push(this.buffer.subarray(0, this.at));
      this.buffer = Buffer.allocUnsafe(Math.max(CopyWriter.SIZE, room + 1));
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

/** Block times as COPY literals; a batch has few distinct ones, so they are formatted once each. */
const isoCache = new Map<bigint, string>();
function isoTime(seconds: bigint): string {
  let iso = isoCache.get(seconds);
  if (iso === undefined) {
    if (isoCache.size > 10_000) isoCache.clear();
    iso = new Date(Number(seconds) * 1000).toISOString();
    isoCache.set(seconds, iso);
  }
  return iso;
}

type Queryable = pg.Pool | pg.PoolClient | pg.Client;

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
 * A batch's balance movements, worked out outside the transaction (see prepareBatch): every (collection, token,
 * owner) the batch touches gets a slot, and each transfer refers to its sender's and recipient's slots, so the
 * transaction itself only reads the slots' balances, walks integers and writes the results.
 */
export type BalanceMoves = {
  /** The touched balances, by slot. */
  keys: { collection: string[]; tokenId: string[]; owner: string[] };
  slotOf: Map<string, number>;
  editionOf: Map<string, number>;
  /** Per transfer, in chain order: sender slot and recipient slot (-1: none, a mint, burn or self-transfer). */
  fromSlot: number[];
  toSlot: number[];
  amount: bigint[];
  blockNumber: bigint[];
  blockTime: bigint[];
  /** Per edition touched: minted and burned in this batch; `editionOfSlot` maps a balance slot to its edition. */
  editions: { collection: string[]; tokenId: string[]; minted: bigint[]; burned: bigint[] };
  editionOfSlot: number[];
};

function newBalanceMoves(): BalanceMoves {
  return {
    keys: { collection: [], tokenId: [], owner: [] },
    slotOf: new Map(),
    editionOf: new Map(),
    fromSlot: [],
    toSlot: [],
    amount: [],
    blockNumber: [],
    blockTime: [],
    editions: { collection: [], tokenId: [], minted: [], burned: [] },
    editionOfSlot: [],
  };
}

function balanceSlot(m: BalanceMoves, collection: string, tokenId: string, owner: string, editionKey: string, edition: number): number {
  const key = `${editionKey}|${owner}`;
  let slot = m.slotOf.get(key);
  if (slot === undefined) {
    slot = m.keys.owner.length;
    m.slotOf.set(key, slot);
    m.keys.collection.push(collection);
    m.keys.tokenId.push(tokenId);
    m.keys.owner.push(owner);
    m.editionOfSlot.push(edition);
  }
  return slot;
}

/** Records one transfer (a TransferSingle, or one (id, value) of a TransferBatch). */
function addMove(m: BalanceMoves, collection: string, tokenId: string, from: string, to: string, amount: bigint, block: bigint, time: bigint) {
  const editionKey = `${collection}|${tokenId}`;
  let edition = m.editionOf.get(editionKey);
  if (edition === undefined) {
    edition = m.editions.collection.length;
    m.editionOf.set(editionKey, edition);
    m.editions.collection.push(collection);
    m.editions.tokenId.push(tokenId);
    m.editions.minted.push(0n);
    m.editions.burned.push(0n);
  }
  if (from === ZERO_ADDRESS) m.editions.minted[edition]! += amount;
  if (to === ZERO_ADDRESS) m.editions.burned[edition]! += amount;
  const self = from === to;
  m.fromSlot.push(self || from === ZERO_ADDRESS ? -1 : balanceSlot(m, collection, tokenId, from, editionKey, edition));
  m.toSlot.push(self || to === ZERO_ADDRESS ? -1 : balanceSlot(m, collection, tokenId, to, editionKey, edition));
  m.amount.push(amount);
  m.blockNumber.push(block);
  m.blockTime.push(time);
}

/**
 * Applies the batch's transfers to balances, held-since and supply. Reads the current state of the touched keys
 * once, walks the transfers in chain order in memory (held-since must see every return to zero, even inside a
 * batch), then writes absolute values back with set-based statements.
 */
async function applyTransfers(tx: pg.PoolClient, chainId: number, m: BalanceMoves) {
  if (m.amount.length === 0) return;
  const slots = m.keys.owner.length;
  const current = await tx.query<{ collection: string; token_id: string; owner: string; amount: string; sb: string | null; st: string | null }>(
    `SELECT b.collection, b.token_id::text, b.owner, b.amount::text, b.held_since_block AS sb,
            extract(epoch FROM b.held_since_time)::bigint AS st
     FROM unnest($2::text[], $3::numeric[], $4::text[]) AS k(c, t, o)
     JOIN token_balance b ON b.chain_id = $1 AND b.collection = k.c AND b.token_id = k.t AND b.owner = k.o`,
    [chainId, m.keys.collection, m.keys.tokenId, m.keys.owner],
  );
  const startAmount: bigint[] = new Array<bigint>(slots).fill(0n);
  const stored: boolean[] = new Array<boolean>(slots).fill(false);
  const amount: bigint[] = new Array<bigint>(slots).fill(0n);
  const sinceBlock: (bigint | null)[] = new Array<bigint | null>(slots).fill(null);
  const sinceTime: (bigint | null)[] = new Array<bigint | null>(slots).fill(null);
  for (const r of current.rows) {
    // token_id::text of a numeric(78,0) is its plain decimal form, the same text the key was built from.
    const slot = m.slotOf.get(`${r.collection}|${r.token_id}|${r.owner}`);
    if (slot === undefined) throw new IndexInvariantError(`token_balance: a stored key (${r.collection}, ${r.token_id}, ${r.owner}) does not match the batch's.`);
    stored[slot] = true;
    startAmount[slot] = amount[slot] = BigInt(r.amount);
    sinceBlock[slot] = r.sb === null ? null : BigInt(r.sb);
    sinceTime[slot] = r.st === null ? null : BigInt(r.st);
  }
  const move = (slot: number, delta: bigint, block: bigint, time: bigint) => {
    const before = amount[slot]!;
    const after = before + delta;
    amount[slot] = after;
    if (after <= 0n) {
      sinceBlock[slot] = null;
      sinceTime[slot] = null;
    } else if (before <= 0n) {
      sinceBlock[slot] = block;
      sinceTime[slot] = time;
    }
  };
  for (let i = 0; i < m.amount.length; i++) {
    const from = m.fromSlot[i]!;
    const to = m.toSlot[i]!;
    if (from >= 0) move(from, -m.amount[i]!, m.blockNumber[i]!, m.blockTime[i]!);
    if (to >= 0) move(to, m.amount[i]!, m.blockNumber[i]!, m.blockTime[i]!);
  }

  const holders: number[] = new Array<number>(m.editions.collection.length).fill(0);
  const upsert = { c: [] as string[], t: [] as string[], o: [] as string[], a: [] as string[], sb: [] as (string | null)[], st: [] as (string | null)[] };
  const removed = { c: [] as string[], t: [] as string[], o: [] as string[] };
  for (let slot = 0; slot < slots; slot++) {
    const after = amount[slot]!;
    if (startAmount[slot]! > 0n !== after > 0n) holders[m.editionOfSlot[slot]!]! += after > 0n ? 1 : -1;
    if (after === 0n) {
      if (stored[slot]) {
        removed.c.push(m.keys.collection[slot]!);
        removed.t.push(m.keys.tokenId[slot]!);
        removed.o.push(m.keys.owner[slot]!);
      }
      continue;
    }
    upsert.c.push(m.keys.collection[slot]!);
    upsert.t.push(m.keys.tokenId[slot]!);
    upsert.o.push(m.keys.owner[slot]!);
    upsert.a.push(after.toString());
    upsert.sb.push(sinceBlock[slot]?.toString() ?? null);
    upsert.st.push(sinceTime[slot]?.toString() ?? null);
  }
  if (upsert.c.length > 0) {
    await tx.query(
      `INSERT INTO token_balance (chain_id, collection, token_id, owner, amount, held_since_block, held_since_time)
       SELECT $1, c, t, o, a, sb, to_timestamp(st)
       FROM unnest($2::text[], $3::numeric[], $4::text[], $5::numeric[], $6::bigint[], $7::bigint[]) AS u(c, t, o, a, sb, st)
       ON CONFLICT (chain_id, collection, token_id, owner) DO UPDATE
       SET amount = EXCLUDED.amount, held_since_block = EXCLUDED.held_since_block, held_since_time = EXCLUDED.held_since_time`,
      [chainId, upsert.c, upsert.t, upsert.o, upsert.a, upsert.sb, upsert.st],
    );
  }
  if (removed.c.length > 0) {
    await tx.query(
      `DELETE FROM token_balance b USING unnest($2::text[], $3::numeric[], $4::text[]) AS u(c, t, o)
       WHERE b.chain_id = $1 AND b.collection = u.c AND b.token_id = u.t AND b.owner = u.o`,
      [chainId, removed.c, removed.t, removed.o],
    );
  }
  const e = m.editions;
  await tx.query(
    `INSERT INTO token_supply (chain_id, collection, token_id, minted, burned, supply, holders)
     SELECT $1, c, t, m, b, m - b, h FROM unnest($2::text[], $3::numeric[], $4::numeric[], $5::numeric[], $6::int[]) AS u(c, t, m, b, h)
     ON CONFLICT (chain_id, collection, token_id) DO UPDATE
     SET minted = token_supply.minted + EXCLUDED.minted, burned = token_supply.burned + EXCLUDED.burned,
         supply = token_supply.supply + EXCLUDED.supply, holders = token_supply.holders + EXCLUDED.holders`,
    [chainId, e.collection, e.tokenId, e.minted.map(String), e.burned.map(String), holders],
  );
}

async function insertCollections(tx: pg.PoolClient, chainId: number, c: CollectionRow[]) {
  if (c.length === 0) return;
  await tx.query(
    `INSERT INTO collection (chain_id, address, owner, contract_uri, created_block, created_tx)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
     ON CONFLICT DO NOTHING`,
    [
      chainId,
      c.map((x) => x.address),
      c.map((x) => x.owner),
      c.map((x) => x.contractUri),
      c.map((x) => x.createdBlock.toString()),
      c.map((x) => x.createdTx),
    ],
  );
}

async function insertHeaders(tx: pg.PoolClient, chainId: number, headers: BlockHeader[]) {
  const unique = [...new Map(headers.map((h) => [h.number, h])).values()];
  if (unique.length === 0) return;
  await tx.query(
    `INSERT INTO indexed_block (chain_id, number, hash, parent_hash, timestamp)
     SELECT $1, n, h, p, to_timestamp(t) FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[]) AS u(n, h, p, t)
     ON CONFLICT (chain_id, number) DO UPDATE SET hash = EXCLUDED.hash, parent_hash = EXCLUDED.parent_hash, timestamp = EXCLUDED.timestamp`,
    [chainId, unique.map((h) => h.number.toString()), unique.map((h) => h.hash), unique.map((h) => h.parentHash), unique.map((h) => h.timestamp.toString())],
  );
}

export type ApplyResult = { eventsApplied: number; transfersApplied: number; alreadyApplied: boolean };

/** A batch turned into what the transaction sends: built in memory, outside the transaction, so the indexer can
 *  prepare the next batch while PostgreSQL writes this one. */
export type PreparedBatch = {
  batch: Omit<Batch, "events">;
  eventCount: number;
  eventChunks: Buffer[];
  moves: BalanceMoves;
  collections: CollectionRow[];
};

type TransferArgs = { operator: string; from: string; to: string; id?: string; value?: string; ids?: string[]; values?: string[] };

const jsonStrings = (items: string[]) => (items.length === 0 ? "[]" : `["${items.join('","')}"]`);

/**
 * An event's args as COPY text of ASCII JSON. The two transfer events (nearly all rows) are written directly: their
 * addresses and numbers were validated as hex and decimal by the decoder, so they need neither escaping nor a scan.
 */
function argsText(e: ChainEvent): string {
  if (e.name === "TransferSingle") {
    const a = e.args as TransferArgs;
    return `{"operator":"${a.operator}","from":"${a.from}","to":"${a.to}","id":"${a.id}","value":"${a.value}"}`;
  }
  if (e.name === "TransferBatch") {
    const a = e.args as TransferArgs;
    return `{"operator":"${a.operator}","from":"${a.from}","to":"${a.to}","ids":${jsonStrings(a.ids!)},"values":${jsonStrings(a.values!)}}`;
  }
  return copyValue(asciiJson(e.args));
}

export function prepareBatch(batch: Batch): PreparedBatch {
  const times = new Map(batch.headers.map((h) => [h.number, h.timestamp]));
  times.set(batch.head.number, batch.head.timestamp);
  const chainId = String(batch.chainId);
  const events = new CopyWriter();
  const moves = newBalanceMoves();
  const collections: CollectionRow[] = [];
  let blockNumber: bigint | undefined;
  let block = "";
  let time = 0n;
  let iso = "";
  // Hot path, one pass per log: hashes, addresses and numbers come from the decoder, which validated them as hex,
  // so only free-form text (event names, JSON) goes through COPY escaping.
  for (const e of batch.events) {
    if (e.blockNumber !== blockNumber) {
      const t = e.blockTime ?? times.get(e.blockNumber);
      if (t === undefined) throw new Error(`No block time for event ${e.txHash}#${e.logIndex} in block ${e.blockNumber}`);
      blockNumber = e.blockNumber;
      block = blockNumber.toString();
      time = t;
      iso = isoTime(t);
    }
    const name = copyValue(e.name);
    const args = argsText(e);
    const isTransfer = e.name === "TransferSingle" || e.name === "TransferBatch";
    const a = e.args as TransferArgs;
    const from = isTransfer ? a.from : "\\N";
    const to = isTransfer ? a.to : "\\N";
    events
      .row(chainId.length + block.length + e.blockHash.length + iso.length + e.txHash.length + e.address.length + name.length + args.length + from.length + to.length + 40)
      .value(chainId)
      .value(block)
      .value(e.blockHash)
      .value(iso)
      .value(e.txHash)
      .value(String(e.logIndex))
      .value(e.address)
      .value(name)
      .value(args)
      .value(from)
      .last(to);
    if (e.name === "TransferSingle") {
      addMove(moves, e.address, a.id!, a.from, a.to, BigInt(a.value!), e.blockNumber, time);
    } else if (e.name === "TransferBatch") {
      for (let i = 0; i < a.ids!.length; i++) addMove(moves, e.address, a.ids![i]!, a.from, a.to, BigInt(a.values![i]!), e.blockNumber, time);
    } else {
      const created = collectionOf(e);
      if (created) collections.push(created);
    }
  }
  const { events: decoded, ...rest } = batch;
  return { batch: rest, eventCount: decoded.length, eventChunks: events.chunks(), moves, collections };
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

const EVENT_COLUMNS = ["chain_id", "block_number", "block_hash", "block_time", "tx_hash", "log_index", "address", "name", "args", "from_address", "to_address"];

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

    await insertCollections(tx, batch.chainId, prepared.collections);
    await applyTransfers(tx, batch.chainId, moves);
    await insertHeaders(tx, batch.chainId, [...batch.headers, batch.head]);
    const h = batch.head;
    await tx.query(
      `INSERT INTO indexer_checkpoint (chain_id, block_number, block_hash, updated_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (chain_id) DO UPDATE SET block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash, updated_at = now()`,
      [batch.chainId, h.number.toString(), h.hash],
    );
    await tx.query("COMMIT");
    return { eventsApplied: prepared.eventCount, transfersApplied: moves.amount.length, alreadyApplied: false };
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
    await tx.query("DELETE FROM indexed_block WHERE chain_id = $1 AND number > $2", [chainId, above]);
    await tx.query(
      `UPDATE indexer_checkpoint SET block_number = $2, block_hash = $3, updated_at = now() WHERE chain_id = $1`,
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
    for (const table of ["chain_event", "token_balance", "token_supply", "collection", "indexed_block", "indexer_checkpoint"]) {
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
