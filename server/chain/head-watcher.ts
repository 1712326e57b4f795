import type { Logger } from "pino";
import { OutageLog } from "../lib/outage.ts";

/** The newest head seen, and when. */
export type ChainHead = { number: bigint; timestamp: bigint; observedAt: number };

export type ChainHeadState = {
  head: ChainHead | null;
  /** The last attempt to see the head succeeded, recently enough (within `staleAfterMs`). */
  reachable: boolean;
  /** Why not, when not. */
  error?: string;
};

/** What /health needs to know about the chain, without an RPC round trip of its own per request. */
export type ChainHeadSource = { state(): ChainHeadState };

type Rpc = { request<T>(method: string, params?: unknown[]): Promise<T> };

export type HeadWatcherOptions = {
  rpc: Rpc;
  /** Look at the head this often (default 1 s). */
  intervalMs?: number;
  /** A head older than this, or a failed last look, makes the chain unreachable (default 3 intervals + 2 s). */
  staleAfterMs?: number;
  /** Heads somebody else already fetched (the indexer in the same process): when fresh, no call is made. */
  known?: () => ChainHead | null;
  logger?: Logger;
};

/**
 * Keeps the chain's head for /health: every `intervalMs`, the head the in-process indexer saw (when it is fresh), or
 * else one `eth_getBlockByNumber` of its own with a short timeout; never more than one call in flight. /health
 * answers from this at once, so a hung or dead node cannot hold it (it took 63 s: a 10 s timeout, tried six times).
 */
export class HeadWatcher implements ChainHeadSource {
  private head: ChainHead | null = null;
  private lastFailure: { at: number; message: string } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inflight = false;
  private readonly intervalMs: number;
  private readonly staleAfterMs: number;
  private readonly outage: OutageLog | undefined;
  private readonly o: HeadWatcherOptions;

  constructor(o: HeadWatcherOptions) {
    this.o = o;
    this.intervalMs = o.intervalMs ?? 1000;
    this.staleAfterMs = o.staleAfterMs ?? 3 * this.intervalMs + 2000;
    this.outage = o.logger ? new OutageLog({ logger: o.logger, what: "chain RPC (health check)" }) : undefined;
  }

  start() {
    if (this.timer) return this;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Looks at the head once (start() does it every interval). */
  async tick() {
    const known = this.o.known?.();
    if (known && (!this.head || known.observedAt > this.head.observedAt)) this.head = known;
    if (
      this.head &&
      Date.now() - this.head.observedAt < this.intervalMs &&
      (!this.lastFailure || this.head.observedAt > this.lastFailure.at)
    )
      return;
    if (this.inflight) return;
    this.inflight = true;
    try {
      const block = await this.o.rpc.request<{ number: string; timestamp: string } | null>("eth_getBlockByNumber", [
        "latest",
        false,
      ]);
      if (!block) throw new Error("the node has no latest block");
      this.head = { number: BigInt(block.number), timestamp: BigInt(block.timestamp), observedAt: Date.now() };
      this.outage?.success();
    } catch (error) {
      this.lastFailure = { at: Date.now(), message: error instanceof Error ? error.message : String(error) };
      this.outage?.failure(error);
    } finally {
      this.inflight = false;
    }
  }

  state(): ChainHeadState {
    const known = this.o.known?.();
    if (known && (!this.head || known.observedAt > this.head.observedAt)) this.head = known;
    const head = this.head;
    const now = Date.now();
    if (!head) return { head, reachable: false, error: this.lastFailure?.message ?? "no head seen yet" };
    if (this.lastFailure && this.lastFailure.at > head.observedAt)
      return { head, reachable: false, error: this.lastFailure.message };
    if (now - head.observedAt > this.staleAfterMs)
      return { head, reachable: false, error: `no head seen for ${Math.round((now - head.observedAt) / 1000)} s` };
    return { head, reachable: true };
  }
}
