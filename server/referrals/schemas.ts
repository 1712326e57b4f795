/** The referral routes' inputs and answers (zod; the OpenAPI document is derived from them). */
import { z } from "zod";
import { cursorSchema, limitSchema, queryValue } from "../http/pagination.ts";
import { CODE_PATTERN } from "./codes.ts";

const pointsText = z.string().regex(/^(0|[1-9][0-9]*)$/);
const isoTime = z.string().describe("ISO 8601 UTC");
const address = z.string().describe("EIP-55 checksummed address");
const share = z.number().min(0).describe("A ratio, rounded to 4 decimals");

/** A referral code as typed: 8 characters without 0, O, 1, I or L, either case. */
export const referralCodeSchema = z
  .string()
  .regex(CODE_PATTERN, "must be 8 characters from 23456789ABCDEFGHJKMNPQRSTUVWXYZ")
  .transform((v) => v.toUpperCase());

export const referralSchema = z
  .object({
    referee: address,
    referrer: address,
    source: z
      .enum(["sign_in", "mint"])
      .describe("Bound by a code at the first sign-in, or by the first mint's referrer"),
    boundAt: isoTime,
    status: z
      .enum(["pending", "rewarded", "rejected"])
      .describe("pending until the referee's first sale mint is final; then rewarded or rejected"),
    reason: z
      .enum(["no_reward", "daily_cap", "season_cap", "wallet_cap", "season_ceiling"])
      .nullable()
      .describe("Why a rejected referral earned nothing"),
    reasonDetail: z.string().nullable(),
    convertedAt: isoTime.nullable().describe("The block time of the referee's first sale mint"),
    conversionTxHash: z.string().nullable(),
    points: pointsText.nullable().describe("What the referrer was awarded"),
    settledAt: isoTime.nullable(),
  })
  .meta({ id: "Referral" });

export const myReferralsQuerySchema = z.strictObject({
  limit: limitSchema.optional().transform((v) => v ?? 50),
  cursor: cursorSchema.optional(),
});

export const myReferralsSchema = z
  .object({
    wallet: address,
    code: z.string().describe("This wallet's referral code"),
    link: z.string().describe("PUBLIC_URL/r/CODE"),
    referredBy: referralSchema.nullable().describe("This wallet's own binding, if any"),
    totals: z.object({
      bound: z.number().int(),
      converted: z.number().int(),
      rewarded: z.number().int(),
      rejected: z.number().int(),
      points: pointsText,
    }),
    items: z.array(referralSchema).describe("The wallets this one referred, newest binding first"),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: "MyReferrals" });

export const analyticsQuerySchema = z.strictObject({
  weeks: queryValue()
    .regex(/^[0-9]{1,2}$/, "must be a whole number of weeks from 1 to 52")
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(1, "must be a whole number of weeks from 1 to 52")
        .max(52, "must be a whole number of weeks from 1 to 52"),
    )
    .optional()
    .transform((v) => v ?? 8)
    .describe("How many UTC weeks, ending with the current one (default 8)"),
});

const retentionSchema = z.object({
  eligible: z.number().int().describe("Referees whose first mint is at least this many days old"),
  retained: z.number().int().describe("Of them, those with on-chain activity at least this many days after it"),
  rate: share,
});

export const analyticsSchema = z
  .object({
    asOf: isoTime,
    kFactorFormula: z.string(),
    weeks: z.array(
      z.object({
        weekStart: isoTime.describe("Monday 00:00 UTC"),
        bindings: z.number().int(),
        activeReferrers: z.number().int().describe("Distinct referrers of the week's bindings"),
        conversions: z.number().int().describe("Referees whose first sale mint fell in the week"),
        conversionRate: share.describe("Share of the week's bindings converted so far"),
        kFactor: share,
        rewarded: z.number().int(),
        rejected: z.number().int(),
        points: z.object({ total: pointsText, referral: pointsText, referralShare: share }),
        retention: z.object({ d7: retentionSchema, d30: retentionSchema }),
      }),
    ),
  })
  .meta({ id: "ReferralAnalytics" });
