/** A wallet's referral page: its code and link, who referred it, and the referrals it made (newest first). */
import type pg from "pg";
import { ensureReferralCode } from "./codes.ts";

export type ReferralRecord = {
  referee: string;
  referrer: string;
  source: "sign_in" | "mint";
  boundAt: Date;
  status: "pending" | "rewarded" | "rejected";
  reason: string | null;
  convertedAt: Date | null;
  conversionTxHash: string | null;
  points: bigint | null;
  settledAt: Date | null;
};

type Row = {
  referee: string;
  referrer: string;
  source: "sign_in" | "mint";
  bound_at: Date;
  status: "pending" | "rewarded" | "rejected";
  reason: string | null;
  converted_at: Date | null;
  conversion_tx_hash: string | null;
  points: string | null;
  settled_at: Date | null;
};

const COLUMNS =
  "referee, referrer, source, bound_at, status, reason, converted_at, conversion_tx_hash, points::text, settled_at";

const record = (r: Row): ReferralRecord => ({
  referee: r.referee,
  referrer: r.referrer,
  source: r.source,
  boundAt: r.bound_at,
  status: r.status,
  reason: r.reason,
  convertedAt: r.converted_at,
  conversionTxHash: r.conversion_tx_hash,
  points: r.points === null ? null : BigInt(r.points),
  settledAt: r.settled_at,
});

/**
 * The wallet's code (made now on first need), its own binding, totals over the referrals it made, and a page of
 * them by (bound_at, referee) descending; `after` is the last row's key.
 */
export async function walletReferrals(
  db: pg.Pool,
  wallet: string,
  page: { limit: number; after?: [string, string] | undefined },
) {
  const key = wallet.toLowerCase();
  const code = await ensureReferralCode(db, key);
  const [own, totals, list] = await Promise.all([
    db.query<Row>(`SELECT ${COLUMNS} FROM referral WHERE referee = $1`, [key]),
    db.query<{ bound: number; converted: number; rewarded: number; rejected: number; points: string }>(
      `SELECT count(*)::int AS bound, count(converted_at)::int AS converted,
              count(*) FILTER (WHERE status = 'rewarded')::int AS rewarded,
              count(*) FILTER (WHERE status = 'rejected')::int AS rejected,
              coalesce(sum(points), 0)::text AS points
       FROM referral WHERE referrer = $1`,
      [key],
    ),
    db.query<Row>(
      `SELECT ${COLUMNS} FROM referral WHERE referrer = $1
         AND ($2::timestamptz IS NULL OR (bound_at, referee) < ($2::timestamptz, $3::text))
       ORDER BY bound_at DESC, referee DESC LIMIT $4`,
      [key, page.after?.[0] ?? null, page.after?.[1] ?? null, page.limit + 1],
    ),
  ]);
  const t = totals.rows[0]!;
  return {
    code,
    referredBy: own.rows[0] ? record(own.rows[0]) : null,
    totals: { ...t, points: BigInt(t.points) },
    items: list.rows.slice(0, page.limit).map(record),
    more: list.rows.length > page.limit,
  };
}
