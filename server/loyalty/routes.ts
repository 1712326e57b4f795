/**
 * Loyalty routes: a wallet's points and redemptions, season leaderboards, the rules and seasons operators set,
 * adjustments, and editions offered for points (by operators, or by a partner for its own collection).
 */
import type pg from "pg";
import { inTransaction } from "../database/transaction.ts";
import { getAddress } from "viem";
import { z } from "zod";
import { decodeCursor, encodeCursor, pageQuerySchema } from "../http/pagination.ts";
import { HttpProblem, problemTitle, RETRY_AFTER_SECONDS } from "../http/problem.ts";
import { defineRoute, type RouteDeclaration } from "../http/route.ts";
import { addressSchema } from "../http/schemas.ts";
import { adjustPoints, checkIn, createSeason, leaderboard, listSeasons, walletPoints } from "./points.ts";
import {
  createOffer,
  listOpenOffers,
  listRedemptions,
  redeem,
  type EnqueueInTransaction,
  type Offer,
  type Redemption,
} from "./redemptions.ts";
import { currentRules, NO_RULES, saveRulesVersion } from "./rules.ts";
import {
  adjustmentBodySchema,
  adjustmentSchema,
  checkInSchema,
  createSeasonBodySchema,
  idempotencyKeySchema,
  leaderboardQuerySchema,
  leaderboardSchema,
  myPointsQuerySchema,
  myPointsSchema,
  offerBodySchema,
  offerListSchema,
  offerSchema,
  operatorOfferBodySchema,
  redemptionBodySchema,
  redemptionListSchema,
  redemptionSchema,
  rulesVersionSchema,
  saveRulesBodySchema,
  seasonSchema,
} from "./schemas.ts";
import type { VoucherSigner } from "./voucher-signer.ts";

export type LoyaltyDeps = {
  db: pg.Pool;
  chainId: number;
  /** Redemptions need both; without them POST /v1/redemptions answers 503 (not configured). */
  signer?: VoucherSigner;
  enqueue?: EnqueueInTransaction;
  voucherTtlSeconds: number;
};

const text = (v: bigint | number) => v.toString();

const offerAnswer = (o: Offer) => ({
  id: o.id,
  collection: o.collection,
  tokenId: text(o.tokenId),
  price: text(o.price),
  stock: o.stock,
  remaining: o.remaining,
  walletLimit: o.walletLimit,
  startsAt: o.startsAt.toISOString(),
  endsAt: o.endsAt.toISOString(),
  createdBy: o.createdBy,
});

const redemptionAnswer = (r: Redemption) => ({
  id: r.id,
  offerId: r.offerId,
  status: r.status,
  wallet: r.wallet,
  collection: r.collection,
  tokenId: text(r.tokenId),
  quantity: r.quantity,
  points: text(r.points),
  createdAt: r.createdAt.toISOString(),
  deadline: new Date(Number(r.voucher.deadline) * 1000).toISOString(),
  chainId: r.chainId,
  voucher: {
    recipient: r.voucher.recipient,
    edition: text(r.voucher.edition),
    quantity: text(r.voucher.quantity),
    price: text(r.voucher.price),
    id: text(r.voucher.id),
    deadline: text(r.voucher.deadline),
    signerEpoch: text(r.voucher.signerEpoch),
  },
  signature: r.signature,
  signer: r.signer,
});

const idCursor = z.tuple([z.string().regex(/^[1-9][0-9]{0,18}$/)]);
const timeIdCursor = z.tuple([z.iso.datetime(), z.string().uuid()]);
const leaderboardCursor = z.tuple([z.string().regex(/^[1-9][0-9]{0,18}$/), z.string().regex(/^[1-9][0-9]{0,18}$/)]);

