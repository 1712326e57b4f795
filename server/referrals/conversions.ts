/**
 * Referral conversions, derived by the worker from the facts feed (the `referral-conversions` consumer):
 * - every Minted fact records the recipient's first mint of any kind (a wallet that has one is not bindable any more)
 *   and its first sale mint (voucher mints, bought with points, are not one);
 * - a wallet's first mint, if it is a sale naming a referrer, binds the wallet to that referrer unless it is bound
 *   already (by a code at sign-in, recorded earlier);
 * - a bound referee's first sale mint is the referral's conversion: pending until that mint is POINTS_FINALITY deep
 *   and still on the indexed branch, then decided once, under the referrer's balance lock: rewarded (points to the
 *   referrer, in the available bucket) or rejected with the reason (a cap, the season ceiling, no reward in the rules).
 * Only the referee's own referrer is ever rewarded: nothing flows to the referrer's referrer.
 *
 * A retracted mint undoes exactly what it did: its first-mint records, the conversion (back to pending, nothing
 * awarded), and the binding when that mint's referrer made it. A retraction after the reward (a rewind deeper than
 * POINTS_FINALITY) reverses the reward as far as the referrer's available points allow, as awards.ts does. Every
 * ledger key carries the feed position of the conversion, so a mint that comes back after a reorg converts again,
 * once.
 */
import type pg from "pg";
import type { Logger } from "pino";
import type { FactConsumer } from "../facts/consumer.ts";
import { factKey, type Fact } from "../facts/feed.ts";
import { VOUCHER_PHASE } from "../loyalty/awards.ts";
import { withinCaps } from "../loyalty/caps.ts";
import { appendEntries, lockBalance } from "../loyalty/ledger.ts";
import { seasonEarnings } from "../loyalty/points.ts";
import { currentRules, referralRulesSchema, type PointsRules } from "../loyalty/rules.ts";
import { insertBinding, ZERO_ADDRESS } from "./bindings.ts";

export const REFERRAL_CONSUMER = "referral-conversions";

/** Why a conversion earned its referrer nothing. */
export const REJECTION_REASONS = {
  no_reward: "the points rules give no referral reward",
  daily_cap: "the referrer reached its daily cap of rewarded referrals",
  season_cap: "the referrer reached its season cap of rewarded referrals",
  wallet_cap: "the referrer's daily or season points cap leaves no room for the reward",
  season_ceiling: "the reward would take the referrer's share of season points from referrals past the ceiling",
} as const;
export type RejectionReason = keyof typeof REJECTION_REASONS;

export type ConversionsOptions = {
  chainId: number;
  /** POINTS_FINALITY: blocks the referee's first mint must be under the indexed head before the referral is decided. */
  finality: number;
  logger: Logger;
};

export function referralConversionsConsumer(options: ConversionsOptions): FactConsumer {
  return {
    name: REFERRAL_CONSUMER,
    async apply(tx, facts) {
      for (const fact of facts) {
        if (!fact.applied) await retract(tx, fact, options.logger);
        else if (fact.event?.name === "Minted") await applyMint(tx, fact);
      }
    },
    afterPass: (db) => settleConversions(db, options.chainId, options.finality),
  };
}

