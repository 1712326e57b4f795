/**
 * What becomes of a redemption's voucher. Used: the feed's VoucherUsed fact completes the redemption (and its
 * retraction makes it issued again, with a fresh expiry check). Unused: once a block later than the deadline is
 * final in the index (POINTS_FINALITY deep) and no VoucherUsed for the voucher is indexed, the points are refunded
 * and the stock returned. Job queues run a job at least once, and two workers may run the same check at once: the
 * redemption row is locked, its status decides, and the refund's ledger key is the redemption's id, so a second run
 * changes nothing.
 */
import type pg from "pg";
import type { FactConsumer } from "../facts/consumer.ts";
import { factKey } from "../facts/feed.ts";
import { appendEntries } from "./ledger.ts";
import { VOUCHER_EXPIRY_QUEUE, type EnqueueInTransaction } from "./redemptions.ts";

/** A check that cannot decide yet (the deadline is not final) runs again after this long. */
export const EXPIRY_RECHECK_SECONDS = 15;

/** The feed consumer that completes redemptions when their vouchers are used (and undoes that on a reorg). */
export function redemptionCompletionsConsumer(deps: { enqueue: EnqueueInTransaction }): FactConsumer {
  return {
    name: "redemption-completions",
    async apply(tx, facts) {
      for (const fact of facts) {
        if (fact.applied) {
          if (fact.event?.name !== "VoucherUsed") continue;
          await tx.query(
            `UPDATE points_redemption SET status = 'completed', completed_at = $4, used_fact_key = $5
             WHERE chain_id = $1 AND collection = $2 AND voucher_id = $3::numeric AND status = 'issued'`,
            [fact.chainId, fact.event.address, String(fact.event.args.voucherId), fact.event.blockTime, factKey(fact)],
          );
          continue;
        }
        // A retracted VoucherUsed: its redemption is open again until the deadline, and needs its check again.
        const { rows } = await tx.query<{ id: string; deadline: Date }>(
          `UPDATE points_redemption SET status = 'issued', completed_at = NULL, used_fact_key = NULL
           WHERE used_fact_key = $1 AND status = 'completed' RETURNING id, deadline`,
          [factKey(fact)],
        );
        for (const r of rows)
          await deps.enqueue(tx, VOUCHER_EXPIRY_QUEUE, { redemptionId: r.id }, { startAfter: r.deadline });
      }
    },
  };
}

export type ExpiryOutcome = "refunded" | "completed" | "already-settled" | "not-final-yet" | "unknown";

/**
 * Settles one redemption whose deadline has come: refunds it if its voucher is dead for good, marks it completed if
 * the voucher was used, or reports that it cannot decide yet (the caller checks again later).
 */
export async function settleExpiredVoucher(
  db: pg.Pool,
  redemptionId: string,
  finality: number,
): Promise<ExpiryOutcome> {
  const tx = await db.connect();
  try {
    await tx.query("BEGIN");
    const { rows } = await tx.query<{
      wallet: string;
      chain_id: number;
      collection: string;
      voucher_id: string;
      deadline: Date;
      status: string;
      points: string;
      quantity: number;
      offer_id: string;
    }>(
      `SELECT wallet, chain_id, collection, voucher_id::text, deadline, status, points::text, quantity, offer_id
       FROM points_redemption WHERE id = $1 FOR UPDATE`,
      [redemptionId],
    );
    const r = rows[0];
    if (!r || r.status !== "issued") {
      await tx.query("ROLLBACK");
      return r ? "already-settled" : "unknown";
    }
    const used = await tx.query<{ time: Date; hash: string; log_index: number }>(
      `SELECT b.time, b.hash, e.log_index FROM chain_event e
       JOIN event_block b ON b.chain_id = e.chain_id AND b.number = e.block_number
       WHERE e.chain_id = $1 AND e.address = $2 AND e.name = 'VoucherUsed' AND e.args->>'voucherId' = $3 LIMIT 1`,
      [r.chain_id, r.collection, r.voucher_id],
    );
    const use = used.rows[0];
    if (use) {
      // The feed's consumer completes it too; whichever comes first does it.
      await tx.query(
        "UPDATE points_redemption SET status = 'completed', completed_at = $2, used_fact_key = $3 WHERE id = $1",
        [redemptionId, use.time, factKey({ chainId: r.chain_id, blockHash: use.hash, logIndex: use.log_index })],
      );
      await tx.query("COMMIT");
      return "completed";
    }
    // The newest indexed header at least `finality` blocks under the checkpoint: if it is later than the deadline, no
    // block that could still change is early enough to carry the voucher's mint.
    // Headers are kept for recent blocks, event blocks for every block with an event: the later of the two answers.
    const final = await tx.query<{ time: Date | null }>(
      `WITH c AS (SELECT block_number - $2 AS boundary FROM indexer_checkpoint WHERE chain_id = $1)
       SELECT greatest(
         (SELECT h.timestamp FROM indexed_block h, c WHERE h.chain_id = $1 AND h.number <= c.boundary ORDER BY h.number DESC LIMIT 1),
         (SELECT b.time FROM event_block b, c WHERE b.chain_id = $1 AND b.number <= c.boundary ORDER BY b.number DESC LIMIT 1)
       ) AS time`,
      [r.chain_id, finality],
    );
    const finalTime = final.rows[0]?.time;
    if (!finalTime || finalTime.getTime() <= r.deadline.getTime()) {
      await tx.query("ROLLBACK");
      return "not-final-yet";
    }
    await appendEntries(tx, [
      {
        wallet: r.wallet,
        bucket: "available",
        amount: BigInt(r.points),
        reason: "refund",
        reference: `redemption ${redemptionId}: voucher expired unused`,
        idempotencyKey: `refund:${redemptionId}`,
        earnedAt: new Date(),
      },
    ]);
    await tx.query("UPDATE points_redemption SET status = 'refunded', refunded_at = now() WHERE id = $1", [
      redemptionId,
    ]);
    await tx.query("UPDATE points_offer SET remaining = remaining + $2 WHERE id = $1", [r.offer_id, r.quantity]);
    await tx.query("COMMIT");
    return "refunded";
  } catch (error) {
    await tx.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    tx.release();
  }
}
