import type { Logger } from "pino";

export type OutageLogOptions = {
  logger: Logger;
  /** What is unavailable, as the log lines name it: "database", "chain RPC", "newHeads subscription". */
  what: string;
  /** While the outage lasts, one summary line this often (default 60 s). */
  summaryEveryMs?: number;
  /** Clock, for tests. */
  now?: () => number;
};

/**
 * Logs a dependency's outage as three kinds of line instead of one per failed attempt: its start (with the error),
 * a summary every `summaryEveryMs` while it lasts (attempts so far, the latest error's message), and its end (how long
 * it lasted). A loop retrying every 500 ms against a stopped database otherwise writes a stack trace per attempt.
 */
export class OutageLog {
  private since: number | undefined;
  private failures = 0;
  private lastSummary = 0;
  private lastMessage = "";
  private readonly o: OutageLogOptions;

  constructor(o: OutageLogOptions) {
    this.o = o;
  }

  private get now() {
    return (this.o.now ?? Date.now)();
  }

  /** True while an outage is being tracked (between the first failure and the next success). */
  get active(): boolean {
    return this.since !== undefined;
  }

  /** A failed attempt; `context` is logged with the first line only. */
  failure(error: unknown, context: Record<string, unknown> = {}) {
    const now = this.now;
    this.failures++;
    this.lastMessage = error instanceof Error ? error.message : String(error);
    if (this.since === undefined) {
      this.since = now;
      this.lastSummary = now;
      this.o.logger.warn(
        { ...context, err: error },
        `${this.o.what} unavailable; retrying (logged again every ${Math.round(this.summaryEveryMs / 1000)} s while it lasts, and when it ends)`,
      );
      return;
    }
    if (now - this.lastSummary >= this.summaryEveryMs) {
      this.lastSummary = now;
      this.o.logger.warn(
        { failures: this.failures, seconds: Math.round((now - this.since) / 1000), lastError: this.lastMessage },
        `${this.o.what} still unavailable`,
      );
    }
  }

  /** A successful attempt: ends the outage, if one was tracked. */
  success() {
    if (this.since === undefined) return;
    const seconds = Math.round((this.now - this.since) / 100) / 10;
    this.o.logger.info({ failures: this.failures, seconds }, `${this.o.what} available again after ${seconds} s`);
    this.since = undefined;
    this.failures = 0;
  }

  private get summaryEveryMs() {
    return this.o.summaryEveryMs ?? 60_000;
  }
}
