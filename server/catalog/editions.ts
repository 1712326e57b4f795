/**
 * Collections, editions and drops, read from the edition projection (server/indexer/store/edition-projection.ts) and
 * token_supply. Every answer is one SQL statement, so the indexed head it reports (`asOfBlock`, `headTime`) and the
 * rows are one snapshot. "Open now" is judged by the indexed head's block time, not the wall clock: an answer is the
 * chain's state at `asOfBlock`.
 */
import { checksummed } from "../lib/address.ts";
import { z } from "zod";
import type { Queryable } from "../indexer/store/sql.ts";
import {
  CatalogError,
  decodeCursor,
  encodeCursor,
  int64Text,
  pageLimit,
  prepared,
  storedAddress,
  uint256Text,
} from "./cursor.ts";
import type { CollectionAnswer, Edition, EditionAnswer, EditionList, Phase } from "./schemas.ts";

/** What every catalog read needs: a pool (or client) on the index's database, and the indexed chain. */
export type CatalogDeps = { db: Queryable; chainId: number };

/** A page request: `limit` 1-500 (default 50), `cursor` as returned by the previous page. */
export type PageParameters = { limit?: number; cursor?: string };

type HeadRow = { head_block: string | null; head_time: Date | null };

/**
 * The indexed head (checkpoint block and its time), joined first so that a list with no rows still says where the
 * index was. `one` keeps a row when nothing is indexed yet.
 */
const HEAD = `head AS (
  SELECT c.block_number::text AS head_block, b.timestamp AS head_time
  FROM indexer_checkpoint c LEFT JOIN indexed_block b ON b.chain_id = c.chain_id AND b.number = c.block_number
  WHERE c.chain_id = $1
)`;

/** An edition's row with everything the answer shows; `e`, `c` and `s` are edition, collection and token_supply. */
const EDITION_COLUMNS = `e.collection, e.token_id::text AS token_id, e.uri, e.uri_frozen, e.max_supply::text AS max_supply,
  coalesce(s.minted, 0)::text AS minted, coalesce(s.burned, 0)::text AS burned, coalesce(s.supply, 0)::text AS supply,
  coalesce(s.holders, 0) AS holders, e.soulbound, e.redeemable, e.paused, e.referral_bps,
  c.paused AND (e.token_id <= c.pause_applied_through
                OR (e.created_block, e.created_log_index) > (c.paused_block, c.paused_log_index)) AS collection_paused,
  e.royalty_receiver, e.royalty_bps, c.default_royalty_receiver, c.default_royalty_bps,
  e.created_block::text AS created_block, e.created_tx,
  (SELECT json_agg(json_build_object('index', p.phase, 'start', extract(epoch FROM p.starts_at)::bigint,
                                     'end', extract(epoch FROM p.ends_at)::bigint, 'price', p.price::text,
                                     'walletLimit', p.wallet_limit::text, 'allowlist', p.allowlist,
                                     'merkleRoot', p.merkle_root) ORDER BY p.phase)
   FROM edition_phase p WHERE p.chain_id = e.chain_id AND p.collection = e.collection AND p.token_id = e.token_id) AS phases`;

const EDITION_FROM = `edition e JOIN collection c ON c.chain_id = e.chain_id AND c.address = e.collection
  LEFT JOIN token_supply s ON s.chain_id = e.chain_id AND s.collection = e.collection AND s.token_id = e.token_id`;

type StoredPhase = {
  index: number;
  start: number;
  end: number;
  price: string;
  walletLimit: string;
  allowlist: boolean;
  merkleRoot: string;
};
type EditionRow = {
  collection: string;
  token_id: string;
  uri: string;
  uri_frozen: boolean;
  max_supply: string;
  minted: string;
  burned: string;
  supply: string;
  holders: number;
  soulbound: boolean;
  redeemable: boolean;
  paused: boolean;
  referral_bps: number;
  collection_paused: boolean | null;
  royalty_receiver: string | null;
  royalty_bps: number | null;
  default_royalty_receiver: string | null;
  default_royalty_bps: number;
  created_block: string;
  created_tx: string;
  phases: StoredPhase[] | null;
};

const isoSeconds = (seconds: number) => new Date(seconds * 1000).toISOString();
const toPhase = (p: StoredPhase): Phase => ({
  index: p.index,
  start: isoSeconds(p.start),
  end: isoSeconds(p.end),
  price: p.price,
  walletLimit: p.walletLimit,
  allowlist: p.allowlist,
  merkleRoot: p.merkleRoot,
});

