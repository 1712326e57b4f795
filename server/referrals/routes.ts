/** Referral routes: a wallet's referrals, the short link, and operators' weekly analytics. */
import type pg from "pg";
import { getAddress } from "viem";
import { z } from "zod";
import { decodeCursor, encodeCursor } from "../http/pagination.ts";
import { HttpProblem, problemTitle } from "../http/problem.ts";
import { defineRoute, type Reply, type RouteDeclaration } from "../http/route.ts";
import { referralAnalytics } from "./analytics.ts";
import { walletOfCode } from "./codes.ts";
import { REJECTION_REASONS, type RejectionReason } from "./conversions.ts";
import { walletReferrals, type ReferralRecord } from "./overview.ts";
import {
  analyticsQuerySchema,
  analyticsSchema,
  myReferralsQuerySchema,
  myReferralsSchema,
  referralCodeSchema,
} from "./schemas.ts";

export type ReferralDeps = { db: pg.Pool; chainId: number; publicUrl: string };

export const K_FACTOR_FORMULA =
  "kFactor = (bindings / activeReferrers) × conversionRate = converted referees of the week's bindings / distinct referrers of them";

const iso = (d: Date | null) => d?.toISOString() ?? null;

const referralAnswer = (r: ReferralRecord) => ({
  referee: getAddress(r.referee),
  referrer: getAddress(r.referrer),
  source: r.source,
  boundAt: r.boundAt.toISOString(),
  status: r.status,
  reason: r.reason as RejectionReason | null,
  reasonDetail: r.reason === null ? null : (REJECTION_REASONS[r.reason as RejectionReason] ?? r.reason),
  convertedAt: iso(r.convertedAt),
  conversionTxHash: r.conversionTxHash,
  points: r.points?.toString() ?? null,
  settledAt: iso(r.settledAt),
});

const listCursor = z.tuple([z.iso.datetime(), z.string().regex(/^0x[0-9a-f]{40}$/)]);

export function referralRoutes(deps: ReferralDeps): RouteDeclaration[] {
  const base = deps.publicUrl.replace(/\/+$/, "");
  return [
    defineRoute({
      method: "get",
      path: "/v1/me/referrals",
      summary: "The signed-in wallet's referral code and link, who referred it, and the wallets it referred",
      description:
        "The code is made on the first call. Referrals are listed newest binding first, by (boundAt, referee) descending.",
      tags: ["referrals"],
      role: "holder",
      query: myReferralsQuerySchema,
      responses: { 200: { description: "Code, link and a page of referrals", schema: myReferralsSchema } },
      handler: async ({ query, caller }) => {
        const after = decodeCursor(query.cursor, listCursor);
        const mine = await walletReferrals(deps.db, caller!.address, { limit: query.limit, after });
        const last = mine.items.at(-1);
        return {
          headers: { "cache-control": "private, no-store" },
          body: {
            wallet: getAddress(caller!.address),
            code: mine.code,
            link: `${base}/r/${mine.code}`,
            referredBy: mine.referredBy ? referralAnswer(mine.referredBy) : null,
            totals: { ...mine.totals, points: mine.totals.points.toString() },
            items: mine.items.map(referralAnswer),
            nextCursor: mine.more && last ? encodeCursor([last.boundAt.toISOString(), last.referee]) : null,
          },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/v1/referrals/analytics",
      summary:
        "Referral analytics per UTC week (operators): bindings, conversions, conversion rate, K-factor, points, retention",
      description: `Newest week first. ${K_FACTOR_FORMULA}. Every figure is defined in docs/loyalty.md (Referrals).`,
      tags: ["referrals"],
      role: "operator",
      query: analyticsQuerySchema,
      responses: { 200: { description: "One row per week", schema: analyticsSchema } },
      handler: async ({ query }) => {
        const a = await referralAnalytics(deps.db, deps.chainId, query.weeks);
        return {
          body: {
            asOf: a.asOf.toISOString(),
            kFactorFormula: K_FACTOR_FORMULA,
            weeks: a.weeks.map((w) => ({
              ...w,
              weekStart: w.weekStart.toISOString(),
              points: {
                total: w.points.total.toString(),
                referral: w.points.referral.toString(),
                referralShare: w.points.referralShare,
              },
            })),
          },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/r/{code}",
      summary: "A referral link: redirects (302) to the platform's front page with the code kept as `?ref=CODE`",
      description:
        "The front end passes the code on as `referralCode` to POST /v1/auth/verify at the wallet's first sign-in. A client that asks for JSON only (`Accept: application/json`) gets the code and the redirect's target instead of the redirect.",
      tags: ["referrals"],
      role: "public",
      params: z.object({ code: referralCodeSchema }),
      responses: {
        302: { description: "To PUBLIC_URL/?ref=CODE" },
        200: {
          description: "For `Accept: application/json`: the code and where the link leads",
          schema: z.object({ code: z.string(), location: z.string() }).meta({ id: "ReferralLink" }),
        },
      },
      errors: [404],
      handler: async ({ params, req }): Promise<Reply> => {
        if ((await walletOfCode(deps.db, params.code)) === null)
          throw new HttpProblem(404, problemTitle(404), "No wallet has this referral code.", [
            { path: "path.code", message: "unknown referral code" },
          ]);
        const location = `${base}/?ref=${params.code}`;
        if (req.accepts(["text/html", "application/json"]) === "application/json")
          return { body: { code: params.code, location }, headers: { "cache-control": "no-store" } };
        return { status: 302, headers: { location, "cache-control": "no-store" } };
      },
    }),
  ];
}
