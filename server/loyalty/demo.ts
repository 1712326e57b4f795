/**
 * `npm run dev`'s loyalty programme: rules (10 points per token minted, a daily cap, three tiers) and a 30-day season
 * before the demo mints are indexed, so the demo wallets hold points from the start; then, once the demo editions
 * are indexed, edition #1 offered for 20 points, so a demo wallet can redeem straight away.
 */
import type pg from "pg";
import type { Address } from "viem";
import { inTransaction } from "../database/transaction.ts";
import { createOffer, listOpenOffers } from "./redemptions.ts";
import { currentRules, pointsRulesSchema, saveRulesVersion } from "./rules.ts";
import { createSeason, listSeasons } from "./points.ts";

const DAY = 24 * 3600 * 1000;

export const DEMO_RULES = pointsRulesSchema.parse({
  mint: [{ pointsPerUnit: 10 }],
  caps: { perWalletPerDay: 10_000 },
  tiers: [
    { name: "Bronze", minLifetime: 10 },
    { name: "Silver", minLifetime: 100 },
    { name: "Gold", minLifetime: 500 },
  ],
});

/** Rules and a season, unless the database already has them (a dev data folder reused). */
export async function seedDemoRules(db: pg.Pool, operator: Address) {
  if (!(await currentRules(db)))
    await inTransaction(db, (tx) =>
      saveRulesVersion(tx, DEMO_RULES, operator.toLowerCase(), "npm run dev's demo rules"),
    );
  const now = Date.now();
  const seasons = await listSeasons(db);
  if (!seasons.some((s) => s.startsAt.getTime() <= now && s.endsAt.getTime() > now))
    await createSeason(
      db,
      { name: "Demo season", startsAt: new Date(now - DAY), endsAt: new Date(now + 30 * DAY) },
      operator,
    );
}

/**
 * Edition #1 of the demo collection for 20 points (call once the edition is indexed); the open one kept from an
 * earlier run on the same data folder, if any (every dev chain deploys the collection at the same address).
 */
export async function seedDemoOffer(db: pg.Pool, chainId: number, collection: Address, operator: Address) {
  const { offers } = await listOpenOffers(db, chainId, 500);
  const open = offers.find((o) => o.collection.toLowerCase() === collection.toLowerCase() && o.tokenId === 1n);
  if (open) return open;
  const now = Date.now();
  return createOffer(
    db,
    chainId,
    {
      collection,
      tokenId: 1n,
      price: 20n,
      stock: 100,
      walletLimit: 2,
      startsAt: new Date(now - 60_000),
      endsAt: new Date(now + 30 * DAY),
    },
    operator,
  );
}
