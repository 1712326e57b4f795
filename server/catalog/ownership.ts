/**
 * Who holds what: an edition's holders (largest first), a wallet's holdings now or as of a past block, and activity
 * (mints with their price and referrer, voucher mints, transfers, burns, redemptions) of a wallet, a collection or an
 * edition. Each answer is one SQL statement, so `asOfBlock` and the rows are one snapshot; each list walks an index
 * in its documented order from the cursor (see the migration catalog_read_indexes), never an offset.
 */
import { checksummed } from "../lib/address.ts";
import { z } from "zod";
import { ZERO_ADDRESS } from "../indexer/store/model.ts";
import {
  CatalogError,
  decodeCursor,
  encodeCursor,
  int32,
  int64Text,
  pageLimit,
  prepared,
  storedAddress,
  uint256Text,
} from "./cursor.ts";
import type { CatalogDeps, PageParameters } from "./editions.ts";
import type { Activity, ActivityList, HolderList, HoldingList } from "./schemas.ts";

const HEAD = `head AS (SELECT block_number::text AS head_block FROM indexer_checkpoint WHERE chain_id = $1)`;
const ZERO = `'${ZERO_ADDRESS}'`;
const key = (address: string) => address.toLowerCase();
const VOUCHER_PHASE = (2n ** 256n - 1n).toString();

const holderCursor = z.tuple([uint256Text, storedAddress]);

/**
 * The holders of an edition, largest balance first, then by owner address; the cursor is (amount, owner). An edition
 * not indexed is CatalogError not_found (404).
 */
