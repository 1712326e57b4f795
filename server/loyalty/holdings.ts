/**
 * Points earned by holding, read from the indexer's balances and held-since: holding milestones (an edition held
 * continuously for N days; transferring out and back restarts the indexer's held-since, so the clock), "hold this
 * edition" tasks and "complete the set" tasks. Only final state counts — every balance involved held since a block
 * at least POINTS_FINALITY deep — so these awards are available at once and no reorg can take them back. Time is the
 * chain's: the indexed head's block time. Each is earned once per wallet (per edition, for milestones), by the
 * ledger's unique idempotency key, so two workers checking at once award once.
 */
import type pg from "pg";
import { inTransaction } from "../database/transaction.ts";
import { appendEntries, lockBalance, type PointsReason } from "./ledger.ts";
import { currentRules, type RulesVersion } from "./rules.ts";
import { withinCaps } from "./caps.ts";

type Qualified = { wallet: string; key: string; reference: string };

/** Awards every holding milestone and holding task reached as of the final part of the index. */
export async function awardHoldings(db: pg.Pool, chainId: number, finality: number): Promise<number> {
  const rules = await currentRules(db);
  if (!rules || (rules.rules.holding.length === 0 && !rules.rules.tasks.some((t) => t.kind !== "mint_from"))) return 0;
  const head = await db.query<{ final_block: string; head_time: Date }>(
    `SELECT (c.block_number - $2)::text AS final_block, b.timestamp AS head_time FROM indexer_checkpoint c
     JOIN indexed_block b ON b.chain_id = c.chain_id AND b.number = c.block_number WHERE c.chain_id = $1`,
    [chainId, finality],
  );
  if (!head.rows[0]) return 0;
  const { final_block: finalBlock, head_time: headTime } = head.rows[0];
  let awarded = 0;
  for (const rule of rules.rules.holding) {
    const { rows } = await db.query<{ owner: string; collection: string; token_id: string }>(
      `SELECT owner, collection, token_id::text FROM token_balance
       WHERE chain_id = $1 AND collection = $2 AND ($3::numeric IS NULL OR token_id = $3::numeric) AND amount > 0
         AND held_since_block <= $4::bigint AND held_since_time <= $5::timestamptz - make_interval(days => $6)
         AND NOT EXISTS (SELECT 1 FROM points_entry
                         WHERE idempotency_key = 'holding:' || $7 || ':' || owner || ':' || collection || ':' || token_id)
       LIMIT 1000`,
      [chainId, rule.collection.toLowerCase(), rule.tokenId ?? null, finalBlock, headTime, rule.days, rule.id],
    );
    awarded += await award(
      db,
      rules,
      headTime,
      "holding_milestone",
      BigInt(rule.points),
      rows.map((r) => ({
        wallet: r.owner,
        key: `holding:${rule.id}:${r.owner}:${r.collection}:${r.token_id}`,
        reference: `held ${r.collection}/${r.token_id} for ${rule.days} days (${rule.id})`,
      })),
    );
  }
  for (const task of rules.rules.tasks) {
    if (task.kind === "mint_from") continue;
    const collection = task.collection.toLowerCase();
    // The set: the listed editions, or every edition of the collection indexed now; "hold" is a set of one.
    const set =
      task.kind === "hold"
        ? [task.tokenId]
        : (task.tokenIds ??
          (
            await db.query<{ token_id: string }>(
              "SELECT token_id::text FROM edition WHERE chain_id = $1 AND collection = $2",
              [chainId, collection],
            )
          ).rows.map((r) => r.token_id));
    if (set.length === 0) continue;
    const { rows } = await db.query<{ owner: string }>(
      `SELECT owner FROM token_balance
       WHERE chain_id = $1 AND collection = $2 AND token_id = ANY($3::numeric[]) AND amount > 0
         AND held_since_block <= $4::bigint
         AND NOT EXISTS (SELECT 1 FROM points_entry WHERE idempotency_key = 'task:' || $5 || ':' || owner)
       GROUP BY owner HAVING count(DISTINCT token_id) = cardinality($3::numeric[])
       LIMIT 1000`,
      [chainId, collection, set, finalBlock, task.id],
    );
    const what =
      task.kind === "hold" ? `hold ${task.collection}/${task.tokenId}` : `complete a set of ${task.collection}`;
    awarded += await award(
      db,
      rules,
      headTime,
      "task",
      BigInt(task.points),
      rows.map((r) => ({
        wallet: r.owner,
        key: `task:${task.id}:${r.owner}`,
        reference: `task ${task.id}: ${what}`,
      })),
    );
  }
  return awarded;
}

/** Each qualified wallet's award, in a transaction of its own under its balance lock (the caps read and written). */
async function award(
  db: pg.Pool,
  rules: RulesVersion,
  at: Date,
  reason: PointsReason,
  points: bigint,
  qualified: Qualified[],
): Promise<number> {
  let awarded = 0;
  for (const q of qualified) {
    awarded += await inTransaction(db, async (tx) => {
      await lockBalance(tx, q.wallet);
      const amount = await withinCaps(tx, rules.rules, q.wallet, points, at);
      if (amount <= 0n) return 0;
      const added = await appendEntries(tx, [
        {
          wallet: q.wallet,
          bucket: "available",
          amount,
          reason,
          reference: q.reference,
          ruleVersion: rules.version,
          idempotencyKey: q.key,
          earnedAt: at,
        },
      ]);
      return added.size;
    });
  }
  return awarded;
}
