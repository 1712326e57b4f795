/**
 * The caps on what a wallet earns from rules: per UTC day and per season, counting points awarded (pending or not,
 * net of reversals; an operator's adjustment is not capped). Call under the wallet's balance lock, so the read and
 * the award that follows are one step.
 */
import type pg from "pg";
import type { PointsReason } from "./ledger.ts";
import type { PointsRules } from "./rules.ts";

/**
 * What is left of `amount` under the caps: points earned (awarded, pending or not, net of reversals) by the wallet
 * on the UTC day of `at`, and in the season containing `at`.
 */
export async function withinCaps(
  tx: pg.PoolClient,
  rules: PointsRules,
  wallet: string,
  amount: bigint,
  at: Date,
): Promise<bigint> {
  const { perWalletPerDay, perWalletPerSeason } = rules.caps;
  if (perWalletPerDay === undefined && perWalletPerSeason === undefined) return amount;
  const { rows } = await tx.query<{ day: string; season: string; in_season: boolean }>(
    `WITH earned AS (
       SELECT amount, earned_at FROM points_entry
       WHERE wallet = $1 AND NOT maturation AND ((amount > 0 AND reason = ANY($3::text[])) OR reason = 'reversal')
     ), season AS (
       SELECT starts_at, ends_at FROM points_season WHERE starts_at <= $2 AND ends_at > $2 ORDER BY starts_at DESC LIMIT 1
     ), day AS (SELECT date_trunc('day', $2::timestamptz, 'UTC') AS start)
     SELECT (SELECT coalesce(sum(e.amount), 0) FROM earned e, day d
             WHERE e.earned_at >= d.start AND e.earned_at < d.start + interval '1 day')::text AS day,
            (SELECT coalesce(sum(e.amount), 0) FROM earned e, season s
             WHERE e.earned_at >= s.starts_at AND e.earned_at < s.ends_at)::text AS season,
            EXISTS (SELECT 1 FROM season) AS in_season`,
    [wallet, at, CAPPED_REASONS],
  );
  const row = rows[0]!;
  let left = amount;
  if (perWalletPerDay !== undefined) left = min(left, BigInt(perWalletPerDay) - BigInt(row.day));
  if (perWalletPerSeason !== undefined && row.in_season)
    left = min(left, BigInt(perWalletPerSeason) - BigInt(row.season));
  return left > 0n ? left : 0n;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** What the caps count: earnings from rules (an operator's adjustment is not capped). */
const CAPPED_REASONS: PointsReason[] = ["mint", "holding_milestone", "task", "check_in", "referral"];