async function applyMint(tx: pg.PoolClient, fact: Fact) {
  const event = fact.event!;
  const wallet = String(event.args.recipient).toLowerCase();
  const referrer = String(event.args.referrer).toLowerCase();
  const key = factKey(fact);
  const first = await tx.query<{ kind: "any" | "sale" }>(
    `INSERT INTO referral_first_mint (chain_id, wallet, kind, fact_key, block_time)
     SELECT $1, $2, k, $3, $4 FROM unnest($5::text[]) k
     ON CONFLICT (chain_id, wallet, kind) DO NOTHING RETURNING kind`,
    [
      fact.chainId,
      wallet,
      key,
      event.blockTime,
      String(event.args.phase) === VOUCHER_PHASE ? ["any"] : ["any", "sale"],
    ],
  );
  const kinds = new Set(first.rows.map((r) => r.kind));
  // Not the wallet's first sale mint (a referee minting twice, or a voucher mint): nothing to convert.
  if (!kinds.has("sale")) return;
  if (kinds.has("any") && referrer !== ZERO_ADDRESS && referrer !== wallet)
    await insertBinding(tx, { referee: wallet, referrer, source: "mint", boundFactKey: key, boundAt: event.blockTime });
  await tx.query(
    `UPDATE referral SET chain_id = $2, conversion_key = $3, conversion_fact_key = $4, conversion_block_number = $5,
                         conversion_block_hash = $6, conversion_tx_hash = $7, converted_at = $8
     WHERE referee = $1 AND status = 'pending' AND conversion_key IS NULL`,
    [
      wallet,
      fact.chainId,
      `${fact.chainId}:${fact.seq}`,
      key,
      fact.blockNumber.toString(),
      fact.blockHash,
      event.txHash,
      event.blockTime,
    ],
  );
}

type ReferralRow = {
  referee: string;
  referrer: string;
  bound_fact_key: string | null;
  status: "pending" | "rewarded" | "rejected";
  conversion_key: string | null;
  points: string | null;
  rule_version: number | null;
  converted_at: Date | null;
};

async function retract(tx: pg.PoolClient, fact: Fact, logger: Logger) {
  const key = factKey(fact);
  await tx.query("DELETE FROM referral_first_mint WHERE fact_key = $1", [key]);
  const { rows } = await tx.query<ReferralRow>(
    `SELECT referee, referrer, bound_fact_key, status, conversion_key, points::text, rule_version, converted_at
     FROM referral WHERE conversion_fact_key = $1 OR bound_fact_key = $1 FOR UPDATE`,
    [key],
  );
  for (const r of rows) {
    if (r.status === "rewarded") await reverseReward(tx, r, logger);
    if (r.bound_fact_key === key) {
      await tx.query("DELETE FROM referral WHERE referee = $1", [r.referee]);
      continue;
    }
    await tx.query(
      `UPDATE referral SET status = 'pending', reason = NULL, points = NULL, rule_version = NULL, settled_at = NULL,
                           chain_id = NULL, conversion_key = NULL, conversion_fact_key = NULL,
                           conversion_block_number = NULL, conversion_block_hash = NULL, conversion_tx_hash = NULL,
                           converted_at = NULL
       WHERE referee = $1`,
      [r.referee],
    );
  }
}

/** A reward whose mint was retracted after it was final: taken back from the available points, as far as they go. */
async function reverseReward(tx: pg.PoolClient, r: ReferralRow, logger: Logger) {
  const { available } = await lockBalance(tx, r.referrer);
  let amount = BigInt(r.points!);
  if (available < amount) {
    logger.warn(
      { referrer: r.referrer, referee: r.referee, amount: r.points, available: available.toString() },
      "a rewarded referral's mint was retracted (a rewind deeper than POINTS_FINALITY); spent points stay spent",
    );
    amount = available;
  }
  if (amount === 0n) return;
  await appendEntries(tx, [
    {
      wallet: r.referrer,
      bucket: "available",
      amount: -amount,
      reason: "reversal",
      reference: `reorg removed: referral of ${r.referee}`,
      ruleVersion: r.rule_version,
      idempotencyKey: `referral-reverse:${r.conversion_key}`,
      earnedAt: r.converted_at!,
    },
  ]);
}

/**
 * Decides every converted referral of `chainId` whose first mint is `finality` blocks under the indexed head and still
 * on the indexed branch (its block's hash unchanged: a retraction the worker has not read yet is never overtaken).
 * One referral per transaction, so each holds one referrer's balance lock; rows another worker holds are skipped.
 * Returns how many were decided.
 */
