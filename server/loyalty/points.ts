/**
 * Reading points (a wallet's balance, tier and history; season leaderboards) and the operator's tools (seasons,
 * adjustments). Writes go through the ledger (ledger.ts) like every other movement of points.
 */
import type pg from "pg";
import { inTransaction } from "../database/transaction.ts";
import { getAddress, type Address } from "viem";
import { HttpProblem, problemTitle } from "../http/problem.ts";
import { appendEntries, EARNING_REASONS, lockBalance, readBalance, type PointsReason } from "./ledger.ts";
import { withinCaps } from "./caps.ts";
import { currentRules, NO_RULES, tierOf } from "./rules.ts";

export type PointsHistoryItem = {
  id: bigint;
  bucket: "pending" | "available";
  amount: bigint;
  reason: PointsReason;
  reference: string;
  ruleVersion: number | null;
  earnedAt: Date;
  createdAt: Date;
};

/** A wallet's balance, tier (with the points to the next) and a page of its history, newest first. */
export async function walletPoints(db: pg.Pool, wallet: string, page: { limit: number; before?: bigint }) {
  const balance = await readBalance(db, wallet);
  const rules = (await currentRules(db))?.rules ?? NO_RULES;
  const tier = tierOf(rules, balance.lifetime);
  const { rows } = await db.query<{
    id: string;
    bucket: "pending" | "available";
    amount: string;
    reason: PointsReason;
    reference: string;
    rule_version: number | null;
    earned_at: Date;
    created_at: Date;
  }>(
    `SELECT id::text, bucket, amount::text, reason, reference, rule_version, earned_at, created_at FROM points_entry
     WHERE wallet = $1 AND ($2::bigint IS NULL OR id < $2::bigint) ORDER BY id DESC LIMIT $3`,
    [wallet.toLowerCase(), page.before?.toString() ?? null, page.limit + 1],
  );
  const items: PointsHistoryItem[] = rows.slice(0, page.limit).map((r) => ({
    id: BigInt(r.id),
    bucket: r.bucket,
    amount: BigInt(r.amount),
    reason: r.reason,
    reference: r.reference,
    ruleVersion: r.rule_version,
    earnedAt: r.earned_at,
    createdAt: r.created_at,
  }));
  return {
    balance,
    tier: tier.current,
    nextTier: tier.next ? { ...tier.next, pointsToGo: BigInt(tier.next.minLifetime) - balance.lifetime } : null,
    history: items,
    more: rows.length > page.limit,
  };
}

export type Season = { id: number; name: string; startsAt: Date; endsAt: Date };

export async function createSeason(
  db: pg.Pool,
  input: { name: string; startsAt: Date; endsAt: Date },
  by: string,
): Promise<Season> {
  const { rows } = await db.query<{ id: number; name: string; starts_at: Date; ends_at: Date }>(
    `INSERT INTO points_season (name, starts_at, ends_at, created_by) VALUES ($1, $2, $3, $4)
     RETURNING id, name, starts_at, ends_at`,
    [input.name, input.startsAt, input.endsAt, by.toLowerCase()],
  );
  const r = rows[0]!;
  return { id: r.id, name: r.name, startsAt: r.starts_at, endsAt: r.ends_at };
}

export async function listSeasons(db: pg.Pool): Promise<Season[]> {
  const { rows } = await db.query<{ id: number; name: string; starts_at: Date; ends_at: Date }>(
    "SELECT id, name, starts_at, ends_at FROM points_season ORDER BY starts_at DESC, id DESC LIMIT 500",
  );
  return rows.map((r) => ({ id: r.id, name: r.name, startsAt: r.starts_at, endsAt: r.ends_at }));
}

/**
 * A season's leaderboard: wallets by points earned in the season (available points from earning reasons whose
 * earning time falls in the season, less reversals of them), most first; ties go to the wallet that got there first (its last counted
 * entry is older; entry ids are unique, so no two wallets tie on both). The cursor is the last row's (points, that
 * entry's id).
 */
export async function leaderboard(db: pg.Pool, seasonId: number, page: { limit: number; after?: [string, string] }) {
  const season = await db.query<{ id: number; name: string; starts_at: Date; ends_at: Date }>(
    "SELECT id, name, starts_at, ends_at FROM points_season WHERE id = $1",
    [seasonId],
  );
  const s = season.rows[0];
  if (!s)
    throw new HttpProblem(404, problemTitle(404), `no season ${seasonId}`, [
      { path: "query.season", message: "no such season" },
    ]);
  const { rows } = await db.query<{ rank: string; wallet: string; points: string; reached: string }>(
    `WITH totals AS (
       SELECT wallet, sum(amount) AS points, max(id) AS reached FROM points_entry
       WHERE bucket = 'available' AND ((amount > 0 AND reason = ANY($3::text[])) OR reason = 'reversal')
         AND earned_at >= $1 AND earned_at < $2
       GROUP BY wallet HAVING sum(amount) > 0
     ), ranked AS (
       SELECT wallet, points, reached, row_number() OVER (ORDER BY points DESC, reached) AS rank FROM totals
     )
     SELECT rank::text, wallet, points::text, reached::text FROM ranked
     WHERE $4::numeric IS NULL OR (points, -reached) < ($4::numeric, -$5::bigint)
     ORDER BY points DESC, reached LIMIT $6`,
    [s.starts_at, s.ends_at, EARNING_REASONS, page.after?.[0] ?? null, page.after?.[1] ?? null, page.limit + 1],
  );
  return {
    season: { id: s.id, name: s.name, startsAt: s.starts_at, endsAt: s.ends_at },
    rows: rows.slice(0, page.limit),
    more: rows.length > page.limit,
  };
}

