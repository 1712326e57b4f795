import type { Logger } from "pino";

export type HeadSubscriptionOptions = {
  url: string;
  /** Called on every `newHeads` notification (and once when a lost subscription is back). */
  onHead: () => void;
  logger: Logger;
  /** First reconnect delay (default 500 ms); doubled per failed attempt up to `maxDelayMs` (default 30 s), with jitter. */
  minDelayMs?: number;
  maxDelayMs?: number;
};

/** The URL without credentials, path or query (API keys live there), for logs. */
function describe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * A `newHeads` subscription over WebSocket that wakes the live loop as soon as a block is announced. It is only a
 * shortcut: the loop polls anyway, so while the subscription is down blocks still arrive, a poll interval later.
 * A lost or refused connection reconnects with capped exponential backoff; the loss is logged once, its end once.
 * (The error listener used to call close(), which fired error again: the stack overflowed and the process died.)
 */
export class HeadSubscription {
  private ws: WebSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private lostAt: number | undefined;
  private closed = false;
  private readonly o: HeadSubscriptionOptions;

  constructor(o: HeadSubscriptionOptions) {
    this.o = o;
  }

  /** True while subscribed (the node confirmed the subscription and the socket is open). */
  subscribed = false;

  start() {
    this.connect();
    return this;
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = undefined;
    this.subscribed = false;
    if (ws && ws.readyState !== WebSocket.CLOSED && ws.readyState !== WebSocket.CLOSING) ws.close();
  }

  private connect() {
    if (this.closed) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.o.url);
    } catch (error) {
      this.lost(error);
      return;
    }
    this.ws = ws;
    let refusal: string | undefined;
    let ended = false;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
    });
    ws.addEventListener("message", (event) => {
      if (ended) return;
      if (!this.subscribed) {
        // The first answer is the subscription's: its id, or the node's refusal.
        let answer: { id?: unknown; result?: unknown; error?: { message?: unknown } } = {};
        try {
          answer = JSON.parse(String(event.data)) as typeof answer;
        } catch {
          // not JSON: treated as a refusal below
        }
        if (answer.id === 1 && typeof answer.result === "string") {
          this.subscribed = true;
          this.attempts = 0;
          if (this.lostAt !== undefined) {
            this.o.logger.info(
              { url: describe(this.o.url), downSeconds: Math.round((Date.now() - this.lostAt) / 100) / 10 },
              "newHeads subscription restored",
            );
            this.lostAt = undefined;
            this.o.onHead(); // a head may have come and gone meanwhile
          }
          return;
        }
        if (answer.id === 1) {
          const reason = answer.error?.message;
          refusal = `eth_subscribe refused: ${typeof reason === "string" ? reason : JSON.stringify(answer).slice(0, 200)}`;
          ws.close();
          return;
        }
      }
      this.o.onHead();
    });
    // A failed connection attempt fires `error` and, in Node's WebSocket, no `close` after it; an open connection
    // that fails fires both. Whichever comes first ends this connection, once. Never close() from the error listener:
    // on a socket that is still connecting that fails it again, firing `error` again, until the stack overflows.
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      if (this.ws === ws) this.ws = undefined;
      this.subscribed = false;
      if (this.closed) return;
      this.lost(new Error(refusal ?? reason));
    };
    ws.addEventListener("error", (event) => {
      end(`connection failed${(event as ErrorEvent).message ? `: ${(event as ErrorEvent).message}` : ""}`);
      // An open socket that failed is closed later, outside this listener (see above).
      if (ws.readyState === WebSocket.OPEN) setImmediate(() => ws.close());
    });
    ws.addEventListener("close", (event) =>
      end(`connection closed (code ${event.code}${event.reason ? `, ${event.reason}` : ""})`),
    );
  }

  /** Notes the loss (logged once per outage) and schedules the next attempt. */
  private lost(error: unknown) {
    if (this.closed) return;
    if (this.lostAt === undefined) {
      this.lostAt = Date.now();
      this.o.logger.warn(
        { url: describe(this.o.url), reason: error instanceof Error ? error.message : String(error) },
        "newHeads subscription lost; polling until it is back (reconnecting with backoff)",
      );
    }
    clearTimeout(this.timer);
    const base = Math.min(this.o.maxDelayMs ?? 30_000, (this.o.minDelayMs ?? 500) * 2 ** Math.min(this.attempts, 10));
    this.attempts++;
    this.timer = setTimeout(() => this.connect(), base * (0.5 + Math.random() / 2));
    this.timer.unref();
  }
}
