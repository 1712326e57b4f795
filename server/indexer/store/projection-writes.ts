/**
 * A batch's projections: reads the stored balances its transfers touch, walks them in memory, and writes balances
 * with held-since, supply and holders, collections, block headers and the checkpoint in one statement. Guarantees:
 * the result equals a full recompute from the raw events (rebuild.ts; the tests compare them).
 */
import type pg from "pg";
import { walkBalances, type BalanceMoves } from "./balance-moves.ts";
import type { PreparedBatch } from "./batch-encoder.ts";
import { appendAppliedFacts } from "./fact-feed.ts";
import type { BlockHeader } from "./model.ts";
import { arrayParam, CHECKPOINT_NOTICE } from "./sql.ts";

/** Stored balance and held-since of the batch's keys, by slot (keys not stored are absent). */
export type StoredBalances = { slot: number; amount: string; sb: string | null; st: string | null }[];

/** Reads the stored balance and held-since of every key the batch's transfers touch, in one query. */
export async function readStoredBalances(tx: pg.PoolClient, chainId: number, m: BalanceMoves): Promise<StoredBalances> {
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
export function projectTransfers(m: BalanceMoves, stored: StoredBalances): ProjectionChanges {
  const upsert: ProjectionChanges["upsert"] = { c: [], t: [], o: [], a: [], sb: [], st: [] };
  const removed: ProjectionChanges["removed"] = { c: [], t: [], o: [] };
  const e = m.editions;
  const holders: number[] = new Array<number>(e.collection.length).fill(0);
  const changes = {
    upsert,
    removed,
    supply: { c: e.collection, t: e.tokenId, minted: e.minted, burned: e.burned, holders },
  };
  if (m.fromSlot.length === 0) return changes;
  const slots = m.keys.owner.length;
  const startText: string[] = new Array<string>(slots).fill("0");
  const isStored: boolean[] = new Array<boolean>(slots).fill(false);
  const storedSince = new Array<{ block: string | null; time: string | null }>(slots);
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
 * the events' blocks, the batch's facts for the feed (fact-feed.ts), and the checkpoint.
 * One statement rather than six: these writes wait for the previous batch's commit, so each round trip to
 * PostgreSQL here is time the whole pipeline waits.
 */
export async function writeProjections(
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
     ), facts AS (
       ${appendAppliedFacts("$27", "$28")}
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
      ...[
        headerRows.map((h) => h.number.toString()),
        headerRows.map((h) => h.hash),
        headerRows.map((h) => h.parentHash),
        headerRows.map((h) => h.timestamp.toString()),
      ].map(arrayParam),
      head.number.toString(),
      head.hash,
      ...[eventBlocks.number, eventBlocks.hash, eventBlocks.time].map(arrayParam),
    ],
  );
}
