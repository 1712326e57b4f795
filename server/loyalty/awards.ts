/**
 * Points earned from chain facts, derived by the worker from the facts feed (server/facts). An award starts pending,
 * in the same transaction as the feed cursor that read its fact; it becomes available once its fact is
 * POINTS_FINALITY blocks deep on the indexed branch; a retraction of the fact before that reverses it with a
 * reversing entry. Every entry's idempotency key comes from the feed position of the fact that caused it, so a fact
 * that is retracted and later applied again (a reorg back to the first branch) earns again, once.
 */
import type pg from "pg";
import type { Logger } from "pino";
import type { FactConsumer } from "../facts/consumer.ts";
import { factKey, type Fact } from "../facts/feed.ts";
import { appendEntries, lockBalance, type LedgerEntry, type PointsReason } from "./ledger.ts";
import { currentRules, mintPointsPerUnit, type PointsRules, type RulesVersion } from "./rules.ts";

/** The `phase` of a voucher mint (Collection.VOUCHER_PHASE): vouchers are bought with points, so they earn none. */
export const VOUCHER_PHASE = (2n ** 256n - 1n).toString();

export type AwardsOptions = {
  chainId: number;
  /** Blocks a fact must be under the indexed head before its points become available (POINTS_FINALITY). */
  finality: number;
  logger: Logger;
};

/** The feed consumer that turns mints into points (and undoes them on retraction), and matures awards. */
export function pointsAwardsConsumer(options: AwardsOptions): FactConsumer {
  return {
    name: "points-awards",
    async apply(tx, facts) {
      let rules: RulesVersion | null | undefined;
      for (const fact of facts) {
        if (!fact.applied) {
          await reverseAwards(tx, fact, options.logger);
          continue;
        }
        const event = fact.event;
        if (event?.name !== "Minted" || String(event.args.phase) === VOUCHER_PHASE) continue;
        rules ??= await currentRules(tx);
        if (!rules) continue;
        const wallet = String(event.args.recipient).toLowerCase();
        const perUnit = mintPointsPerUnit(rules.rules, event.address, String(event.args.edition));
        const earned = BigInt(perUnit) * BigInt(String(event.args.quantity));
        await awardPending(tx, rules, fact, {
          wallet,
          amount: earned,
          reason: "mint",
          reference: `mint ${event.address}/${String(event.args.edition)} in ${event.txHash}`,
        });
      }
    },
    afterPass: (db) => matureAwards(db, options.chainId, options.finality),
  };
}

/**
 * Awards `amount` (cut to what the caps leave) as pending points for `fact`. The wallet's balance row is locked first,
 * so the caps are read and the award written as one step.
 */
