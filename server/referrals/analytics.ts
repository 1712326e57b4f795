/**
 * Referral analytics per UTC week (Monday first), for operators. For week w:
 * - bindings: referees bound in w (by sign-in time, or the block time of the mint that bound them);
 * - activeReferrers: distinct referrers of those bindings;
 * - conversions: referees whose first sale mint (on the indexed branch) falls in w;
 * - conversionRate: the share of w's bindings that have converted so far (a cohort rate);
 * - kFactor = (bindings / activeReferrers) × conversionRate = converted referees of w's cohort per active referrer:
 *   how many new minting wallets each wallet that referred someone in w brought in (0 when w has no binding);
 * - rewarded / rejected: w's conversions by outcome (the rest are pending);
 * - points: all points earned in w (available, earning reasons, by earning time: the leaderboard's measure), the
 *   part from referrals, and its share;
 * - retention: of the referees who converted in w, those active on-chain again (any transfer to or from them: a
 *   mint, a gift, a sale, a burn) at least 7 and 30 days after their first mint. Only referees whose first mint is at
 *   least that old (by the later of the server's clock and the indexed head's time) are counted, as `eligible`.
 */
import type pg from "pg";
import { weeklyEarnings } from "../loyalty/points.ts";
import { ZERO_ADDRESS } from "./bindings.ts";

const ratio = (a: number | bigint, b: number | bigint) =>
  Number(b) === 0 ? 0 : Math.round((Number(a) / Number(b)) * 10_000) / 10_000;

export async function referralAnalytics(db: pg.Pool, chainId: number, weeks: number) {
  const clock = await db.query<{ as_of: Date; first: Date }>(
    `SELECT greatest(now(), (SELECT ib.timestamp FROM indexer_checkpoint c
                             JOIN indexed_block ib ON ib.chain_id = c.chain_id AND ib.number = c.block_number
                             WHERE c.chain_id = $1)) AS as_of,
            date_trunc('week', greatest(now(), (SELECT ib.timestamp FROM indexer_checkpoint c
                             JOIN indexed_block ib ON ib.chain_id = c.chain_id AND ib.number = c.block_number
                             WHERE c.chain_id = $1)), 'UTC') - ($2::int - 1) * interval '1 week' AS first`,
    [chainId, weeks],
  );
  const { as_of: asOf, first } = clock.rows[0]!;
  const { rows } = await db.query<{
    week: Date;
    bindings: number;
    active_referrers: number;
    cohort_converted: number;
    conversions: number;
    rewarded: number;
    rejected: number;
    eligible7: number;
    retained7: number;
    eligible30: number;
    retained30: number;
  }>(
    `WITH w AS (SELECT s AS start, s + interval '1 week' AS stop
                FROM generate_series($1::timestamptz, $1::timestamptz + ($2::int - 1) * interval '1 week', interval '1 week') s),
     bound AS (
       SELECT w.start, count(r.referee)::int AS bindings, count(DISTINCT r.referrer)::int AS active_referrers,
              count(r.converted_at)::int AS cohort_converted
       FROM w LEFT JOIN referral r ON r.bound_at >= w.start AND r.bound_at < w.stop GROUP BY w.start
     ),
     converted AS (
       SELECT w.start, r.referee, r.status, r.converted_at FROM w
       JOIN referral r ON r.converted_at >= w.start AND r.converted_at < w.stop
     ),
     retention AS (
       SELECT c.*, d.days, c.converted_at + d.days * interval '1 day' <= $3 AS eligible,
              EXISTS (SELECT 1 FROM chain_event e JOIN event_block b ON b.chain_id = e.chain_id AND b.number = e.block_number
                      WHERE e.chain_id = $4 AND e.name IN ('TransferSingle', 'TransferBatch')
                        AND ((e.to_address = c.referee AND e.to_address <> '${ZERO_ADDRESS}')
                          OR (e.from_address = c.referee AND e.from_address <> '${ZERO_ADDRESS}'))
                        AND b.time >= c.converted_at + d.days * interval '1 day') AS active
       FROM converted c CROSS JOIN (VALUES (7), (30)) d(days)
     )
     SELECT b.start AS week, b.bindings, b.active_referrers, b.cohort_converted,
            (SELECT count(*) FROM converted c WHERE c.start = b.start)::int AS conversions,
            (SELECT count(*) FROM converted c WHERE c.start = b.start AND c.status = 'rewarded')::int AS rewarded,
            (SELECT count(*) FROM converted c WHERE c.start = b.start AND c.status = 'rejected')::int AS rejected,
            (SELECT count(*) FROM retention x WHERE x.start = b.start AND x.days = 7 AND x.eligible)::int AS eligible7,
            (SELECT count(*) FROM retention x WHERE x.start = b.start AND x.days = 7 AND x.eligible AND x.active)::int AS retained7,
            (SELECT count(*) FROM retention x WHERE x.start = b.start AND x.days = 30 AND x.eligible)::int AS eligible30,
            (SELECT count(*) FROM retention x WHERE x.start = b.start AND x.days = 30 AND x.eligible AND x.active)::int AS retained30
     FROM bound b ORDER BY b.start DESC`,
    [first, weeks, asOf, chainId],
  );
  const earnings = new Map((await weeklyEarnings(db, first, weeks)).map((e) => [e.week.getTime(), e]));
  return {
    asOf,
    weeks: rows.map((r) => {
      const conversionRate = ratio(r.cohort_converted, r.bindings);
      const e = earnings.get(r.week.getTime()) ?? { total: 0n, referral: 0n };
      return {
        weekStart: r.week,
        bindings: r.bindings,
        activeReferrers: r.active_referrers,
        conversions: r.conversions,
        conversionRate,
        kFactor: ratio(r.cohort_converted, r.active_referrers),
        rewarded: r.rewarded,
        rejected: r.rejected,
        points: { total: e.total, referral: e.referral, referralShare: ratio(e.referral, e.total) },
        retention: {
          d7: { eligible: r.eligible7, retained: r.retained7, rate: ratio(r.retained7, r.eligible7) },
          d30: { eligible: r.eligible30, retained: r.retained30, rate: ratio(r.retained30, r.eligible30) },
        },
      };
    }),
  };
}
