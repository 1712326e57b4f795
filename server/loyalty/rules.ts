/**
 * Points rules: what earns points and how many (mints, holding milestones, on-chain tasks, a daily check-in), the
 * caps, optional expiry, and the member tiers. Operators send them as JSON,
 * validated here (every error a 400 naming the field); each change is stored as a new version, and every award
 * records the version it was made under, so a change never rewrites past awards. An award uses the version current
 * when the worker derives it.
 */
import type pg from "pg";
import { z } from "zod";
import { addressSchema } from "../http/schemas.ts";

const points = (max: number) => z.number().int("must be a whole number of points").min(0).max(max);

const mintRuleSchema = z
  .strictObject({
    collection: addressSchema.optional().describe("Only mints from this collection (omit: any collection)"),
    tokenId: z
      .string()
      .regex(/^[1-9][0-9]{0,77}$/, "must be a token id in decimal")
      .optional()
      .describe("Only mints of this edition (needs `collection`)"),
    pointsPerUnit: points(1_000_000).describe("Points per token minted"),
  })
  .refine((r) => r.tokenId === undefined || r.collection !== undefined, {
    message: "an edition rule needs its collection",
    path: ["collection"],
  });

const ruleId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "must be 1-40 lower-case letters, digits and dashes")
  .describe("Stable id: a wallet earns each milestone or task once, across rule versions");

const holdingRuleSchema = z
  .strictObject({
    id: ruleId,
    collection: addressSchema,
    tokenId: z
      .string()
      .regex(/^[1-9][0-9]{0,77}$/, "must be a token id in decimal")
      .optional()
      .describe("One edition (omit: any edition of the collection)"),
    days: z.number().int().min(1).max(3650).describe("Held continuously this many days (by the chain's block time)"),
    points: points(1_000_000),
  })
  .describe("A holding milestone: transferring out and back restarts the clock (the indexer's held-since)");

const taskSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    id: ruleId,
    kind: z.literal("mint_from"),
    collection: addressSchema,
    points: points(1_000_000),
  }),
  z.strictObject({
    id: ruleId,
    kind: z.literal("hold"),
    collection: addressSchema,
    tokenId: z.string().regex(/^[1-9][0-9]{0,77}$/, "must be a token id in decimal"),
    points: points(1_000_000),
  }),
  z.strictObject({
    id: ruleId,
    kind: z.literal("complete_set"),
    collection: addressSchema,
    tokenIds: z
      .array(z.string().regex(/^[1-9][0-9]{0,77}$/, "must be a token id in decimal"))
      .min(2)
      .max(100)
      .optional()
      .describe("The set (omit: every edition of the collection)"),
    points: points(1_000_000),
  }),
]);

const tierSchema = z.strictObject({
  name: z.string().trim().min(1).max(40),
  minLifetime: points(1e15).describe("Lifetime points from which a wallet is in this tier"),
});

/** Referral rewards (server/referrals): what a referrer earns per converted referee, its caps and the ceiling. */
export const referralRulesSchema = z
  .strictObject({
    referrerPoints: points(1_000_000)
      .default(0)
      .describe("Points for the referrer when a referee's first mint is final"),
    perReferrerPerDay: z
      .number()
      .int("must be a whole number of referrals")
      .min(0)
      .max(1_000_000)
      .optional()
      .describe("Most referrals one referrer is rewarded for per UTC day (of the referee's first mint)"),
    perReferrerPerSeason: z
      .number()
      .int("must be a whole number of referrals")
      .min(0)
      .max(1_000_000)
      .optional()
      .describe("Most referrals one referrer is rewarded for per season"),
    seasonShareCeilingBps: z
      .number()
      .int("must be a whole number of basis points")
      .min(0)
      .max(10_000)
      .default(3000)
      .describe("Highest share (basis points) of a referrer's season points that may come from referrals"),
  })
  .meta({ id: "ReferralRules" });

