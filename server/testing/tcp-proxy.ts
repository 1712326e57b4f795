import net from "node:net";
import { findFreePort } from "../lib/ports.ts";

export type TcpProxy = {
  port: number;
  /** http://127.0.0.1:port and ws://127.0.0.1:port */
  httpUrl: string;
  wsUrl: string;
  /** Connections open now, by kind (a WebSocket upgrade starts with GET; JSON-RPC over HTTP POSTs). */
  open(): { ws: number; http: number };
  /**
   * What a dead node looks like from outside: the listening socket closes (connections are refused) and every open
   * connection is reset. `up()` listens again on the same port.
   */
  down(): Promise<void>;
  up(): Promise<void>;
  /** Resets every open WebSocket connection; with `refuse`, new WebSocket connections are reset too until `acceptWebSockets()`. */
  dropWebSockets(options?: { refuse?: boolean }): void;
  acceptWebSockets(): void;
  close(): Promise<void>;
};

/**
 * A loopback TCP proxy in front of a node's port (HTTP and WebSocket on one port, as hardhat node serves them), for
 * faults a client must survive: the node gone (refused and reset connections) and its WebSocket dropped while HTTP
 * still works.
 */
export async function startTcpProxy(upstreamPort: number, port?: number): Promise<TcpProxy> {
  const listenPort = port ?? (await findFreePort());
  const sockets = new Map<net.Socket, { kind: "ws" | "http" | "unknown"; peer: net.Socket }>();
  let refuseWs = false;
  let server: net.Server | undefined;

  const onConnection = (client: net.Socket) => {
    const upstream = net.connect(upstreamPort, "127.0.0.1");
    const entry = { kind: "unknown" as "ws" | "http" | "unknown", peer: upstream };
    sockets.set(client, entry);
    const end = () => {
      sockets.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.once("data", (first: Buffer) => {
      entry.kind = first.subarray(0, 4).toString("latin1") === "GET " ? "ws" : "http";
      if (entry.kind === "ws" && refuseWs) return end();
      upstream.write(first);
      client.pipe(upstream);
    });
    upstream.pipe(client);
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer(onConnection);
      server.once("error", reject);
      server.listen(listenPort, "127.0.0.1", () => resolve());
    });
  const resetAll = (kind?: "ws") => {
    for (const [client, e] of sockets) {
      if (kind && e.kind !== kind) continue;
      sockets.delete(client);
      client.resetAndDestroy();
      e.peer.destroy();
    }
  };
  const stopListening = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      if (!s) return resolve();
      s.close(() => resolve());
    });

  await listen();
  return {
    port: listenPort,
    httpUrl: `http://127.0.0.1:${listenPort}`,
    wsUrl: `ws://127.0.0.1:${listenPort}`,
    open() {
      let ws = 0;
      let http = 0;
      for (const e of sockets.values()) {
        if (e.kind === "ws") ws++;
        else if (e.kind === "http") http++;
      }
      return { ws, http };
    },
    async down() {
      const closed = stopListening();
      resetAll();
      await closed;
    },
    async up() {
      if (!server) await listen();
    },
    dropWebSockets(options = {}) {
      if (options.refuse) refuseWs = true;
      resetAll("ws");
    },
    acceptWebSockets() {
      refuseWs = false;
    },
    async close() {
      const closed = stopListening();
      resetAll();
      await closed;
    },
  };
}
