/**
 * Spending points on editions. An operator (or the partner, for its own collection) offers an edition for points;
 * a signed-in wallet redeems: its points are debited and it gets an EIP-712 mint voucher (the Collection's
 * MintVoucher, price 0) signed by the platform's voucher signer, valid until a deadline. All of a redemption —
 * idempotency check, limits, stock, debit, voucher, the expiry job — is one transaction under the wallet's balance
 * lock, so 1,000 simultaneous requests of a wallet that can afford 10 get exactly 10 vouchers. The voucher's use
 * (VoucherUsed, from the facts feed) completes the redemption; a deadline passed unused, once final on-chain,
 * refunds it exactly once (voucher-expiry.ts).
 */
import { createHash, randomUUID } from "node:crypto";
import type pg from "pg";
import { getAddress, type Address, type Hex } from "viem";
import { HttpProblem, problemTitle } from "../http/problem.ts";
import { appendEntries, InsufficientPointsError, lockBalance } from "./ledger.ts";
import type { VoucherSigner } from "./voucher-signer.ts";

/** How long a voucher stays valid by default (REDEMPTION_VOUCHER_TTL_SECONDS). */
export const DEFAULT_VOUCHER_TTL_SECONDS = 30 * 60;

/** The pg-boss queue of expiry checks (voucher-expiry.ts works it). */
export const VOUCHER_EXPIRY_QUEUE = "voucher-expiry";

/** Enqueues a job inside the caller's transaction (pg-boss `send` with that transaction as its `db`). */
export type EnqueueInTransaction = (
  tx: pg.PoolClient,
  queue: string,
  data: object,
  options: { startAfter: Date },
) => Promise<void>;

export type OfferInput = {
  collection: string;
  tokenId: bigint;
  price: bigint;
  stock: number;
  walletLimit: number;
  startsAt: Date;
  endsAt: Date;
};

export type Offer = OfferInput & { id: string; remaining: number; createdBy: string; createdAt: Date };

type OfferRow = {
  id: string;
  collection: string;
  token_id: string;
  price: string;
  stock: number;
  remaining: number;
  wallet_limit: number;
  starts_at: Date;
  ends_at: Date;
  created_by: string;
  created_at: Date;
};

const OFFER_COLUMNS = `id, collection, token_id::text, price::text, stock, remaining, wallet_limit, starts_at, ends_at,
  created_by, created_at`;

function offerOf(r: OfferRow): Offer {
  return {
    id: r.id,
    collection: getAddress(r.collection),
    tokenId: BigInt(r.token_id),
    price: BigInt(r.price),
    stock: r.stock,
    remaining: r.remaining,
    walletLimit: r.wallet_limit,
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    createdBy: getAddress(r.created_by),
    createdAt: r.created_at,
  };
}

const problem = (status: number, path: string, detail: string) =>
  new HttpProblem(status, problemTitle(status), detail, [{ path, message: detail }]);

/**
 * Offers an edition for points. The edition must be indexed; at most one offer of an edition is open at any time
 * (a redemption names the edition), so an offer whose window overlaps another's is a 409.
 */
export async function createOffer(db: pg.Pool, chainId: number, input: OfferInput, createdBy: string): Promise<Offer> {
  const tx = await db.connect();
  try {
    await tx.query("BEGIN");
    const collection = input.collection.toLowerCase();
    const edition = await tx.query(
      "SELECT 1 FROM edition WHERE chain_id = $1 AND collection = $2 AND token_id = $3::numeric FOR SHARE",
      [chainId, collection, input.tokenId.toString()],
    );
    if (edition.rowCount === 0)
      throw problem(404, "body.tokenId", `edition ${input.tokenId} of ${input.collection} is not indexed`);
    // Serialises offers of one edition, so two overlapping ones cannot both pass the check below.
    await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
      `points_offer:${chainId}:${collection}:${input.tokenId}`,
    ]);
    const overlap = await tx.query<{ id: string }>(
      `SELECT id FROM points_offer WHERE chain_id = $1 AND collection = $2 AND token_id = $3::numeric
         AND starts_at < $5 AND ends_at > $4 LIMIT 1`,
      [chainId, collection, input.tokenId.toString(), input.startsAt, input.endsAt],
    );
    if (overlap.rows[0])
      throw problem(409, "body.startsAt", `offer ${overlap.rows[0].id} of this edition is open during this window`);
    const { rows } = await tx.query<OfferRow>(
      `INSERT INTO points_offer (id, chain_id, collection, token_id, price, stock, remaining, wallet_limit, starts_at,
                                 ends_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10) RETURNING ${OFFER_COLUMNS}`,
      [
        randomUUID(),
        chainId,
        collection,
        input.tokenId.toString(),
        input.price.toString(),
        input.stock,
        input.walletLimit,
        input.startsAt,
        input.endsAt,
        createdBy.toLowerCase(),
      ],
    );
    await tx.query("COMMIT");
    return offerOf(rows[0]!);
  } catch (error) {
    await tx.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    tx.release();
  }
}

