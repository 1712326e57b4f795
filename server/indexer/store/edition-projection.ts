/**
 * The edition projection: each edition's settings (`edition`), its sale phases (`edition_phase`) and each
 * collection's owner, pause and default royalty (columns of `collection`), derived from the configuration events in
 * `chain_event`. Guarantees: ONE recompute (recomputeEditionProjection) serves the forward path (for the keys a
 * batch's configuration events touch), rollbacks (for the keys of the events removed) and rebuilds (everything), so
 * the three agree by construction; a batch without configuration events costs nothing here (no query at all).
 */
import type pg from "pg";
import { arrayParam } from "./sql.ts";

/** Events that change one edition; its token id is in `edition` (ours) or `id` (ERC-1155's URI). */
export const EDITION_EVENTS = [
  "EditionCreated",
  "MaxSupplyUpdated",
  "ReferralBpsUpdated",
  "RedeemableUpdated",
  "EditionPauseUpdated",
  "EditionRoyaltyUpdated",
  "URI",
  "PermanentURI",
  "PhaseUpdated",
] as const;
/** Events that change a collection as a whole. */
export const COLLECTION_EVENTS = [
  "OwnershipTransferred",
  "Paused",
  "Unpaused",
  "PauseApplied",
  "DefaultRoyaltyUpdated",
] as const;

const EDITION_EVENT_NAMES: ReadonlySet<string> = new Set(EDITION_EVENTS);
const COLLECTION_EVENT_NAMES: ReadonlySet<string> = new Set(COLLECTION_EVENTS);
const ZERO_ROOT = `0x${"0".repeat(64)}`;
const ZERO = `0x${"0".repeat(40)}`;

/** The keys a set of configuration events touches: editions as parallel columns, collections by address. */
export type ConfigKeys = { editionCollection: string[]; editionTokenId: string[]; collections: string[] };

export const emptyConfigKeys = (): ConfigKeys => ({ editionCollection: [], editionTokenId: [], collections: [] });

/**
 * Adds the key of event `name` of contract `address` (lowercase) to `keys`, if it is a configuration event.
 * Returns false for every other event: the caller's per-event cost is one Set lookup.
 */
export function addConfigKey(keys: ConfigKeys, address: string, name: string, args: Record<string, unknown>): boolean {
  if (EDITION_EVENT_NAMES.has(name)) {
    const tokenId = (name === "URI" || name === "PermanentURI" ? args.id : args.edition) as string;
    keys.editionCollection.push(address);
    keys.editionTokenId.push(tokenId);
    return true;
  }
  if (COLLECTION_EVENT_NAMES.has(name)) {
    keys.collections.push(address);
    return true;
  }
  return false;
}

export const hasConfigKeys = (keys: ConfigKeys) => keys.editionCollection.length > 0 || keys.collections.length > 0;

const names = (list: readonly string[]) => list.map((n) => `'${n}'`).join(", ");
/** The value of `expr` in the latest event (chain order) among `events`, per group. */
const latest = (expr: string, events: readonly string[]) =>
  `(array_agg(${expr} ORDER BY block_number DESC, log_index DESC) FILTER (WHERE name IN (${names(events)})))[1]`;

/**
 * Reads the configuration-event keys of `chainId` above block `above` (the events a rollback is about to remove), so
 * the recompute after the removal covers them.
 */
export async function readConfigKeysAbove(tx: pg.PoolClient, chainId: number, above: string): Promise<ConfigKeys> {
  const { rows } = await tx.query<{ address: string; name: string; token_id: string | null }>(
    `SELECT address, name, coalesce(args->>'edition', args->>'id') AS token_id FROM chain_event
     WHERE chain_id = $1 AND block_number > $2 AND name IN (${names([...EDITION_EVENTS, ...COLLECTION_EVENTS])})`,
    [chainId, above],
  );
  const keys = emptyConfigKeys();
  for (const r of rows) addConfigKey(keys, r.address, r.name, { edition: r.token_id, id: r.token_id });
  return keys;
}

/**
 * Recomputes the edition projection from the raw events: for the editions and collections in `keys`, or for the
 * whole chain when `keys` is "all". Every row in scope is derived afresh (deleted, then inserted from the events),
 * so the result depends only on the events stored, never on the order batches, rollbacks and rebuilds ran in.
 * Collections must already be in `collection` (the batch's own creations are written before this runs).
 */
