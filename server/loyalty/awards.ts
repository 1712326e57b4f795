/**
 * Points earned from chain facts (mints, mint-from tasks), derived by the worker from the facts feed (server/facts). An award starts pending,
 * in the same transaction as the feed cursor that read its fact; it becomes available once its fact is
 * POINTS_FINALITY blocks deep on the indexed branch; a retraction of the fact before that reverses it with a
 * reversing entry. Every entry's idempotency key comes from the feed position of the fact that caused it, so a fact
 * that is retracted and later applied again (a reorg back to the first branch) earns again, once.
 */
import type pg from "pg";
import type { Logger } from "pino";
import { inTransaction } from "../database/transaction.ts";
import type { FactConsumer } from "../facts/consumer.ts";
import { factKey, type Fact } from "../facts/feed.ts";
import { withinCaps } from "./caps.ts";
import { appendEntries, lockBalance, type LedgerEntry, type PointsReason } from "./ledger.ts";
import { awardHoldings } from "./holdings.ts";
import { expirePoints } from "./points-expiry.ts";
import { currentRules, mintPointsPerUnit, type RulesVersion } from "./rules.ts";

/** The `phase` of a voucher mint (Collection.VOUCHER_PHASE): vouchers are bought with points, so they earn none. */
export const VOUCHER_PHASE = (2n ** 256n - 1n).toString();

/** How often a worker runs points expiry (expirePoints). */
const EXPIRY_INTERVAL_MS = 10 * 60 * 1000;

export type AwardsOptions = {
  chainId: number;
  /** Blocks a fact must be under the indexed head before its points become available (POINTS_FINALITY). */
  finality: number;
  logger: Logger;
};

/**
 * The feed consumer that turns mints into points (and undoes them on retraction); after each pass it matures awards,
 * awards what holdings earn (holdings.ts) and expires points (points-expiry.ts).
 */
export function pointsAwardsConsumer(options: AwardsOptions): FactConsumer {
  let lastExpiry = 0;
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
        // A mint-from task is done by the wallet's first mint from the collection (once per wallet).
        for (const task of rules.rules.tasks)
          if (task.kind === "mint_from" && task.collection.toLowerCase() === event.address)
            await awardPending(tx, rules, fact, {
              wallet,
              amount: BigInt(task.points),
              reason: "task",
              reference: `task ${task.id}: mint from ${task.collection}`,
              taskId: task.id,
            });
      }
    },
    async afterPass(db) {
      await matureAwards(db, options.chainId, options.finality);
      await awardHoldings(db, options.chainId, options.finality);
      // Expiry walks every wallet with points: a few times an hour is soon enough for a rule counted in days.
      if (Date.now() - lastExpiry >= EXPIRY_INTERVAL_MS) {
        lastExpiry = Date.now();
        await expirePoints(db, new Date());
      }
    },
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
  award: { wallet: string; amount: bigint; reason: PointsReason; reference: string; taskId?: string },
) {
  if (award.amount <= 0n) return;
  const earnedAt = fact.event!.blockTime;
  await lockBalance(tx, award.wallet);
  const amount = await withinCaps(tx, rules.rules, award.wallet, award.amount, earnedAt);
  if (amount <= 0n) return;
  const awardKey = `${fact.chainId}:${fact.seq}:${award.taskId ? `task:${award.taskId}` : award.reason}`;
  // A task already done (an award not reversed) is not done again: the unique index says so, not a read.
  const inserted = await tx.query(
    `INSERT INTO points_award (award_key, fact_key, chain_id, block_number, block_hash, wallet, amount, reason,
                               reference, rule_version, earned_at, task_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (wallet, task_id) WHERE task_id IS NOT NULL AND status <> 'reversed' DO NOTHING`,
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
      award.taskId ?? null,
    ],
  );
  if (inserted.rowCount === 0) return;
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
    const matured = await inTransaction(db, async (tx) => {
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
      return rows.length;
    });
    total += matured;
    if (matured < 500) return total;
  }
}