/** Offers open now or starting later, soonest end first; then by id. */
export async function listOpenOffers(db: pg.Pool, chainId: number, limit: number, after?: [string, string]) {
  const { rows } = await db.query<OfferRow>(
    `SELECT ${OFFER_COLUMNS} FROM points_offer WHERE chain_id = $1 AND ends_at > now()
       AND ($2::timestamptz IS NULL OR (ends_at, id) > ($2::timestamptz, $3::uuid))
     ORDER BY ends_at, id LIMIT $4`,
    [chainId, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  return { offers: rows.slice(0, limit).map(offerOf), more: rows.length > limit };
}

export type RedemptionRequest = {
  wallet: Address;
  collection: string;
  tokenId: bigint;
  quantity: number;
  idempotencyKey: string;
};

export type Redemption = {
  id: string;
  offerId: string;
  wallet: Address;
  collection: Address;
  tokenId: bigint;
  quantity: number;
  points: bigint;
  status: "issued" | "completed" | "refunded";
  createdAt: Date;
  voucher: {
    recipient: Address;
    edition: bigint;
    quantity: bigint;
    price: bigint;
    id: bigint;
    deadline: bigint;
    signerEpoch: bigint;
  };
  chainId: number;
  signature: Hex;
  signer: Address;
};

type RedemptionRow = {
  id: string;
  offer_id: string;
  wallet: string;
  request_hash: string;
  chain_id: number;
  collection: string;
  token_id: string;
  quantity: number;
  points: string;
  voucher_id: string;
  deadline: Date;
  signer: string;
  signer_epoch: string;
  signature: string;
  status: Redemption["status"];
  created_at: Date;
};

const REDEMPTION_COLUMNS = `id, offer_id, wallet, request_hash, chain_id, collection, token_id::text, quantity, points::text,
  voucher_id::text, deadline, signer, signer_epoch::text, signature, status, created_at`;

function redemptionOf(r: RedemptionRow): Redemption {
  const wallet = getAddress(r.wallet);
  return {
    id: r.id,
    offerId: r.offer_id,
    wallet,
    collection: getAddress(r.collection),
    tokenId: BigInt(r.token_id),
    quantity: r.quantity,
    points: BigInt(r.points),
    status: r.status,
    createdAt: r.created_at,
    chainId: r.chain_id,
    voucher: {
      recipient: wallet,
      edition: BigInt(r.token_id),
      quantity: BigInt(r.quantity),
      price: 0n,
      id: BigInt(r.voucher_id),
      deadline: BigInt(Math.floor(r.deadline.getTime() / 1000)),
      signerEpoch: BigInt(r.signer_epoch),
    },
    signature: r.signature as Hex,
    signer: getAddress(r.signer),
  };
}

/** The request's fingerprint: the same idempotency key with another body is a conflict. */
function requestHash(r: RedemptionRequest): string {
  return createHash("sha256")
    .update(JSON.stringify([r.collection.toLowerCase(), r.tokenId.toString(), r.quantity]))
    .digest("hex");
}

export type RedeemDeps = {
  db: pg.Pool;
  chainId: number;
  signer: VoucherSigner;
  voucherTtlSeconds: number;
  enqueue: EnqueueInTransaction;
  now?: () => Date;
};

/**
 * Redeems points for a voucher. Returns the redemption and whether it was made now (`created`) or replayed for the
 * same idempotency key and body. Refusals are problems: 409 (key reused with another body), 422 (no open offer,
 * over the wallet's limit, out of stock, not enough points).
 */
export async function redeem(
  deps: RedeemDeps,
  request: RedemptionRequest,
): Promise<{ redemption: Redemption; created: boolean }> {
  const wallet = request.wallet.toLowerCase();
  const collection = request.collection.toLowerCase();
  const hash = requestHash(request);
  // Read before the transaction: the signer's on-chain epoch (an RPC call, cached), not to be held under locks.
  const signing = await deps.signer.current();
  const tx = await deps.db.connect();
  try {
    await tx.query("BEGIN");
    // Every redemption of this wallet waits here for the one before it: the checks below then stay true.
    await lockBalance(tx, wallet);
    const existing = await tx.query<RedemptionRow>(
      `SELECT ${REDEMPTION_COLUMNS} FROM points_redemption WHERE wallet = $1 AND idempotency_key = $2`,
      [wallet, request.idempotencyKey],
    );
    if (existing.rows[0]) {
      await tx.query("ROLLBACK");
      if (existing.rows[0].request_hash !== hash)
        throw problem(409, "body.idempotencyKey", "this idempotency key was used for another redemption");
      return { redemption: redemptionOf(existing.rows[0]), created: false };
    }
    const now = deps.now?.() ?? new Date();
    const offers = await tx.query<OfferRow>(
      `SELECT ${OFFER_COLUMNS} FROM points_offer
       WHERE chain_id = $1 AND collection = $2 AND token_id = $3::numeric AND starts_at <= $4 AND ends_at > $4
       FOR UPDATE`,
      [deps.chainId, collection, request.tokenId.toString(), now],
    );
    const offer = offers.rows[0];
    if (!offer) throw problem(422, "body.edition", "this edition is not offered for points now");
    const taken = await tx.query<{ quantity: string }>(
      `SELECT coalesce(sum(quantity), 0)::text AS quantity FROM points_redemption
       WHERE offer_id = $1 AND wallet = $2 AND status <> 'refunded'`,
      [offer.id, wallet],
    );
    if (Number(taken.rows[0]!.quantity) + request.quantity > offer.wallet_limit)
      throw problem(
        422,
        "body.quantity",
        `at most ${offer.wallet_limit} per wallet; this wallet has ${taken.rows[0]!.quantity}`,
      );
    if (offer.remaining < request.quantity)
      throw problem(422, "body.quantity", `only ${offer.remaining} left of this offer`);
    const id = randomUUID();
    const points = BigInt(offer.price) * BigInt(request.quantity);
    try {
      await appendEntries(tx, [
        {
          wallet,
          bucket: "available",
          amount: -points,
          reason: "redemption",
          reference: `redemption ${id}: ${request.quantity} × ${getAddress(collection)}/${request.tokenId}`,
          idempotencyKey: `redeem:${id}`,
          earnedAt: now,
        },
      ]);
    } catch (error) {
      if (error instanceof InsufficientPointsError)
        throw new InsufficientPointsError(`This costs ${points} points; the wallet has fewer available.`);
      throw error;
    }
    await tx.query("UPDATE points_offer SET remaining = remaining - $2 WHERE id = $1", [offer.id, request.quantity]);
    // A voucher id no other redemption of any collection shares: the redemption's UUID as a 128-bit number.
    const voucher = {
      recipient: getAddress(wallet),
      edition: request.tokenId,
      quantity: BigInt(request.quantity),
      price: 0n,
      id: BigInt(`0x${id.replaceAll("-", "")}`),
      deadline: BigInt(Math.floor(now.getTime() / 1000) + deps.voucherTtlSeconds),
      signerEpoch: signing.epoch,
    };
    const signature = await deps.signer.sign(getAddress(collection), voucher);
    const { rows } = await tx.query<RedemptionRow>(
      `INSERT INTO points_redemption (id, wallet, idempotency_key, request_hash, offer_id, chain_id, collection, token_id,
                                      quantity, points, voucher_id, deadline, signer, signer_epoch, signature)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, to_timestamp($12), $13, $14, $15)
       RETURNING ${REDEMPTION_COLUMNS}`,
      [
        id,
        wallet,
        request.idempotencyKey,
        hash,
        offer.id,
        deps.chainId,
        collection,
        request.tokenId.toString(),
        request.quantity,
        points.toString(),
        voucher.id.toString(),
        voucher.deadline.toString(),
        signing.address.toLowerCase(),
        signing.epoch.toString(),
        signature,
      ],
    );
    // The expiry check, enqueued with the redemption: it exists exactly when the redemption does.
    await deps.enqueue(tx, VOUCHER_EXPIRY_QUEUE, { redemptionId: id }, { startAfter: rows[0]!.deadline });
    await tx.query("COMMIT");
    return { redemption: redemptionOf(rows[0]!), created: true };
  } catch (error) {
    await tx.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    tx.release();
  }
}

/** A wallet's redemptions, newest first; the cursor is (created_at, id). */
export async function listRedemptions(db: pg.Pool, wallet: string, limit: number, before?: [string, string]) {
  const { rows } = await db.query<RedemptionRow>(
    `SELECT ${REDEMPTION_COLUMNS} FROM points_redemption WHERE wallet = $1
       AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $4`,
    [wallet.toLowerCase(), before?.[0] ?? null, before?.[1] ?? null, limit + 1],
  );
  return { redemptions: rows.slice(0, limit).map(redemptionOf), more: rows.length > limit };
}