/** The phase open at `now` (unix seconds; the earliest-starting if several) and the next to open after it. */
export function phasesAt(
  phases: StoredPhase[],
  now: number | null,
): { current: StoredPhase | null; next: StoredPhase | null } {
  if (now === null) return { current: null, next: null };
  const byStart = [...phases].filter((p) => p.start < p.end).sort((a, b) => a.start - b.start || a.index - b.index);
  return {
    current: byStart.find((p) => p.start <= now && now < p.end) ?? null,
    next: byStart.find((p) => p.start > now) ?? null,
  };
}

function toEdition(r: EditionRow, headTime: Date | null): Edition {
  const phases = r.phases ?? [];
  const { current, next } = phasesAt(phases, headTime ? Math.floor(headTime.getTime() / 1000) : null);
  const royalty = r.royalty_receiver
    ? { receiver: checksummed(r.royalty_receiver), bps: r.royalty_bps ?? 0, source: "edition" as const }
    : r.default_royalty_receiver
      ? { receiver: checksummed(r.default_royalty_receiver), bps: r.default_royalty_bps, source: "collection" as const }
      : { receiver: null, bps: 0, source: "none" as const };
  return {
    collection: checksummed(r.collection),
    tokenId: r.token_id,
    uri: r.uri,
    uriFrozen: r.uri_frozen,
    maxSupply: r.max_supply,
    minted: r.minted,
    burned: r.burned,
    supply: r.supply,
    supplyLeft: (BigInt(r.max_supply) > BigInt(r.minted) ? BigInt(r.max_supply) - BigInt(r.minted) : 0n).toString(),
    holders: r.holders,
    soulbound: r.soulbound,
    redeemable: r.redeemable,
    paused: r.paused,
    collectionPaused: r.collection_paused === true,
    referralBps: r.referral_bps,
    royalty,
    createdBlock: r.created_block,
    createdTx: r.created_tx,
    phases: phases.map(toPhase),
    currentPhase: current && toPhase(current),
    nextPhase: next && toPhase(next),
  };
}

const key = (address: string) => address.toLowerCase();
const headOf = (row: HeadRow | undefined) => ({ asOfBlock: row?.head_block ?? null, headTime: row?.head_time ?? null });

/** A collection by address (any case). Throws CatalogError not_found (404) when it is not indexed. */
export async function getCollection(deps: CatalogDeps, address: string): Promise<CollectionAnswer> {
  const { rows } = await deps.db.query<
    HeadRow & {
      address: string | null;
      owner: string;
      contract_uri: string;
      created_block: string;
      created_tx: string;
      paused: boolean;
      default_royalty_receiver: string | null;
      default_royalty_bps: number;
      edition_count: number;
    }
  >(
    prepared(`WITH ${HEAD}
     SELECT h.head_block, h.head_time, c.address, c.owner, c.contract_uri, c.created_block::text AS created_block, c.created_tx,
            c.paused, c.default_royalty_receiver, c.default_royalty_bps,
            (SELECT count(*)::int FROM edition e WHERE e.chain_id = c.chain_id AND e.collection = c.address) AS edition_count
     FROM (SELECT 1) one LEFT JOIN head h ON true
     LEFT JOIN collection c ON c.chain_id = $1 AND c.address = $2`),
    [deps.chainId, key(address)],
  );
  const r = rows[0]!;
  if (!r.address) throw new CatalogError("not_found", 404, "path.address", `collection ${address} is not indexed`);
  return {
    address: checksummed(r.address),
    owner: checksummed(r.owner),
    contractUri: r.contract_uri,
    createdBlock: r.created_block,
    createdTx: r.created_tx,
    paused: r.paused,
    defaultRoyalty: r.default_royalty_receiver
      ? { receiver: checksummed(r.default_royalty_receiver), bps: r.default_royalty_bps }
      : null,
    editionCount: r.edition_count,
    asOfBlock: r.head_block,
  };
}

/** One edition. Throws CatalogError not_found (404) when the collection or the edition is not indexed. */
export async function getEdition(deps: CatalogDeps, collection: string, tokenId: bigint): Promise<EditionAnswer> {
  if (tokenId < 0n || tokenId >= 2n ** 256n)
    throw new CatalogError("not_found", 404, "path.tokenId", "no such edition");
  const { rows } = await deps.db.query<HeadRow & Partial<EditionRow>>(
    prepared(`WITH ${HEAD}
     SELECT h.head_block, h.head_time, x.* FROM (SELECT 1) one LEFT JOIN head h ON true
     LEFT JOIN LATERAL (SELECT ${EDITION_COLUMNS} FROM ${EDITION_FROM}
                        WHERE e.chain_id = $1 AND e.collection = $2 AND e.token_id = $3::numeric) x ON true`),
    [deps.chainId, key(collection), tokenId.toString()],
  );
  const r = rows[0]!;
  if (!r.collection)
    throw new CatalogError("not_found", 404, "path.tokenId", `edition ${tokenId} of ${collection} is not indexed`);
  const head = headOf(r);
  return {
    ...toEdition(r as EditionRow, head.headTime),
    asOfBlock: head.asOfBlock,
    headTime: head.headTime?.toISOString() ?? null,
  };
}

