/**
 * Optional expiry (the rules' `expiryDays`, off by default): available points expire that many days after they were
 * earned, oldest spent first. With oldest-first spending, what is left of the points earned before the cutoff is
 * what they earned minus everything spent so far (debits less refunds), never below zero; that, less what already
 * expired, expires now. The expiry entry's key is the wallet's expired total after it, so two workers computing the
 * same expiry append it once.
 */
import type pg from "pg";
import { inTransaction } from "../database/transaction.ts";
import { appendEntries, lockBalance } from "./ledger.ts";
import { currentRules } from "./rules.ts";

/** Expires what is due at `now` for every wallet with available points; returns the points expired. */
export async function expirePoints(db: pg.Pool, now: Date): Promise<bigint> {
  const rules = await currentRules(db);
  const days = rules?.rules.expiryDays;
  if (!rules || days === undefined) return 0n;
  const cutoff = new Date(now.getTime() - days * 24 * 3600 * 1000);
  const { rows } = await db.query<{ wallet: string }>(
    "SELECT wallet FROM points_balance WHERE available > 0 ORDER BY wallet",
  );
  let total = 0n;
  for (const { wallet } of rows) {
    total += await inTransaction(db, async (tx) => {
      const { available } = await lockBalance(tx, wallet);
      const { rows: sums } = await tx.query<{ old_earned: string; spent: string; expired: string }>(
        `SELECT coalesce(sum(amount) FILTER (WHERE amount > 0 AND reason <> 'refund' AND earned_at <= $2), 0)::text AS old_earned,
                coalesce(-sum(amount) FILTER (WHERE (amount < 0 AND reason <> 'expiry') OR reason = 'refund'), 0)::text AS spent,
                coalesce(-sum(amount) FILTER (WHERE reason = 'expiry'), 0)::text AS expired
         FROM points_entry WHERE wallet = $1 AND bucket = 'available'`,
        [wallet, cutoff],
      );
      const s = sums[0]!;
      const left = BigInt(s.old_earned) - BigInt(s.spent);
      let due = (left > 0n ? left : 0n) - BigInt(s.expired);
      if (due > available) due = available;
      if (due <= 0n) return 0n;
      await appendEntries(tx, [
        {
          wallet,
          bucket: "available",
          amount: -due,
          reason: "expiry",
          reference: `points earned before ${cutoff.toISOString()} expired (${days} days)`,
          ruleVersion: rules.version,
          idempotencyKey: `expiry:${wallet}:${BigInt(s.expired) + due}`,
          earnedAt: now,
        },
      ]);
      return due;
    });
  }
  return total;
}