export const pointsRulesSchema = z
  .strictObject({
    mint: z
      .array(mintRuleSchema)
      .max(500)
      .default([])
      .describe(
        "Points per token minted through a sale phase (not vouchers, not airdrops); the most specific rule wins: edition, then collection, then any",
      ),
    holding: z.array(holdingRuleSchema).max(100).default([]),
    tasks: z
      .array(taskSchema)
      .max(100)
      .default([])
      .describe("On-chain tasks, checked from indexed facts: mint from a collection, hold an edition, complete a set"),
    checkIn: z
      .strictObject({ points: points(1_000_000) })
      .optional()
      .describe("A daily check-in (POST /v1/me/check-in), once per UTC day"),
    expiryDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .optional()
      .describe("Points expire this many days after they were earned, oldest spent first (omit: never)"),
    caps: z
      .strictObject({
        perWalletPerDay: points(1e12).optional().describe("Most points one wallet can earn per UTC day"),
        perWalletPerSeason: points(1e12).optional().describe("Most points one wallet can earn per season"),
      })
      .default({}),
    referral: referralRulesSchema
      .optional()
      .describe("Referral rewards; absent: referrals are bound and converted but earn nothing"),
    tiers: z
      .array(tierSchema)
      .max(20)
      .default([])
      .refine((tiers) => tiers.every((t, i) => i === 0 || t.minLifetime > tiers[i - 1]!.minLifetime), {
        message: "tiers must be listed by increasing minLifetime",
      })
      .refine((tiers) => new Set(tiers.map((t) => t.name.toLowerCase())).size === tiers.length, {
        message: "tier names must differ",
      }),
  })
  .superRefine((rules, ctx) => {
    const ids = new Set<string>();
    for (const [list, items] of [
      ["holding", rules.holding],
      ["tasks", rules.tasks],
    ] as const)
      items.forEach((r, i) => {
        if (ids.has(r.id)) ctx.addIssue({ code: "custom", path: [list, i, "id"], message: "ids must differ" });
        ids.add(r.id);
      });
    const seen = new Set<string>();
    rules.mint.forEach((r, i) => {
      const scope = `${r.collection?.toLowerCase() ?? "*"}:${r.tokenId ?? "*"}`;
      if (seen.has(scope))
        ctx.addIssue({ code: "custom", path: ["mint", i], message: "a rule for this scope is already listed" });
      seen.add(scope);
    });
  })
  .meta({ id: "PointsRules" });

export type PointsRules = z.infer<typeof pointsRulesSchema>;
export type HoldingRule = z.infer<typeof holdingRuleSchema>;
export type TaskRule = z.infer<typeof taskSchema>;

export type RulesVersion = {
  version: number;
  rules: PointsRules;
  createdBy: string;
  comment: string | null;
  createdAt: Date;
};

/** No version yet: nothing earns points. */
export const NO_RULES: PointsRules = { mint: [], holding: [], tasks: [], caps: {}, tiers: [] };

/** Stores `rules` as the next version (under a lock, so two operators saving at once get two versions). */
export async function saveRulesVersion(
  tx: pg.PoolClient,
  rules: PointsRules,
  by: string,
  comment: string | null,
): Promise<RulesVersion> {
  await tx.query("LOCK TABLE points_rules IN EXCLUSIVE MODE");
  const { rows } = await tx.query<{ version: number; created_at: Date }>(
    `INSERT INTO points_rules (version, rules, created_by, comment)
     SELECT coalesce(max(version), 0) + 1, $1, $2, $3 FROM points_rules RETURNING version, created_at`,
    [JSON.stringify(rules), by, comment],
  );
  return { version: rows[0]!.version, rules, createdBy: by, comment, createdAt: rows[0]!.created_at };
}

/** The current version, or null when none was ever saved. */
export async function currentRules(db: pg.Pool | pg.PoolClient): Promise<RulesVersion | null> {
  const { rows } = await db.query<{
    version: number;
    rules: unknown;
    created_by: string;
    comment: string | null;
    created_at: Date;
  }>("SELECT version, rules, created_by, comment, created_at FROM points_rules ORDER BY version DESC LIMIT 1");
  const row = rows[0];
  if (!row) return null;
  return {
    version: row.version,
    // Stored only after validation; parsed again so that defaults added later apply to old versions.
    rules: pointsRulesSchema.parse(row.rules),
    createdBy: row.created_by,
    comment: row.comment,
    createdAt: row.created_at,
  };
}

/** Points per token for a mint of `tokenId` of `collection` (lower-case): the most specific rule, else 0. */
export function mintPointsPerUnit(rules: PointsRules, collection: string, tokenId: string): number {
  let best: { rank: number; points: number } = { rank: -1, points: 0 };
  for (const r of rules.mint) {
    const c = r.collection?.toLowerCase();
    if (c !== undefined && c !== collection) continue;
    if (r.tokenId !== undefined && r.tokenId !== tokenId) continue;
    const rank = r.tokenId !== undefined ? 2 : c !== undefined ? 1 : 0;
    if (rank > best.rank) best = { rank, points: r.pointsPerUnit };
  }
  return best.points;
}

export type Tier = { name: string; minLifetime: number };

/** The tier `lifetime` points reach, and the next one (null past the last). */
export function tierOf(rules: PointsRules, lifetime: bigint): { current: Tier | null; next: Tier | null } {
  let current: Tier | null = null;
  for (const t of rules.tiers) {
    if (lifetime >= BigInt(t.minLifetime)) current = t;
    else return { current, next: t };
  }
  return { current, next: null };
}
