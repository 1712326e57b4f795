/**
 * The points ledger: the only way points move. Every change is an append-only entry (the database refuses updates
 * and deletes) in one of a wallet's two buckets — pending (derived from a chain fact not final yet) or available
 * (spendable) — carrying its reason, reference, rule version and a unique idempotency key; the wallet's balance is
 * updated in the same statement, under its row lock, and database checks keep it from ever going negative. Points
 * are integers (bigint in PostgreSQL and here).
 */
import type pg from "pg";
import { HttpProblem } from "../http/problem.ts";
import { arrayParam } from "../indexer/store/sql.ts";

export const POINTS_REASONS = [
  "mint",
  "holding_milestone",
  "task",
  "check_in",
  "referral",
  "redemption",
  "refund",
  "expiry",
  "reversal",
  "adjustment",
] as const;
export type PointsReason = (typeof POINTS_REASONS)[number];

/**
 * Reasons that earn points: what `lifetime` (and so tiers), seasons and caps count once the points are available. A
 * reversal of available points (an award whose fact a deep rewind retracted) counts against them.
 */
export const EARNING_REASONS: readonly PointsReason[] = [
  "mint",
  "holding_milestone",
  "task",
  "check_in",
  "referral",
  "adjustment",
];

export type LedgerEntry = {
  /** Lower-case address. */
  wallet: string;
  bucket: "pending" | "available";
  /** Signed, never zero. */
  amount: bigint;
  reason: PointsReason;
  reference: string;
  ruleVersion?: number | null;
  /** Unique across the ledger: appending the same key again changes nothing. */
  idempotencyKey: string;
  earnedAt: Date;
  /** Half of the pair that makes a pending award available (see matureAwards). */
  maturation?: boolean;
  operator?: string | null;
  comment?: string | null;
};

/** A wallet lacks the points an entry would take (the balance would go negative). */
export class InsufficientPointsError extends HttpProblem {
  constructor(detail = "Not enough available points for this.") {
    super(422, "Rule not met", detail, [{ path: "body", message: "insufficient points" }]);
    this.name = "InsufficientPointsError";
  }
}

const CHECK_VIOLATION = "23514";

/**
 * Appends `entries` and moves their wallets' balances accordingly, in `tx` (the caller's transaction, so the entries
 * commit with whatever caused them). An entry whose idempotency key is already in the ledger is skipped, and so is
 * its balance change. Returns the keys actually appended. A balance that would go negative throws
 * InsufficientPointsError (and the caller's transaction must roll back).
 */
export async function appendEntries(tx: pg.PoolClient, entries: LedgerEntry[]): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const wallets = [...new Set(entries.map((e) => e.wallet))].sort();
  // Balance rows first (in a fixed order, so concurrent appends for several wallets never deadlock); the update
  // below then changes existing rows only, and its checks see the real result rather than a proposed insert's.
  await tx.query(
    "INSERT INTO points_balance (wallet) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT (wallet) DO NOTHING",
    [wallets],
  );
  try {
    const { rows } = await tx.query<{ idempotency_key: string }>(
      `WITH added AS (
         INSERT INTO points_entry (wallet, bucket, amount, reason, reference, rule_version, idempotency_key, earned_at,
                                   operator, comment, maturation)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::text[],
                              $8::timestamptz[], $9::text[], $10::text[], $12::boolean[])
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING wallet, bucket, amount, reason, idempotency_key
       ), moved AS (
         UPDATE points_balance b SET
           available = b.available + d.available, pending = b.pending + d.pending, lifetime = b.lifetime + d.lifetime,
           updated_at = now()
         FROM (SELECT wallet,
                      coalesce(sum(amount) FILTER (WHERE bucket = 'available'), 0) AS available,
                      coalesce(sum(amount) FILTER (WHERE bucket = 'pending'), 0) AS pending,
                      coalesce(sum(amount) FILTER (WHERE bucket = 'available' AND ((amount > 0 AND reason = ANY($11::text[])) OR reason = 'reversal')), 0) AS lifetime
               FROM added GROUP BY wallet) d
         WHERE b.wallet = d.wallet
       )
       SELECT idempotency_key FROM added`,
      [
        entries.map((e) => e.wallet),
        entries.map((e) => e.bucket),
        arrayParam(entries.map((e) => e.amount.toString())),
        entries.map((e) => e.reason),
        entries.map((e) => e.reference),
        entries.map((e) => e.ruleVersion ?? null),
        entries.map((e) => e.idempotencyKey),
        entries.map((e) => e.earnedAt.toISOString()),
        entries.map((e) => e.operator ?? null),
        entries.map((e) => e.comment ?? null),
        EARNING_REASONS,
        entries.map((e) => e.maturation ?? false),
      ],
    );
    return new Set(rows.map((r) => r.idempotency_key));
  } catch (error) {
    const { code, constraint } = error as { code?: string; constraint?: string };
    if (code === CHECK_VIOLATION && constraint?.startsWith("points_balance_")) throw new InsufficientPointsError();
    throw error;
  }
}

export type PointsBalance = { available: bigint; pending: bigint; lifetime: bigint };

/** A wallet's balance (zeros for a wallet with no entries). */
export async function readBalance(db: pg.Pool | pg.PoolClient, wallet: string): Promise<PointsBalance> {
  const { rows } = await db.query<{ available: string; pending: string; lifetime: string }>(
    "SELECT available::text, pending::text, lifetime::text FROM points_balance WHERE wallet = $1",
    [wallet.toLowerCase()],
  );
  const row = rows[0];
  return row
    ? { available: BigInt(row.available), pending: BigInt(row.pending), lifetime: BigInt(row.lifetime) }
    : { available: 0n, pending: 0n, lifetime: 0n };
}

/**
 * Locks a wallet's balance row for the rest of `tx` (creating it at zero if needed): spends of one wallet then run
 * one at a time, so checks made before the spend (limits, stock) still hold when it lands.
 */
export async function lockBalance(tx: pg.PoolClient, wallet: string): Promise<PointsBalance> {
  await tx.query("INSERT INTO points_balance (wallet) VALUES ($1) ON CONFLICT (wallet) DO NOTHING", [wallet]);
  const { rows } = await tx.query<{ available: string; pending: string; lifetime: string }>(
    "SELECT available::text, pending::text, lifetime::text FROM points_balance WHERE wallet = $1 FOR UPDATE",
    [wallet],
  );
  const row = rows[0]!;
  return { available: BigInt(row.available), pending: BigInt(row.pending), lifetime: BigInt(row.lifetime) };
}