export async function settleConversions(db: pg.Pool, chainId: number, finality: number): Promise<number> {
  let total = 0;
  for (;;) {
    const tx = await db.connect();
    try {
      await tx.query("BEGIN");
      const { rows } = await tx.query<ReferralRow>(
        `SELECT r.referee, r.referrer, r.bound_fact_key, r.status, r.conversion_key, r.points::text, r.rule_version,
                r.converted_at
         FROM referral r
         JOIN indexer_checkpoint c ON c.chain_id = r.chain_id
         JOIN event_block b ON b.chain_id = r.chain_id AND b.number = r.conversion_block_number
                           AND b.hash = r.conversion_block_hash
         WHERE r.chain_id = $1 AND r.status = 'pending' AND r.conversion_key IS NOT NULL
           AND r.conversion_block_number <= c.block_number - $2
         ORDER BY r.conversion_block_number LIMIT 1 FOR UPDATE OF r SKIP LOCKED`,
        [chainId, finality],
      );
      const row = rows[0];
      if (!row) {
        await tx.query("ROLLBACK");
        return total;
      }
      await decide(tx, row);
      await tx.query("COMMIT");
      total++;
    } catch (error) {
      await tx.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      tx.release();
    }
  }
}

/** The referral rules of a version, with their defaults (a version saved without them rewards nothing). */
export const referralRulesOf = (rules: PointsRules | undefined) => rules?.referral ?? referralRulesSchema.parse({});

async function decide(tx: pg.PoolClient, r: ReferralRow) {
  await lockBalance(tx, r.referrer);
  const version = await currentRules(tx);
  const rules = referralRulesOf(version?.rules);
  const points = BigInt(rules.referrerPoints);
  const at = r.converted_at!;
  const reject = (reason: RejectionReason) =>
    tx.query(
      "UPDATE referral SET status = 'rejected', reason = $2, rule_version = $3, settled_at = now() WHERE referee = $1",
      [r.referee, reason, version?.version ?? null],
    );
  if (!version || points === 0n) return reject("no_reward");
  const { rows } = await tx.query<{ day: number; season: number }>(
    `WITH season AS (
       SELECT starts_at, ends_at FROM points_season WHERE starts_at <= $2 AND ends_at > $2 ORDER BY starts_at DESC LIMIT 1
     ), day AS (SELECT date_trunc('day', $2::timestamptz, 'UTC') AS start)
     SELECT (SELECT count(*) FROM referral x, day d WHERE x.referrer = $1 AND x.status = 'rewarded'
               AND x.converted_at >= d.start AND x.converted_at < d.start + interval '1 day')::int AS day,
            (SELECT count(*) FROM referral x, season s WHERE x.referrer = $1 AND x.status = 'rewarded'
               AND x.converted_at >= s.starts_at AND x.converted_at < s.ends_at)::int AS season`,
    [r.referrer, at],
  );
  const rewarded = rows[0]!;
  const season = await seasonEarnings(tx, r.referrer, at);
  if (rules.perReferrerPerDay !== undefined && rewarded.day >= rules.perReferrerPerDay) return reject("daily_cap");
  if (rules.perReferrerPerSeason !== undefined && season.inSeason && rewarded.season >= rules.perReferrerPerSeason)
    return reject("season_cap");
  if ((await withinCaps(tx, version.rules, r.referrer, points, at)) < points) return reject("wallet_cap");
  // The share after the award: (referral + p) / (all + p) ≤ ceiling, in integers.
  if (
    season.inSeason &&
    (season.referral + points) * 10_000n > BigInt(rules.seasonShareCeilingBps) * (season.total + points)
  )
    return reject("season_ceiling");
  await appendEntries(tx, [
    {
      wallet: r.referrer,
      bucket: "available",
      amount: points,
      reason: "referral",
      reference: `referral: first mint of ${r.referee}`,
      ruleVersion: version.version,
      idempotencyKey: `referral:${r.conversion_key}`,
      earnedAt: at,
    },
  ]);
  await tx.query(
    "UPDATE referral SET status = 'rewarded', points = $2, rule_version = $3, settled_at = now() WHERE referee = $1",
    [r.referee, points.toString(), version.version],
  );
}