/**
 * An operator's adjustment (a correction, a goodwill grant, a clawback): straight to available points, with the
 * operator and a comment on record. A clawback beyond the available balance is refused (422).
 */
export async function adjustPoints(
  db: pg.Pool,
  input: { wallet: Address; amount: bigint; comment: string; idempotencyKey: string },
  operator: string,
) {
  const wallet = input.wallet.toLowerCase();
  const idempotencyKey = `adjust:${operator.toLowerCase()}:${input.idempotencyKey}`;
  const applied = await inTransaction(db, async (tx) => {
    await lockBalance(tx, wallet);
    const appended = await appendEntries(tx, [
      {
        wallet,
        bucket: "available",
        amount: input.amount,
        reason: "adjustment",
        reference: `adjustment by ${getAddress(operator)}`,
        idempotencyKey,
        earnedAt: new Date(),
        operator: operator.toLowerCase(),
        comment: input.comment,
      },
    ]);
    if (appended.size === 1) return true;
    // A replay: the same key must carry the same adjustment.
    const { rows } = await tx.query<{ wallet: string; amount: string; comment: string }>(
      "SELECT wallet, amount::text, comment FROM points_entry WHERE idempotency_key = $1",
      [idempotencyKey],
    );
    const first = rows[0]!;
    if (first.wallet !== wallet || first.amount !== input.amount.toString() || first.comment !== input.comment)
      throw new HttpProblem(409, problemTitle(409), "this idempotency key was used for another adjustment", [
        { path: "body.idempotencyKey", message: "used for another adjustment" },
      ]);
    return false;
  });
  return { applied, balance: await readBalance(db, wallet) };
}

/**
 * The daily check-in: the rules' `checkIn.points` once per UTC day (cut to what the caps leave), straight to
 * available points. The day is the idempotency key: a second check-in the same day changes nothing and says so.
 */
export async function checkIn(db: pg.Pool, wallet: string, now = new Date()) {
  const rules = await currentRules(db);
  const reward = rules?.rules.checkIn;
  if (!rules || !reward)
    throw new HttpProblem(422, problemTitle(422), "No daily check-in is offered now.", [
      { path: "body", message: "no daily check-in in the points rules" },
    ]);
  const day = now.toISOString().slice(0, 10);
  const key = wallet.toLowerCase();
  const added = await inTransaction(db, async (tx) => {
    await lockBalance(tx, key);
    const amount = await withinCaps(tx, rules.rules, key, BigInt(reward.points), now);
    if (amount <= 0n) return 0n;
    const keys = await appendEntries(tx, [
      {
        wallet: key,
        bucket: "available",
        amount,
        reason: "check_in",
        reference: `daily check-in ${day}`,
        ruleVersion: rules.version,
        idempotencyKey: `check-in:${key}:${day}`,
        earnedAt: now,
      },
    ]);
    return keys.size === 1 ? amount : 0n;
  });
  return { checkedIn: added > 0n, day, points: added, balance: await readBalance(db, key) };
}

/**
 * What a wallet earned in the season containing `at`, by the leaderboard's measure (available points from earning
 * reasons, by earning time): all of it, and the part from referrals. `inSeason` is false when no season contains `at`.
 */
export async function seasonEarnings(db: pg.Pool | pg.PoolClient, wallet: string, at: Date) {
  const { rows } = await db.query<{ in_season: boolean; total: string; referral: string }>(
    `WITH season AS (
       SELECT starts_at, ends_at FROM points_season WHERE starts_at <= $2 AND ends_at > $2 ORDER BY starts_at DESC LIMIT 1
     ), earned AS (
       SELECT e.amount, e.reason FROM points_entry e, season s
       WHERE e.wallet = $1 AND e.bucket = 'available' AND e.amount > 0 AND e.reason = ANY($3::text[])
         AND e.earned_at >= s.starts_at AND e.earned_at < s.ends_at
     )
     SELECT EXISTS (SELECT 1 FROM season) AS in_season, (SELECT coalesce(sum(amount), 0) FROM earned)::text AS total,
            (SELECT coalesce(sum(amount) FILTER (WHERE reason = 'referral'), 0) FROM earned)::text AS referral`,
    [wallet.toLowerCase(), at, EARNING_REASONS],
  );
  const r = rows[0]!;
  return { inSeason: r.in_season, total: BigInt(r.total), referral: BigInt(r.referral) };
}

/**
 * Points earned platform-wide per UTC week (Monday first) from `from` for `weeks` weeks, by the leaderboard's measure:
 * all of them, and the part from referrals. One row per week, oldest first.
 */
export async function weeklyEarnings(db: pg.Pool, from: Date, weeks: number) {
  const { rows } = await db.query<{ week: Date; total: string; referral: string }>(
    `WITH w AS (SELECT s AS start, s + interval '1 week' AS stop
                FROM generate_series($1::timestamptz, $1::timestamptz + ($2::int - 1) * interval '1 week', interval '1 week') s)
     SELECT w.start AS week, coalesce(sum(e.amount), 0)::text AS total,
            coalesce(sum(e.amount) FILTER (WHERE e.reason = 'referral'), 0)::text AS referral
     FROM w LEFT JOIN points_entry e ON e.bucket = 'available' AND e.amount > 0 AND e.reason = ANY($3::text[])
                                    AND e.earned_at >= w.start AND e.earned_at < w.stop
     GROUP BY w.start ORDER BY w.start`,
    [from, weeks, EARNING_REASONS],
  );
  return rows.map((r) => ({ week: r.week, total: BigInt(r.total), referral: BigInt(r.referral) }));
}