export function loyaltyRoutes(deps: LoyaltyDeps): RouteDeclaration[] {
  const offerRoute = (path: string, role: "operator" | "partner") =>
    defineRoute({
      method: "post",
      path,
      summary:
        role === "operator"
          ? "Offer an edition for points (operators)"
          : "Offer one of the collection's editions for points (its partner)",
      description:
        "At most one offer of an edition is open at a time: an offer whose window overlaps another's is a 409.",
      tags: ["loyalty"],
      role,
      ...(role === "partner"
        ? { partnerOf: ({ params }: { params: { address: string } }) => params.address.toLowerCase(), writes: true }
        : {}),
      ...(role === "partner" ? { params: z.object({ address: addressSchema.describe("the collection") }) } : {}),
      body: role === "operator" ? operatorOfferBodySchema : offerBodySchema,
      responses: { 201: { description: "The offer", schema: offerSchema } },
      errors: [404, 409],
      handler: async ({ params, body, caller }) => {
        const input = body as z.infer<typeof operatorOfferBodySchema>;
        const collection = (params as { address?: string } | undefined)?.address ?? input.collection;
        const offer = await createOffer(deps.db, deps.chainId, { ...input, collection }, caller!.address);
        return { status: 201, body: offerAnswer(offer) };
      },
    });

  return [
    defineRoute({
      method: "get",
      path: "/v1/me/points",
      summary: "The signed-in wallet's points: available, pending, lifetime, tier, and history (newest first)",
      tags: ["loyalty"],
      role: "holder",
      query: myPointsQuerySchema,
      responses: { 200: { description: "Points and a page of history", schema: myPointsSchema } },
      handler: async ({ query, caller }) => {
        const before = decodeCursor(query.cursor, idCursor);
        const p = await walletPoints(deps.db, caller!.address, {
          limit: query.limit,
          ...(before ? { before: BigInt(before[0]) } : {}),
        });
        return {
          body: {
            wallet: getAddress(caller!.address),
            available: text(p.balance.available),
            pending: text(p.balance.pending),
            lifetime: text(p.balance.lifetime),
            tier: p.tier,
            nextTier: p.nextTier ? { ...p.nextTier, pointsToGo: text(p.nextTier.pointsToGo) } : null,
            history: {
              items: p.history.map((e) => ({
                id: text(e.id),
                bucket: e.bucket,
                amount: text(e.amount),
                reason: e.reason,
                reference: e.reference,
                ruleVersion: e.ruleVersion,
                earnedAt: e.earnedAt.toISOString(),
                createdAt: e.createdAt.toISOString(),
              })),
              nextCursor: p.more ? encodeCursor([text(p.history.at(-1)!.id)]) : null,
            },
          },
        };
      },
    }),
    defineRoute({
      method: "post",
      path: "/v1/me/check-in",
      summary: "The daily check-in: the rules' points once per UTC day (a second one that day changes nothing)",
      tags: ["loyalty"],
      role: "holder",
      responses: { 200: { description: "Checked in now, or already today", schema: checkInSchema } },
      errors: [422],
      handler: async ({ caller }) => {
        const r = await checkIn(deps.db, caller!.address);
        return {
          body: {
            checkedIn: r.checkedIn,
            day: r.day,
            points: text(r.points),
            available: text(r.balance.available),
          },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/v1/leaderboard",
      summary: "A season's leaderboard: points earned in the season, most first; ties to who got there first",
      tags: ["loyalty"],
      role: "public",
      query: leaderboardQuerySchema,
      responses: { 200: { description: "A page of the leaderboard", schema: leaderboardSchema } },
      errors: [404],
      handler: async ({ query }) => {
        const after = decodeCursor(query.cursor, leaderboardCursor);
        const board = await leaderboard(deps.db, query.season, {
          limit: query.limit,
          ...(after ? { after } : {}),
        });
        const last = board.rows.at(-1);
        return {
          headers: { "cache-control": "public, max-age=5" },
          body: {
            season: {
              ...board.season,
              startsAt: board.season.startsAt.toISOString(),
              endsAt: board.season.endsAt.toISOString(),
            },
            items: board.rows.map((r) => ({ rank: Number(r.rank), wallet: getAddress(r.wallet), points: r.points })),
            nextCursor: board.more && last ? encodeCursor([last.points, last.reached]) : null,
          },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/v1/points/rules",
      summary: "The points rules in force: what earns points, the caps and the tiers",
      tags: ["loyalty"],
      role: "public",
      responses: { 200: { description: "The current version", schema: rulesVersionSchema } },
      handler: async () => {
        const current = await currentRules(deps.db);
        return {
          body: current
            ? {
                version: current.version,
                rules: current.rules,
                createdBy: getAddress(current.createdBy),
                comment: current.comment,
                createdAt: current.createdAt.toISOString(),
              }
            : { version: null, rules: NO_RULES, createdBy: null, comment: null, createdAt: null },
        };
      },
    }),
    defineRoute({
      method: "post",
      path: "/v1/points/rules",
      summary: "Save new points rules (operators): a new version; past awards keep the version they were made under",
      tags: ["loyalty"],
      role: "operator",
      body: saveRulesBodySchema,
      responses: { 201: { description: "The new version", schema: rulesVersionSchema } },
      handler: async ({ body, caller }) => {
        const saved = await inTransaction(deps.db, (tx) =>
          saveRulesVersion(tx, body.rules, caller!.address.toLowerCase(), body.comment ?? null),
        );
        return {
          status: 201,
          body: {
            version: saved.version,
            rules: saved.rules,
            createdBy: getAddress(saved.createdBy),
            comment: saved.comment,
            createdAt: saved.createdAt.toISOString(),
          },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/v1/points/seasons",
      summary: "Seasons, newest first",
      tags: ["loyalty"],
      role: "public",
      responses: { 200: { description: "Every season", schema: z.object({ items: z.array(seasonSchema) }) } },
      handler: async () => ({
        body: {
          items: (await listSeasons(deps.db)).map((s) => ({
            ...s,
            startsAt: s.startsAt.toISOString(),
            endsAt: s.endsAt.toISOString(),
          })),
        },
      }),
    }),
    defineRoute({
      method: "post",
      path: "/v1/points/seasons",
      summary: "Create a season (operators)",
      tags: ["loyalty"],
      role: "operator",
      body: createSeasonBodySchema,
      responses: { 201: { description: "The season", schema: seasonSchema } },
      handler: async ({ body, caller }) => {
        const s = await createSeason(deps.db, body, caller!.address);
        return { status: 201, body: { ...s, startsAt: s.startsAt.toISOString(), endsAt: s.endsAt.toISOString() } };
      },
    }),
    defineRoute({
      method: "post",
      path: "/v1/points/adjustments",
      summary: "Adjust a wallet's available points (operators), with a comment on record",
      tags: ["loyalty"],
      role: "operator",
      body: adjustmentBodySchema,
      responses: { 200: { description: "Applied now, or already applied under this key", schema: adjustmentSchema } },
      errors: [409, 422],
      handler: async ({ body, caller }) => {
        const { applied, balance } = await adjustPoints(deps.db, body, caller!.address);
        return {
          body: {
            applied,
            wallet: body.wallet,
            available: text(balance.available),
            pending: text(balance.pending),
            lifetime: text(balance.lifetime),
          },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/v1/points/offers",
      summary: "Editions offered for points, open now or later, soonest ending first",
      tags: ["loyalty"],
      role: "public",
      query: pageQuerySchema,
      responses: { 200: { description: "A page of offers", schema: offerListSchema } },
      handler: async ({ query }) => {
        const after = decodeCursor(query.cursor, timeIdCursor);
        const { offers, more } = await listOpenOffers(deps.db, deps.chainId, query.limit, after);
        const last = offers.at(-1);
        return {
          headers: { "cache-control": "public, max-age=5" },
          body: {
            items: offers.map(offerAnswer),
            nextCursor: more && last ? encodeCursor([last.endsAt.toISOString(), last.id]) : null,
          },
        };
      },
    }),
    offerRoute("/v1/points/offers", "operator"),
    offerRoute("/v1/collections/{address}/points-offers", "partner"),
    defineRoute({
      method: "post",
      path: "/v1/redemptions",
      summary: "Spend points on an edition: debits them and returns a mint voucher for the signed-in wallet",
      description:
        "Idempotent: the same idempotencyKey (body or Idempotency-Key header) and body replays the first answer (200); the same key with another body is a 409. The voucher mints with the Collection's mintWithVoucher(voucher, chainId, signature) until its deadline; unused, its points are refunded once the deadline is final on-chain.",
      tags: ["loyalty"],
      role: "holder",
      body: redemptionBodySchema,
      responses: {
        201: { description: "Redeemed now", schema: redemptionSchema },
        200: { description: "Replayed: this key's first answer", schema: redemptionSchema },
      },
      errors: [409, 422],
      handler: async ({ body, caller, req }) => {
        const idempotencyKey = idempotencyKeyOf(body.idempotencyKey, req.get("idempotency-key"));
        if (!deps.signer || !deps.enqueue)
          throw new HttpProblem(
            503,
            problemTitle(503),
            "Redemptions are not configured on this server (VOUCHER_SIGNER_KEY).",
            undefined,
            { "retry-after": String(RETRY_AFTER_SECONDS) },
          );
        const { redemption, created } = await redeem(
          {
            db: deps.db,
            chainId: deps.chainId,
            signer: deps.signer,
            enqueue: deps.enqueue,
            voucherTtlSeconds: deps.voucherTtlSeconds,
          },
          {
            wallet: caller!.address,
            collection: body.edition.collection,
            tokenId: body.edition.tokenId,
            quantity: body.quantity,
            idempotencyKey,
          },
        );
        return { status: created ? 201 : 200, body: redemptionAnswer(redemption) };
      },
    }),
    defineRoute({
      method: "get",
      path: "/v1/me/redemptions",
      summary: "The signed-in wallet's redemptions and their vouchers, newest first",
      tags: ["loyalty"],
      role: "holder",
      query: pageQuerySchema,
      responses: { 200: { description: "A page of redemptions", schema: redemptionListSchema } },
      handler: async ({ query, caller }) => {
        const before = decodeCursor(query.cursor, timeIdCursor);
        const { redemptions, more } = await listRedemptions(deps.db, caller!.address, query.limit, before);
        const last = redemptions.at(-1);
        return {
          body: {
            items: redemptions.map(redemptionAnswer),
            nextCursor: more && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null,
          },
        };
      },
    }),
  ];
}

/** The idempotency key from the body or the Idempotency-Key header (one is required; both must agree). */
function idempotencyKeyOf(fromBody: string | undefined, fromHeader: string | undefined): string {
  const fail = (path: string, message: string) =>
    new HttpProblem(400, problemTitle(400), `${path}: ${message}`, [{ path, message }]);
  if (fromHeader !== undefined) {
    const parsed = idempotencyKeySchema.safeParse(fromHeader);
    if (!parsed.success) throw fail("header.idempotency-key", parsed.error.issues[0]!.message);
    if (fromBody !== undefined && fromBody !== parsed.data)
      throw fail("body.idempotencyKey", "differs from the Idempotency-Key header");
    return parsed.data;
  }
  if (fromBody === undefined) throw fail("body.idempotencyKey", "required (or send an Idempotency-Key header)");
  return fromBody;
}
