/**
 * The worker: runs the facts-feed consumers (points awards, redemption completions, referral conversions) and the
 * background jobs (voucher expiry refunds). Never part of an API process. Any number may run: feed consumers take
 * turns on their cursor's row lock, jobs are claimed by one worker at a time and their effects are keyed, so a killed
 * or duplicated worker changes nothing.
 */
import type pg from "pg";
import type { Logger } from "pino";
import { followFeed } from "./facts/consumer.ts";
import { startJobQueue, type JobQueue } from "./jobs/queue.ts";
import { pointsAwardsConsumer } from "./loyalty/awards.ts";
import {
  EXPIRY_RECHECK_SECONDS,
  redemptionCompletionsConsumer,
  settleExpiredVoucher,
} from "./loyalty/voucher-expiry.ts";
import { VOUCHER_EXPIRY_QUEUE } from "./loyalty/redemptions.ts";
import { inTransaction } from "./database/transaction.ts";
import { referralConversionsConsumer } from "./referrals/conversions.ts";

export type WorkerOptions = {
  db: pg.Pool;
  /** A direct connection (LISTEN, pg-boss): not through a transaction-mode pooler. */
  databaseUrl: string;
  chainId: number;
  /** POINTS_FINALITY: blocks a fact must be under the head before its points are available, or a deadline final. */
  pointsFinality: number;
  /** An expiry check that cannot decide yet runs again after this long (default EXPIRY_RECHECK_SECONDS). */
  expiryRecheckSeconds?: number;
  /** The safety-net poll of the feed (default 2 s) and of due jobs (default 2 s). */
  pollIntervalMs?: number;
  logger: Logger;
};

export type RunningWorker = { queue: JobQueue; stop(): Promise<void> };

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { db, chainId, logger } = options;
  const pollSeconds = Math.max(0.5, (options.pollIntervalMs ?? 2000) / 1000);
  const queue = await startJobQueue({
    databaseUrl: options.databaseUrl,
    role: "worker",
    logger: logger.child({ component: "jobs" }),
    pollingIntervalSeconds: pollSeconds,
  });
  const abort = new AbortController();
  const consumers = [
    pointsAwardsConsumer({ chainId, finality: options.pointsFinality, logger }),
    redemptionCompletionsConsumer({ enqueue: queue.enqueue }),
    referralConversionsConsumer({ chainId, finality: options.pointsFinality, logger }),
  ];
  const feed = followFeed(
    {
      db,
      listenUrl: options.databaseUrl,
      chainId,
      consumers,
      ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
      logger: logger.child({ component: "facts" }),
    },
    abort.signal,
  );
  await queue.work(VOUCHER_EXPIRY_QUEUE, async (data) => {
    const { redemptionId } = data as { redemptionId: string };
    const outcome = await settleExpiredVoucher(db, redemptionId, options.pointsFinality);
    logger.debug({ redemptionId, outcome }, "voucher expiry check");
    if (outcome === "not-final-yet") {
      // Checked again later, as a new job: this one completes (a retry budget would run out on a slow chain).
      await inTransaction(db, (tx) =>
        queue.enqueue(
          tx,
          VOUCHER_EXPIRY_QUEUE,
          { redemptionId },
          {
            startAfter: new Date(Date.now() + (options.expiryRecheckSeconds ?? EXPIRY_RECHECK_SECONDS) * 1000),
          },
        ),
      );
    }
  });
  logger.info({ chainId, pointsFinality: options.pointsFinality }, "worker started");
  return {
    queue,
    async stop() {
      abort.abort();
      await feed;
      await queue.stop();
    },
  };
}
