import pg from "pg";
import type { Logger } from "pino";
import { OutageLog } from "../lib/outage.ts";

/** Session advisory lock class for "the writer of chain N" (objid = chain id). */
export const WRITER_LOCK_CLASS = 0x57524954; // "WRIT"

export class WriterLockLostError extends Error {
  constructor(chainId: number) {
    super(`Lost the indexer writer lock of chain ${chainId} (its database connection dropped); stopping writes.`);
    this.name = "WriterLockLostError";
  }
}

/**
 * One writer per chain: a PostgreSQL session advisory lock held on a dedicated connection for as long as the
 * indexer runs. A second indexer waits as a standby, retrying every `retryMs`, and takes over as soon as the first
 * one's connection closes (process exit, crash, kill -9, network loss: PostgreSQL releases the lock itself).
 */
export class WriterLock {
  private client: pg.Client | undefined;
  private lost: Error | undefined;

  private readonly connection: pg.ClientConfig;
  private readonly chainId: number;
  private readonly logger: Logger;
  private readonly retryMs: number;
  private readonly outage: OutageLog;

  constructor(connection: pg.ClientConfig, chainId: number, logger: Logger, retryMs = 500, outageSummaryMs?: number) {
    this.connection = connection;
    this.chainId = chainId;
    this.logger = logger;
    this.retryMs = retryMs;
    // Retried every 500 ms while PostgreSQL is down: logged as one outage, not a stack trace per attempt.
    this.outage = new OutageLog({ logger, what: "database (writer lock)", summaryEveryMs: outageSummaryMs });
  }

  /** The error that ended the lock, if it was lost. The indexer checks it before every batch. */
  get lostError(): Error | undefined {
    return this.lost;
  }

  /** Resolves once this process is the writer; false if `signal` aborted first. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    let announced = false;
    while (!signal.aborted) {
      const client = new pg.Client(this.connection);
      // A connection that fails after connect() (the server went away while we wait as a standby) must not be an
      // unhandled 'error' event; the query in flight fails and is retried below.
      client.on("error", () => {});
      try {
        await client.connect();
        this.outage.success();
        for (;;) {
          const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [
            WRITER_LOCK_CLASS,
            this.chainId,
          ]);
          if (rows[0]!.ok) {
            this.client = client;
            this.lost = undefined;
            client.on("error", (err) => {
              this.lost ??= new WriterLockLostError(this.chainId);
              this.logger.error({ err }, "writer lock connection failed");
            });
            client.on("end", () => (this.lost ??= new WriterLockLostError(this.chainId)));
            if (announced) this.logger.info({ chainId: this.chainId }, "standby took over as the writer");
            return true;
          }
          if (!announced) {
            this.logger.info({ chainId: this.chainId }, "another indexer is writing this chain; waiting as a standby");
            announced = true;
          }
          if (signal.aborted) break;
          await new Promise((r) => setTimeout(r, this.retryMs));
        }
        await client.end().catch(() => {});
      } catch (error) {
        await client.end().catch(() => {});
        this.outage.failure(error);
        await new Promise((r) => setTimeout(r, this.retryMs));
      }
    }
    return false;
  }

  async release() {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.lost ??= new WriterLockLostError(this.chainId);
    await client.query("SELECT pg_advisory_unlock($1, $2)", [WRITER_LOCK_CLASS, this.chainId]).catch(() => {});
    await client.end().catch(() => {});
  }
}