export async function recomputeEditionProjection(tx: pg.PoolClient, chainId: number, keys: ConfigKeys | "all") {
  const all = keys === "all";
  const params: unknown[] = [chainId];
  if (!all) {
    params.push(arrayParam(keys.editionCollection), arrayParam(keys.editionTokenId));
  }
  // The candidate rows are found through the partial index over configuration events (chain_id, address, name);
  // the token filter then keeps the touched editions of those collections.
  const editionScope = all
    ? ""
    : `AND address = ANY($2::text[])
       AND (address, coalesce(args->>'edition', args->>'id')::numeric(78,0)) IN (SELECT * FROM unnest($2::text[], $3::numeric[]))`;
  const rowScope = (table: string) =>
    all ? "" : `AND (${table}.collection, ${table}.token_id) IN (SELECT * FROM unnest($2::text[], $3::numeric[]))`;
  if (all || keys.editionCollection.length > 0) {
    await tx.query(`DELETE FROM edition_phase WHERE chain_id = $1 ${rowScope("edition_phase")}`, params);
    await tx.query(`DELETE FROM edition WHERE chain_id = $1 ${rowScope("edition")}`, params);
    await tx.query(
      `INSERT INTO edition (chain_id, collection, token_id, created_block, created_log_index, created_tx, max_supply,
                            soulbound, redeemable, paused, referral_bps, uri, uri_frozen, royalty_receiver, royalty_bps)
       SELECT $1, collection, token_id, created_block, created_log_index, created_tx, max_supply, soulbound, redeemable,
              coalesce(paused, false), referral_bps, coalesce(uri, ''), uri_frozen,
              nullif(royalty_receiver, '${ZERO}'), CASE WHEN royalty_receiver <> '${ZERO}' THEN royalty_bps END
       FROM (
         SELECT address AS collection, coalesce(args->>'edition', args->>'id')::numeric(78,0) AS token_id,
                ${latest("block_number", ["EditionCreated"])} AS created_block,
                ${latest("log_index", ["EditionCreated"])} AS created_log_index,
                ${latest("tx_hash", ["EditionCreated"])} AS created_tx,
                ${latest("coalesce(args->>'newMaxSupply', args->>'maxSupply')::numeric(78,0)", ["EditionCreated", "MaxSupplyUpdated"])} AS max_supply,
                ${latest("(args->>'soulbound')::boolean", ["EditionCreated"])} AS soulbound,
                ${latest("(args->>'redeemable')::boolean", ["EditionCreated", "RedeemableUpdated"])} AS redeemable,
                ${latest("(args->>'paused')::boolean", ["EditionPauseUpdated"])} AS paused,
                ${latest("(args->>'referralBps')::int", ["EditionCreated", "ReferralBpsUpdated"])} AS referral_bps,
                ${latest("args->>'value'", ["URI"])} AS uri,
                bool_or(name = 'PermanentURI') AS uri_frozen,
                ${latest("args->>'receiver'", ["EditionRoyaltyUpdated"])} AS royalty_receiver,
                ${latest("(args->>'royaltyBps')::int", ["EditionRoyaltyUpdated"])} AS royalty_bps
         FROM chain_event
         WHERE chain_id = $1 AND name IN (${names(EDITION_EVENTS.filter((n) => n !== "PhaseUpdated"))}) ${editionScope}
         GROUP BY 1, 2
       ) e
       WHERE created_block IS NOT NULL`,
      params,
    );
    await tx.query(
      `INSERT INTO edition_phase (chain_id, collection, token_id, phase, starts_at, ends_at, price, wallet_limit, merkle_root, allowlist)
       SELECT DISTINCT ON (address, (args->>'edition')::numeric(78,0), (args->>'phase')::int)
              $1, address, (args->>'edition')::numeric(78,0), (args->>'phase')::int,
              to_timestamp((args->>'start')::bigint), to_timestamp((args->>'end')::bigint), (args->>'price')::numeric(78,0),
              (args->>'walletLimit')::bigint, args->>'merkleRoot', args->>'merkleRoot' <> '${ZERO_ROOT}'
       FROM chain_event
       WHERE chain_id = $1 AND name = 'PhaseUpdated' ${editionScope}
       ORDER BY address, (args->>'edition')::numeric(78,0), (args->>'phase')::int, block_number DESC, log_index DESC`,
      params,
    );
  }
  if (all || keys.collections.length > 0) await recomputeCollectionState(tx, chainId, all ? "all" : keys.collections);
}

/** Owner, pause and default royalty of the collections in scope, from their events (see recomputeEditionProjection). */
async function recomputeCollectionState(tx: pg.PoolClient, chainId: number, collections: string[] | "all") {
  const all = collections === "all";
  const scope = all ? "" : "AND address = ANY($2::text[])";
  await tx.query(
    `WITH s AS (
       SELECT address,
              ${latest("args->>'newOwner'", ["OwnershipTransferred"])} AS owner,
              ${latest("name", ["Paused", "Unpaused"])} = 'Paused' AS paused,
              ${latest("block_number", ["Paused"])} AS paused_block,
              ${latest("log_index", ["Paused"])} AS paused_log_index,
              ${latest("block_number", ["PauseApplied"])} AS applied_block,
              ${latest("log_index", ["PauseApplied"])} AS applied_log_index,
              ${latest("(args->>'appliedThrough')::numeric(78,0)", ["PauseApplied"])} AS applied_through,
              ${latest("args->>'receiver'", ["DefaultRoyaltyUpdated"])} AS royalty_receiver,
              ${latest("(args->>'royaltyBps')::int", ["DefaultRoyaltyUpdated"])} AS royalty_bps
       FROM chain_event WHERE chain_id = $1 AND name IN (${names(COLLECTION_EVENTS)}) ${scope}
       GROUP BY address
     )
     UPDATE collection c
     SET owner = coalesce(s.owner, c.owner),
         paused = coalesce(s.paused, false),
         pause_applied_through = CASE WHEN s.paused AND (s.applied_block, s.applied_log_index) > (s.paused_block, s.paused_log_index) THEN s.applied_through ELSE 0 END,
         paused_block = CASE WHEN s.paused THEN s.paused_block END,
         paused_log_index = CASE WHEN s.paused THEN s.paused_log_index END,
         default_royalty_receiver = nullif(s.royalty_receiver, '${ZERO}'),
         default_royalty_bps = CASE WHEN s.royalty_receiver <> '${ZERO}' THEN s.royalty_bps ELSE 0 END
     FROM collection k LEFT JOIN s ON s.address = k.address
     WHERE c.chain_id = $1 AND k.chain_id = $1 AND k.address = c.address ${all ? "" : "AND k.address = ANY($2::text[])"}`,
    all ? [chainId] : [chainId, arrayParam([...new Set(collections)])],
  );
}
