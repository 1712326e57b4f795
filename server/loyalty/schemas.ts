/** The loyalty routes' inputs and answers (zod; the OpenAPI document is derived from them). */
import { z } from "zod";
import { cursorSchema, limitSchema } from "../http/pagination.ts";
import { addressSchema } from "../http/schemas.ts";
import { pointsRulesSchema } from "./rules.ts";

/** Points in answers: decimal strings (a ledger's sums may pass 2^53). */
const pointsText = z.string().regex(/^-?(0|[1-9][0-9]*)$/);
const isoTime = z.string().describe("ISO 8601 UTC");
const address = z.string().describe("EIP-55 checksummed address");

export const idempotencyKeySchema = z
  .string()
  .min(8, "must be 8 to 128 characters")
  .max(128, "must be 8 to 128 characters")
  .regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits and _ . : - only")
  .describe("Chosen by the client; the same key and body replays the first answer");

const tokenIdText = z
  .string()
  .regex(/^[1-9][0-9]{0,77}$/, "must be a token id in decimal")
  .transform((v) => BigInt(v))
  .refine((v) => v < 2n ** 256n, "must fit in uint256");

const positivePoints = z
  .string()
  .regex(/^[1-9][0-9]{0,14}$/, "must be a whole number of points from 1 to 999999999999999")
  .transform((v) => BigInt(v));

const time = z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time" }).transform((v) => new Date(v));

export const tierSchema = z.object({ name: z.string(), minLifetime: z.number().int() }).meta({ id: "Tier" });

export const pointsEntrySchema = z
  .object({
    id: z.string(),
    bucket: z.enum(["pending", "available"]),
    amount: pointsText.describe("Signed"),
    reason: z.string(),
    reference: z.string(),
    ruleVersion: z.number().int().nullable(),
    earnedAt: isoTime,
    createdAt: isoTime,
  })
  .meta({ id: "PointsEntry" });

export const myPointsSchema = z
  .object({
    wallet: address,
    available: pointsText.describe("Spendable now"),
    pending: pointsText.describe("Awarded for chain facts not final yet (POINTS_FINALITY)"),
    lifetime: pointsText.describe("Every point earned and made available; tiers use it"),
    tier: tierSchema.nullable(),
    nextTier: tierSchema.extend({ pointsToGo: pointsText }).nullable(),
    history: z.object({ items: z.array(pointsEntrySchema), nextCursor: z.string().nullable() }),
  })
  .meta({ id: "MyPoints" });

export const myPointsQuerySchema = z.strictObject({
  limit: limitSchema.optional().transform((v) => v ?? 50),
  cursor: cursorSchema.optional(),
});

export const seasonSchema = z
  .object({ id: z.number().int(), name: z.string(), startsAt: isoTime, endsAt: isoTime })
  .meta({ id: "Season" });

export const createSeasonBodySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(80),
    startsAt: time,
    endsAt: time,
  })
  .refine((s) => s.endsAt > s.startsAt, { message: "must be after startsAt", path: ["endsAt"] });

export const leaderboardQuerySchema = z.strictObject({
  season: z
    .string({ error: "must be a season id" })
    .regex(/^[1-9][0-9]{0,8}$/, "must be a season id")
    .transform(Number),
  limit: limitSchema.optional().transform((v) => v ?? 50),
  cursor: cursorSchema.optional(),
});

export const leaderboardSchema = z
  .object({
    season: seasonSchema,
    items: z.array(z.object({ rank: z.number().int(), wallet: address, points: pointsText })),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: "Leaderboard" });

export const rulesVersionSchema = z
  .object({
    version: z.number().int().nullable().describe("Null until an operator saves the first version"),
    rules: pointsRulesSchema,
    createdBy: address.nullable(),
    comment: z.string().nullable(),
    createdAt: isoTime.nullable(),
  })
  .meta({ id: "PointsRulesVersion" });

export const saveRulesBodySchema = z.strictObject({
  rules: pointsRulesSchema,
  comment: z.string().trim().max(500).optional(),
});

export const adjustmentBodySchema = z.strictObject({
  wallet: addressSchema,
  amount: z
    .string()
    .regex(/^-?[1-9][0-9]{0,14}$/, "must be a non-zero whole number of points, negative to take points away")
    .transform((v) => BigInt(v)),
  comment: z.string().trim().min(3).max(500),
  idempotencyKey: idempotencyKeySchema,
});

export const adjustmentSchema = z
  .object({ applied: z.boolean(), wallet: address, available: pointsText, pending: pointsText, lifetime: pointsText })
  .meta({ id: "PointsAdjustment" });

export const offerBodySchema = z
  .strictObject({
    tokenId: tokenIdText,
    price: positivePoints.describe("Points per token"),
    stock: z.number().int().min(1).max(1_000_000),
    walletLimit: z.number().int().min(1).max(1_000_000),
    startsAt: time,
    endsAt: time,
  })
  .refine((o) => o.endsAt > o.startsAt, { message: "must be after startsAt", path: ["endsAt"] });

export const operatorOfferBodySchema = offerBodySchema.safeExtend({ collection: addressSchema });

export const offerSchema = z
  .object({
    id: z.string().uuid(),
    collection: address,
    tokenId: z.string(),
    price: pointsText,
    stock: z.number().int(),
    remaining: z.number().int(),
    walletLimit: z.number().int(),
    startsAt: isoTime,
    endsAt: isoTime,
    createdBy: address,
  })
  .meta({ id: "PointsOffer" });

export const offerListSchema = z
  .object({ items: z.array(offerSchema), nextCursor: z.string().nullable() })
  .meta({ id: "PointsOfferList" });

export const redemptionBodySchema = z.strictObject({
  edition: z.strictObject({ collection: addressSchema, tokenId: tokenIdText }),
  quantity: z.number().int().min(1).max(1000),
  idempotencyKey: idempotencyKeySchema.optional().describe("Or the Idempotency-Key header"),
});

const uintText = z.string().regex(/^(0|[1-9][0-9]*)$/);

export const redemptionSchema = z
  .object({
    id: z.string().uuid(),
    offerId: z.string().uuid(),
    status: z.enum(["issued", "completed", "refunded"]),
    wallet: address,
    collection: address,
    tokenId: uintText,
    quantity: z.number().int(),
    points: pointsText,
    createdAt: isoTime,
    deadline: isoTime,
    chainId: z.number().int(),
    voucher: z
      .object({
        recipient: address,
        edition: uintText,
        quantity: uintText,
        price: uintText,
        id: uintText,
        deadline: uintText.describe("Unix seconds"),
        signerEpoch: uintText,
      })
      .describe("The Collection's MintVoucher: pass it with chainId and signature to mintWithVoucher"),
    signature: z.string().regex(/^0x[0-9a-f]+$/),
    signer: address,
  })
  .meta({ id: "Redemption" });

export const redemptionListSchema = z
  .object({ items: z.array(redemptionSchema), nextCursor: z.string().nullable() })
  .meta({ id: "RedemptionList" });

export const checkInSchema = z
  .object({
    checkedIn: z.boolean().describe("False when the wallet already checked in today (UTC)"),
    day: z.string().describe("The UTC day, YYYY-MM-DD"),
    points: pointsText.describe("Points awarded now"),
    available: pointsText,
  })
  .meta({ id: "CheckIn" });