export async function listEditionHolders(
  deps: CatalogDeps,
  collection: string,
  tokenId: bigint,
  page: PageParameters = {},
): Promise<HolderList> {
  const limit = pageLimit(page.limit);
  const after = decodeCursor(page.cursor, holderCursor);
  if (tokenId < 0n || tokenId >= 2n ** 256n)
    throw new CatalogError("not_found", 404, "path.tokenId", "no such edition");
  // (amount DESC, owner ASC) is not one range of the index (amount DESC, owner): the rows after the cursor are
  // those of the same amount with a greater owner, then those of a smaller amount; each branch is one index range.
  const { rows } = await deps.db.query<{
    head_block: string | null;
    known: boolean;
    owner: string | null;
    amount: string;
    held_since_block: string | null;
    held_since_time: Date | null;
  }>(
    prepared(`WITH ${HEAD}
     SELECT h.head_block, EXISTS (SELECT 1 FROM edition WHERE chain_id = $1 AND collection = $2 AND token_id = $3::numeric) AS known, x.*
     FROM (SELECT 1) one LEFT JOIN head h ON true
     LEFT JOIN LATERAL (
       SELECT * FROM (
         (SELECT owner, amount, held_since_block::text AS held_since_block, held_since_time FROM token_balance
          WHERE chain_id = $1 AND collection = $2 AND token_id = $3::numeric AND $4::numeric IS NOT NULL
            AND amount = $4::numeric AND owner > $5::text
          ORDER BY owner LIMIT $6)
         UNION ALL
         (SELECT owner, amount, held_since_block::text, held_since_time FROM token_balance
          WHERE chain_id = $1 AND collection = $2 AND token_id = $3::numeric AND ($4::numeric IS NULL OR amount < $4::numeric)
          ORDER BY amount DESC, owner LIMIT $6)
       ) u ORDER BY amount DESC, owner LIMIT $6) x ON true
     ORDER BY x.amount DESC, x.owner`),
    [deps.chainId, key(collection), tokenId.toString(), after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  if (!rows[0]!.known)
    throw new CatalogError("not_found", 404, "path.tokenId", `edition ${tokenId} of ${collection} is not indexed`);
  const found = rows.filter((r) => r.owner !== null);
  const items = found.slice(0, limit);
  return {
    asOfBlock: rows[0]!.head_block,
    items: items.map((r) => ({
      owner: checksummed(r.owner!),
      amount: String(r.amount),
      heldSinceBlock: r.held_since_block,
      heldSince: r.held_since_time?.toISOString() ?? null,
    })),
    nextCursor: found.length > limit ? encodeCursor([String(items.at(-1)!.amount), items.at(-1)!.owner!]) : null,
  };
}

/**
 * getHoldings' statement: $1 chain, $2 owner (lower case), $3/$4 the cursor (collection, token id) or nulls, $5 the
 * page size, and for `asOf` $6 the block. Exported for bench:api's raw-query floor, which runs exactly this SQL.
 */
export function holdingsQuery(asOf: boolean): string {
  // Now: the balances table. As of a block: the wallet's transfers up to it, through the per-wallet indexes of the
  // raw events (both leave out the zero address, which never holds anything).
  const source = !asOf
    ? `SELECT collection, token_id, amount FROM token_balance WHERE chain_id = $1 AND owner = $2 AND amount > 0`
    : `SELECT collection, token_id, sum(delta) AS amount FROM (
         SELECT collection, token_id, amount AS delta FROM token_transfer
         WHERE chain_id = $1 AND to_address = $2 AND to_address <> ${ZERO} AND from_address <> to_address AND block_number <= $6::bigint
         UNION ALL
         SELECT collection, token_id, -amount FROM token_transfer
         WHERE chain_id = $1 AND from_address = $2 AND from_address <> ${ZERO} AND from_address <> to_address AND block_number <= $6::bigint
       ) m GROUP BY collection, token_id HAVING sum(delta) > 0`;
  return `WITH ${HEAD}
     SELECT h.head_block, x.collection, x.token_id::text AS token_id, x.amount::text AS amount
     FROM (SELECT 1) one LEFT JOIN head h ON true
     LEFT JOIN LATERAL (
       SELECT * FROM (${source}) b
       WHERE $3::text IS NULL OR (b.collection, b.token_id) > ($3::text, $4::numeric)
       ORDER BY b.collection, b.token_id LIMIT $5) x ON true
     ORDER BY x.collection, x.token_id`;
}

const holdingCursor = z.tuple([storedAddress, uint256Text]);

/**
 * A wallet's non-zero balances by (collection, token id), now (`asOfBlock` omitted: the indexed head) or at the end
 * of block `asOfBlock`, summed from the transfers up to it. A block above the indexed head, or below `startBlock`
 * (where the index starts; before it nothing is known), is CatalogError block_out_of_range (422 on
 * `query.asOfBlock`). Before the first batch: no holdings at no block (`asOfBlock` null), and a past block is
 * block_out_of_range, since nothing is known yet.
 */
export async function getHoldings(
  deps: CatalogDeps & { startBlock?: bigint },
  address: string,
  page: PageParameters & { asOfBlock?: bigint } = {},
): Promise<HoldingList> {
  const limit = pageLimit(page.limit);
  const after = decodeCursor(page.cursor, holdingCursor);
  const asOf = page.asOfBlock;
  if (asOf !== undefined && (asOf < (deps.startBlock ?? 0n) || asOf >= 2n ** 63n)) {
    throw new CatalogError(
      "block_out_of_range",
      422,
      "query.asOfBlock",
      `the index starts at block ${deps.startBlock ?? 0n}`,
    );
  }
  const owner = key(address);
  const params = [
    deps.chainId,
    owner,
    after?.[0] ?? null,
    after?.[1] ?? null,
    limit + 1,
    ...(asOf === undefined ? [] : [asOf.toString()]),
  ];
  const { rows } = await deps.db.query<{
    head_block: string | null;
    collection: string | null;
    token_id: string;
    amount: string;
  }>(prepared(holdingsQuery(asOf !== undefined)), params);
  const head = rows[0]!.head_block;
  // Before the first batch nothing is known yet: an empty answer at no block (asOfBlock null), as the API conventions
  // say, or a 422 for a past block that cannot be answered yet. Not a 5xx: nothing is broken.
  if (head === null && asOf === undefined)
    return { address: checksummed(address), asOfBlock: null, items: [], nextCursor: null };
  if (head === null) throw new CatalogError("block_out_of_range", 422, "query.asOfBlock", "nothing is indexed yet");
  if (asOf !== undefined && asOf > BigInt(head)) {
    throw new CatalogError(
      "block_out_of_range",
      422,
      "query.asOfBlock",
      `block ${asOf} is above the indexed head ${head}`,
    );
  }
  const found = rows.filter((r) => r.collection !== null);
  const items = found.slice(0, limit);
  return {
    address: checksummed(owner),
    asOfBlock: asOf === undefined ? head : asOf.toString(),
    items: items.map((r) => ({ collection: checksummed(r.collection!), tokenId: r.token_id, amount: r.amount })),
    nextCursor: found.length > limit ? encodeCursor([items.at(-1)!.collection!, items.at(-1)!.token_id]) : null,
  };
}

const activityCursor = z.tuple([int64Text, int32, int32]);

type ActivityScope = { wallet: string } | { collection: string; tokenId?: bigint };

type ActivityRow = {
  head_block: string | null;
  known: boolean;
  block_number: string | null;
  block_time: Date;
  tx_hash: string;
  log_index: number;
  batch_index: number;
  collection: string;
  token_id: string;
  from_address: string;
  to_address: string;
  amount: string;
  follower: string | null;
  paid: string | null;
  referrer: string | null;
  phase: string | null;
};

function kindOf(r: ActivityRow): Activity["kind"] {
  if (r.follower === "Redeemed") return "redemption";
  if (r.follower === "Minted") return r.phase === VOUCHER_PHASE ? "voucher_mint" : "mint";
  if (r.from_address === ZERO_ADDRESS) return "mint";
  if (r.to_address === ZERO_ADDRESS) return "burn";
  return "transfer";
}

/**
 * Activity newest first, by (block, log index, batch index) descending; the cursor is that key. A sale's or a
 * voucher's TransferSingle is followed by its Minted event (price paid, referrer, phase), a redemption's burn by
 * its Redeemed event, in the next log of the same block: that is how a transfer is told apart. Airdrops are mints
 * without a price. An unknown collection or edition is CatalogError not_found (404).
 */
async function listActivity(deps: CatalogDeps, scope: ActivityScope, page: PageParameters): Promise<ActivityList> {
  const limit = pageLimit(page.limit);
  const before = decodeCursor(page.cursor, activityCursor);
  const params: unknown[] = [deps.chainId, before?.[0] ?? null, before?.[1] ?? null, before?.[2] ?? null, limit + 1];
  let where: string;
  let known = "true";
  if ("wallet" in scope) {
    params.push(key(scope.wallet));
    // Said in the words of the partial per-wallet indexes, so the planner matches them.
    where = `((e.from_address = $6 AND e.from_address <> ${ZERO}) OR (e.to_address = $6 AND e.to_address <> ${ZERO}))`;
  } else if (scope.tokenId === undefined) {
    params.push(key(scope.collection));
    where = "e.address = $6";
    known = "EXISTS (SELECT 1 FROM collection WHERE chain_id = $1 AND address = $6)";
  } else {
    if (scope.tokenId < 0n || scope.tokenId >= 2n ** 256n)
      throw new CatalogError("not_found", 404, "path.tokenId", "no such edition");
    params.push(key(scope.collection), scope.tokenId.toString());
    // A batch transfer counts when one of its ids is the edition (its other items are dropped below).
    where = `e.address = $6 AND (e.args->>'id' = $7 OR EXISTS (SELECT 1 FROM json_array_elements_text(e.args->'ids') i WHERE i = $7))`;
    known = "EXISTS (SELECT 1 FROM edition WHERE chain_id = $1 AND collection = $6 AND token_id = $7::numeric)";
  }
  // Not the token_transfer view: its batch items are computed, so no index gives its order. The events are walked
  // newest first on the primary key (chain_id, block_number, log_index) or the per-wallet indexes, `limit + 2` of
  // them (every event has at least one item in scope, except the cursor's own, partly read), then expanded.
  const { rows } = await deps.db.query<ActivityRow>(
    prepared(`WITH ${HEAD}
     SELECT h.head_block, ${known} AS known, x.* FROM (SELECT 1) one LEFT JOIN head h ON true
     LEFT JOIN LATERAL (
       SELECT e.block_number::text AS block_number, b.time AS block_time, e.tx_hash, e.log_index, i.batch_index,
              e.address AS collection, i.token_id, e.from_address, e.to_address, i.amount,
              m.name AS follower, m.args->>'paid' AS paid, m.args->>'referrer' AS referrer, m.args->>'phase' AS phase
       FROM (SELECT * FROM chain_event e
             WHERE e.chain_id = $1 AND e.name IN ('TransferSingle', 'TransferBatch') AND e.from_address IS NOT NULL AND ${where}
               AND ($2::bigint IS NULL OR (e.block_number, e.log_index) <= ($2::bigint, $3::int))
             ORDER BY e.block_number DESC, e.log_index DESC LIMIT $5 + 1) e
       JOIN event_block b ON b.chain_id = e.chain_id AND b.number = e.block_number
       CROSS JOIN LATERAL (
         SELECT 0 AS batch_index, e.args->>'id' AS token_id, e.args->>'value' AS amount WHERE e.name = 'TransferSingle'
         UNION ALL
         SELECT (n - 1)::int, id, e.args->'values'->>(n - 1)::int
         FROM json_array_elements_text(e.args->'ids') WITH ORDINALITY AS ids(id, n) WHERE e.name = 'TransferBatch'
       ) i
       LEFT JOIN chain_event m ON m.chain_id = e.chain_id AND m.block_number = e.block_number AND m.log_index = e.log_index + 1
                              AND m.address = e.address AND m.name IN ('Minted', 'Redeemed') AND e.name = 'TransferSingle'
                              AND m.args->>'edition' = i.token_id
       WHERE ${"tokenId" in scope && scope.tokenId !== undefined ? "i.token_id = $7" : "true"}
         AND ($2::bigint IS NULL OR (e.block_number, e.log_index, i.batch_index) < ($2::bigint, $3::int, $4::int))
       ORDER BY e.block_number DESC, e.log_index DESC, i.batch_index DESC LIMIT $5) x ON true
     ORDER BY x.block_number::bigint DESC, x.log_index DESC, x.batch_index DESC`),
    params,
  );
  if (!rows[0]!.known) {
    const what =
      "wallet" in scope
        ? ""
        : scope.tokenId === undefined
          ? `collection ${scope.collection}`
          : `edition ${scope.tokenId} of ${scope.collection}`;
    throw new CatalogError(
      "not_found",
      404,
      "wallet" in scope || scope.tokenId === undefined ? "path.address" : "path.tokenId",
      `${what} is not indexed`,
    );
  }
  const found = rows.filter((r) => r.block_number !== null);
  const items = found.slice(0, limit);
  const last = items.at(-1);
  return {
    asOfBlock: rows[0]!.head_block,
    items: items.map((r) => {
      const minted = r.follower === "Minted";
      return {
        kind: kindOf(r),
        collection: checksummed(r.collection),
        tokenId: r.token_id,
        from: checksummed(r.from_address),
        to: checksummed(r.to_address),
        amount: r.amount,
        paid: minted ? r.paid : null,
        referrer: minted && r.referrer && r.referrer !== ZERO_ADDRESS ? checksummed(r.referrer) : null,
        phase: minted ? r.phase : null,
        txHash: r.tx_hash,
        logIndex: r.log_index,
        batchIndex: r.batch_index,
        blockNumber: r.block_number!,
        time: r.block_time.toISOString(),
      };
    }),
    nextCursor:
      found.length > limit && last ? encodeCursor([last.block_number!, last.log_index, last.batch_index]) : null,
  };
}

/** A wallet's activity (sent and received), newest first (see listActivity). */
export const listWalletActivity = (deps: CatalogDeps, wallet: string, page: PageParameters = {}) =>
  listActivity(deps, { wallet }, page);
/** A collection's activity, newest first (see listActivity). */
export const listCollectionActivity = (deps: CatalogDeps, collection: string, page: PageParameters = {}) =>
  listActivity(deps, { collection }, page);
/** An edition's activity, newest first (see listActivity). */
export const listEditionActivity = (
  deps: CatalogDeps,
  collection: string,
  tokenId: bigint,
  page: PageParameters = {},
) => listActivity(deps, { collection, tokenId }, page);