async function awardPending(
  tx: pg.PoolClient,
  rules: RulesVersion,
  fact: Fact,
  award: { wallet: string; amount: bigint; reason: PointsReason; reference: string },
) {
  if (award.amount <= 0n) return;
  const earnedAt = fact.event!.blockTime;
  await lockBalance(tx, award.wallet);
  const amount = await withinCaps(tx, rules.rules, award.wallet, award.amount, earnedAt);
  if (amount <= 0n) return;
  const awardKey = `${fact.chainId}:${fact.seq}:${award.reason}`;
  await tx.query(
    `INSERT INTO points_award (award_key, fact_key, chain_id, block_number, block_hash, wallet, amount, reason,
                               reference, rule_version, earned_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      awardKey,
      factKey(fact),
      fact.chainId,
      fact.blockNumber.toString(),
      fact.blockHash,
      award.wallet,
      amount.toString(),
      award.reason,
      award.reference,
      rules.version,
      earnedAt,
    ],
  );
  await appendEntries(tx, [
    {
      wallet: award.wallet,
      bucket: "pending",
      amount,
      reason: award.reason,
      reference: award.reference,
      ruleVersion: rules.version,
      idempotencyKey: `award:${awardKey}`,
      earnedAt,
    },
  ]);
}

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

/**
 * Reverses every award of a retracted fact. A pending one is reversed from pending. An available one (its fact was
 * final, yet retracted: an operator's rewind or a reset, deeper than POINTS_FINALITY) is reversed from the available
 * points, as far as the balance allows: points already spent stay spent, and the shortfall is logged.
 */
async function reverseAwards(tx: pg.PoolClient, fact: Fact, logger: Logger) {
  const { rows } = await tx.query<AwardRow & { previous: "pending" | "available" }>(
    `UPDATE points_award a SET status = 'reversed', settled_at = now()
     FROM (SELECT award_key, status AS previous FROM points_award WHERE fact_key = $1 AND status <> 'reversed' FOR UPDATE) p
     WHERE a.award_key = p.award_key
     RETURNING a.award_key, a.wallet, a.amount::text, a.reason, a.reference, a.rule_version, a.earned_at, p.previous`,
    [factKey(fact)],
  );
  for (const r of rows) {
    let amount = BigInt(r.amount);
    if (r.previous === "available") {
      const { available } = await lockBalance(tx, r.wallet);
      if (available < amount)
        logger.warn(
          { wallet: r.wallet, award: r.award_key, amount: r.amount, available: available.toString() },
          "a final award's fact was retracted (a rewind deeper than POINTS_FINALITY); its spent points stay spent",
        );
      amount = available < amount ? available : amount;
      if (amount === 0n) continue;
    }
    await appendEntries(tx, [
      {
        wallet: r.wallet,
        bucket: r.previous,
        amount: -amount,
        reason: "reversal",
        reference: `reorg removed: ${r.reference}`,
        ruleVersion: r.rule_version,
        idempotencyKey: `reverse:${r.award_key}`,
        earnedAt: r.earned_at,
      },
    ]);
  }
}

type AwardRow = {
  award_key: string;
  wallet: string;
  amount: string;
  reason: PointsReason;
  reference: string;
  rule_version: number;
  earned_at: Date;
};

/**
 * Makes available every pending award of `chainId` whose fact is `finality` blocks under the indexed head and still on
 * the indexed branch (its block's hash unchanged: a retraction the worker has not read yet is never overtaken).
 * Each award moves by a pair of entries (pending −N, available +N) in one transaction with its change of status;
 * rows another worker holds are skipped, not waited for.
 */
export async function matureAwards(db: pg.Pool, chainId: number, finality: number): Promise<number> {
  let total = 0;
  for (;;) {
    const tx = await db.connect();
    try {
      await tx.query("BEGIN");
      const { rows } = await tx.query<AwardRow>(
        `UPDATE points_award SET status = 'available', settled_at = now() WHERE award_key IN (
           SELECT a.award_key FROM points_award a
           JOIN indexer_checkpoint c ON c.chain_id = a.chain_id
           JOIN event_block b ON b.chain_id = a.chain_id AND b.number = a.block_number AND b.hash = a.block_hash
           WHERE a.chain_id = $1 AND a.status = 'pending' AND a.block_number <= c.block_number - $2
           ORDER BY a.block_number LIMIT 500 FOR UPDATE OF a SKIP LOCKED)
         RETURNING award_key, wallet, amount::text, reason, reference, rule_version, earned_at`,
        [chainId, finality],
      );
      const entries = rows.flatMap((r): LedgerEntry[] => {
        const common = {
          wallet: r.wallet,
          reason: r.reason,
          reference: r.reference,
          ruleVersion: r.rule_version,
          earnedAt: r.earned_at,
          maturation: true,
        };
        return [
          { ...common, bucket: "pending", amount: -BigInt(r.amount), idempotencyKey: `mature-pending:${r.award_key}` },
          { ...common, bucket: "available", amount: BigInt(r.amount), idempotencyKey: `mature:${r.award_key}` },
        ];
      });
      await appendEntries(tx, entries);
      await tx.query("COMMIT");
      total += rows.length;
      if (rows.length < 500) return total;
    } catch (error) {
      await tx.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      tx.release();
    }
  }
}