const editionCursor = z.tuple([uint256Text]);

/**
 * The editions of a collection by token id, ascending; `nextCursor` is the last token id of the page. An unknown
 * collection is CatalogError not_found (404), a bad cursor invalid_cursor (400).
 */
export async function listEditions(
  deps: CatalogDeps,
  collection: string,
  page: PageParameters = {},
): Promise<EditionList> {
  const limit = pageLimit(page.limit);
  const after = decodeCursor(page.cursor, editionCursor);
  const { rows } = await deps.db.query<HeadRow & { known: boolean } & Partial<EditionRow>>(
    prepared(`WITH ${HEAD}
     SELECT h.head_block, h.head_time, EXISTS (SELECT 1 FROM collection WHERE chain_id = $1 AND address = $2) AS known, x.*
     FROM (SELECT 1) one LEFT JOIN head h ON true
     LEFT JOIN LATERAL (SELECT ${EDITION_COLUMNS} FROM ${EDITION_FROM}
                        WHERE e.chain_id = $1 AND e.collection = $2 AND ($3::numeric IS NULL OR e.token_id > $3::numeric)
                        ORDER BY e.token_id LIMIT $4) x ON true
     ORDER BY x.token_id::numeric`),
    [deps.chainId, key(collection), after?.[0] ?? null, limit + 1],
  );
  if (!rows[0]!.known)
    throw new CatalogError("not_found", 404, "path.address", `collection ${collection} is not indexed`);
  return page_(rows, limit, (r) => [r.token_id]);
}

function page_(
  rows: (HeadRow & Partial<EditionRow>)[],
  limit: number,
  cursorOf: (r: EditionRow) => (string | number)[],
): EditionList {
  const head = headOf(rows[0]);
  const found = rows.filter((r) => r.collection) as (HeadRow & EditionRow)[];
  const items = found.slice(0, limit);
  return {
    asOfBlock: head.asOfBlock,
    headTime: head.headTime?.toISOString() ?? null,
    items: items.map((r) => toEdition(r, head.headTime)),
    nextCursor: found.length > limit ? encodeCursor(cursorOf(items.at(-1)!)) : null,
  };
}

/** A phase start: unix seconds of a uint32 (Collection.Phase.start), so to_timestamp never overflows. */
const phaseSeconds = int64Text.refine((v) => BigInt(v) < 2n ** 32n);
const dropCursor = z.tuple([phaseSeconds, storedAddress, uint256Text]);

/**
 * Drops: editions, across collections, with a phase open at the indexed head's block time or upcoming, soonest
 * first: by the earliest start among their phases not yet ended (so editions open now come first), then collection
 * address and token id. The cursor is that key.
 */
export async function listDrops(deps: CatalogDeps, page: PageParameters = {}): Promise<EditionList> {
  const limit = pageLimit(page.limit);
  const after = decodeCursor(page.cursor, dropCursor);
  const { rows } = await deps.db.query<HeadRow & { sort_s: string } & Partial<EditionRow>>(
    prepared(`WITH ${HEAD}
     SELECT h.head_block, h.head_time, x.* FROM (SELECT 1) one LEFT JOIN head h ON true
     LEFT JOIN LATERAL (
       SELECT extract(epoch FROM d.sort_start)::bigint::text AS sort_s, ${EDITION_COLUMNS}
       FROM (SELECT p.collection, p.token_id, min(p.starts_at) AS sort_start FROM edition_phase p
             WHERE p.chain_id = $1 AND p.ends_at > h.head_time AND p.starts_at < p.ends_at
             GROUP BY p.collection, p.token_id) d
       JOIN edition e ON e.chain_id = $1 AND e.collection = d.collection AND e.token_id = d.token_id
       JOIN collection c ON c.chain_id = e.chain_id AND c.address = e.collection
       LEFT JOIN token_supply s ON s.chain_id = e.chain_id AND s.collection = e.collection AND s.token_id = e.token_id
       WHERE $2::bigint IS NULL
          OR (d.sort_start, d.collection, d.token_id) > (to_timestamp($2::bigint), $3::text, $4::numeric)
       ORDER BY d.sort_start, d.collection, d.token_id LIMIT $5) x ON true
     ORDER BY x.sort_s::bigint, x.collection, x.token_id::numeric`),
    [deps.chainId, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, limit + 1],
  );
  return page_(rows, limit, (r) => [(r as unknown as { sort_s: string }).sort_s, r.collection, r.token_id]);
}
