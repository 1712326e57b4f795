/**
 * Runs a consumer of the facts feed: reads the facts after its cursor, lets it derive its effects, and advances the
 * cursor, all in ONE transaction. So every fact takes effect exactly once, whatever crashes (a killed worker's
 * transaction rolls back, cursor and effects together), and however many workers run: the cursor row is locked for
 * the transaction, so a second worker waits, then sees the advanced cursor. Workers wake on the indexer's checkpoint
 * notification and poll as a safety net (a notification is lost while a listener reconnects).
 */
import pg from "pg";
import type { Logger } from "pino";
import { CHECKPOINT_CHANNEL } from "../indexer/store/sql.ts";
import { readFacts, type Fact } from "./feed.ts";

export type FactConsumer = {
  /** Stable name: the cursor's key. Renaming a consumer replays the whole feed into it. */
  name: string;
  /**
   * Derives the consumer's effects from `facts` (in feed order) inside `tx`, the transaction that advances the
   * cursor past them. Throwing rolls back both; the facts are offered again.
   */
  apply(tx: pg.PoolClient, facts: Fact[]): Promise<void>;
  /**
   * Optional: work that depends on the indexed head rather than on new facts (pending points becoming available as
   * their facts get deep enough), run after each pass in its own transaction.
   */
  afterPass?(db: pg.Pool): Promise<unknown>;
};

/** Facts handled per transaction: large enough to amortise the commit, small enough to hold locks briefly. */
export const FACTS_PER_TRANSACTION = 500;

/**
 * Gives `consumer` the facts after its cursor, at most `limit`, in one transaction; returns how many it took (0 when
 * it is up to date).
 */
export async function consumeOnce(
  db: pg.Pool,
  chainId: number,
  consumer: FactConsumer,
  limit = FACTS_PER_TRANSACTION,
): Promise<number> {
  const tx = await db.connect();
  try {
    await tx.query("BEGIN");
    await tx.query(
      "INSERT INTO fact_cursor (consumer, chain_id) VALUES ($1, $2) ON CONFLICT (consumer, chain_id) DO NOTHING",
      [consumer.name, chainId],
    );
    const { rows } = await tx.query<{ seq: string }>(
      "SELECT seq::text FROM fact_cursor WHERE consumer = $1 AND chain_id = $2 FOR UPDATE",
      [consumer.name, chainId],
    );
    const facts = await readFacts(tx, chainId, BigInt(rows[0]!.seq), limit);
    if (facts.length === 0) {
      await tx.query("ROLLBACK");
      return 0;
    }
    await consumer.apply(tx, facts);
    await tx.query("UPDATE fact_cursor SET seq = $3, updated_at = now() WHERE consumer = $1 AND chain_id = $2", [
      consumer.name,
      chainId,
      facts.at(-1)!.seq.toString(),
    ]);
    await tx.query("COMMIT");
    return facts.length;
  } catch (error) {
    await tx.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    tx.release();
  }
}

/** Feeds `consumer` until it is up to date, then runs its afterPass; returns the facts it took. */
export async function catchUp(db: pg.Pool, chainId: number, consumer: FactConsumer): Promise<number> {
  let total = 0;
  for (let n = await consumeOnce(db, chainId, consumer); n > 0; n = await consumeOnce(db, chainId, consumer))
    total += n;
  await consumer.afterPass?.(db);
  return total;
}

export type FollowOptions = {
  db: pg.Pool;
  /** A direct connection string for LISTEN (not through a transaction-mode pooler). */
  listenUrl: string;
  chainId: number;
  consumers: FactConsumer[];
  /** The safety-net poll when no notification comes (default 2 s). */
  pollIntervalMs?: number;
  logger: Logger;
};

/**
 * Keeps every consumer up to date until `signal` aborts: a pass on start, on every checkpoint notification of the
 * chain, and every `pollIntervalMs`. A failing pass is logged and retried on the next wake-up, with the backoff of
 * the poll; it never ends the loop.
 */
export async function followFeed(options: FollowOptions, signal: AbortSignal): Promise<void> {
  const { db, chainId, consumers, logger } = options;
  const pollMs = options.pollIntervalMs ?? 2000;
  let wake: (() => void) | undefined;
  // Counts wake-ups, so one that arrives during a pass starts the next pass at once.
  let wakeups = 0;
  const nudge = () => {
    wakeups++;
    wake?.();
  };
  const listener = new Listener(options.listenUrl, chainId, nudge, logger);
  void listener.start(signal);
  signal.addEventListener("abort", nudge, { once: true });
  let failing = false;
  try {
    while (!signal.aborted) {
      const seen = wakeups;
      try {
        for (const consumer of consumers) await catchUp(db, chainId, consumer);
        if (failing) logger.info("fact consumers recovered");
        failing = false;
      } catch (err) {
        if (!failing) logger.error({ err }, "a fact consumer failed; retrying");
        failing = true;
      }
      if (wakeups !== seen || signal.aborted) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    await listener.stop();
  }
}

/** LISTEN on the checkpoint channel, reconnecting after a lost connection; calls `onNotice` for `chainId`'s moves. */
class Listener {
  private client: pg.Client | undefined;
  private stopped = false;
  private readonly url: string;
  private readonly chainId: number;
  private readonly onNotice: () => void;
  private readonly logger: Logger;
  constructor(url: string, chainId: number, onNotice: () => void, logger: Logger) {
    this.url = url;
    this.chainId = chainId;
    this.onNotice = onNotice;
    this.logger = logger;
  }

  async start(signal: AbortSignal) {
    while (!signal.aborted && !this.stopped) {
      const client = new pg.Client({ connectionString: this.url });
      const ended = new Promise<void>((resolve) => {
        client.once("end", resolve);
        client.once("error", () => resolve());
      });
      try {
        await client.connect();
        this.client = client;
        client.on("notification", (n) => {
          if (n.channel !== CHECKPOINT_CHANNEL || !n.payload) return;
          const { chainId } = JSON.parse(n.payload) as { chainId: number };
          if (chainId === this.chainId) this.onNotice();
        });
        await client.query(`LISTEN ${CHECKPOINT_CHANNEL}`);
        // Anything committed while no one listened is picked up by this pass.
        this.onNotice();
        await ended;
      } catch (err) {
        this.logger.debug({ err }, "checkpoint listener lost its connection; reconnecting");
      }
      this.client = undefined;
      await client.end().catch(() => {});
      if (!signal.aborted && !this.stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async stop() {
    this.stopped = true;
    await this.client?.end().catch(() => {});
  }
}
