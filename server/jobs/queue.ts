/**
 * Background jobs on PostgreSQL (pg-boss). The API only enqueues, inside its own transactions (a rolled-back
 * request leaves no job behind); the worker process runs them. Jobs run at least once — a crash after the work and
 * before the acknowledgement runs it again — so every job's effect carries a unique business key (see each job).
 * Queues are on pg-boss's `standard` policy: de-duplication is the effects' job, not the queue's.
 */
import type pg from "pg";
import { PgBoss } from "pg-boss";
import type { Logger } from "pino";

/** Every queue the platform uses, with its retry settings. */
export const QUEUES: Record<string, { retryLimit: number; retryDelay: number; retryBackoff: boolean }> = {
  "voucher-expiry": { retryLimit: 20, retryDelay: 5, retryBackoff: true },
};

export type JobQueue = {
  /** Enqueues `data` on `queue` in the caller's transaction `tx`, to run no earlier than `startAfter`. */
  enqueue: (tx: pg.PoolClient, queue: string, data: object, options: { startAfter: Date }) => Promise<void>;
  /** Runs `handler` for each job of `queue` (worker processes only). */
  work: (queue: string, handler: (data: unknown) => Promise<void>) => Promise<void>;
  stop: () => Promise<void>;
};

/**
 * Connects pg-boss (installing or migrating its schema, `pgboss`, if needed) and creates the platform's queues.
 * `role: "sender"` only enqueues (API processes: no maintenance, no polling); `"worker"` also runs jobs and pg-boss's
 * maintenance.
 */
export async function startJobQueue(options: {
  databaseUrl: string;
  role: "sender" | "worker";
  logger: Logger;
  /** How often a worker looks for due jobs (default 2 s). */
  pollingIntervalSeconds?: number;
}): Promise<JobQueue> {
  const worker = options.role === "worker";
  const boss = new PgBoss({
    connectionString: options.databaseUrl,
    max: worker ? 4 : 2,
    application_name: `perkmint-${options.role}`,
    supervise: worker,
    schedule: false,
  });
  boss.on("error", (err) => options.logger.error({ err }, "job queue error"));
  await boss.start();
  for (const [name, settings] of Object.entries(QUEUES)) {
    if (!(await boss.getQueue(name)))
      await boss.createQueue(name, settings).catch(async (error: unknown) => {
        // Another process created it between the check and here.
        if (!(await boss.getQueue(name))) throw error;
      });
  }
  return {
    async enqueue(tx, queue, data, { startAfter }) {
      await boss.send(queue, data, {
        startAfter,
        db: { executeSql: (text: string, values?: unknown[]) => tx.query(text, values) },
      });
    },
    async work(queue, handler) {
      await boss.work(
        queue,
        { pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2, batchSize: 1 },
        async ([job]) => {
          if (job) await handler(job.data);
        },
      );
    },
    stop: () => boss.stop({ graceful: true, timeout: 5000 }),
  };
}
