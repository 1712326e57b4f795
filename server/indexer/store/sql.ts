/**
 * What every write of the index shares: its transaction, the per-chain write lock that serialises batches,
 * rollbacks and rebuilds, the checkpoint notification, and cheap array parameters for set-based writes.
 */
import type pg from "pg";

/** Transaction-scoped lock that serialises every write of one chain's index (batches, rollbacks, rebuilds). */
const WRITE_LOCK_CLASS = 0x5045524b; // "PERK"

export async function lockChain(tx: pg.PoolClient | pg.Client, chainId: number) {
  await tx.query("SELECT pg_advisory_xact_lock($1, $2)", [WRITE_LOCK_CLASS, chainId]);
}

export type Queryable = pg.Pool | pg.PoolClient | pg.Client;

/** Values a PostgreSQL array literal holds without quoting: hex and decimal (addresses, hashes, ids, amounts). */
const PLAIN_ARRAY_ITEM = /^(?:0x[0-9a-fA-F]+|-?[0-9]+)$/;

/**
 * An array parameter for unnest(): a PostgreSQL array literal built by one join when every item is plain (see
 * PLAIN_ARRAY_ITEM; null becomes NULL), else the array itself for pg to quote. pg's own conversion quotes and
 * concatenates item by item, which at a few thousand items per batch was the indexer's largest source of garbage.
 */
export function arrayParam(items: readonly (string | number | null)[]): string | readonly (string | number | null)[] {
  for (const item of items) if (item !== null && typeof item !== "number" && !PLAIN_ARRAY_ITEM.test(item)) return items;
  return `{${items.map((item) => (item === null ? "NULL" : item)).join(",")}}`;
}

export { inTransaction } from "../../database/transaction.ts";

/**
 * Every move of a checkpoint (a batch applied, a rollback) is announced on this PostgreSQL channel when its
 * transaction commits, with the payload {"chainId", "block", "hash"}: API servers, tools and the benchmark follow the
 * index with LISTEN instead of polling it.
 */
export const CHECKPOINT_CHANNEL = "indexer_checkpoint";
export const CHECKPOINT_NOTICE = `pg_notify('${CHECKPOINT_CHANNEL}', json_build_object('chainId', chain_id, 'block', block_number::text, 'hash', block_hash)::text)`;
