import { createServer, type RequestListener, type Server } from "node:http";

export type HttpServerTimeouts = {
  /** The handler deadline (see requestDeadline); Node's whole-request timeout is this plus the headers timeout. */
  requestTimeoutMs: number;
  /** A client has this long to send its headers (slow-loris). */
  headersTimeoutMs: number;
  /** Idle keep-alive connections close after this long. */
  keepAliveTimeoutMs: number;
};

/**
 * Listens with bounded timeouts: headers, the whole request, idle keep-alive connections. Node checks the first two
 * only every `connectionsCheckingInterval` (30 s by default), so that is tightened too.
 */
export function listen(app: RequestListener, port: number, host: string, t: HttpServerTimeouts): Promise<Server> {
  const server = createServer(
    {
      headersTimeout: t.headersTimeoutMs,
      requestTimeout: t.headersTimeoutMs + t.requestTimeoutMs,
      keepAliveTimeout: t.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, t.headersTimeoutMs),
    },
    app,
  );
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new Error(`Port ${port} on ${host} is already in use: stop what holds it, or set PORT to another port.`, {
              cause: error,
            })
          : error,
      );
    });
    server.listen(port, host, () => resolve(server));
  });
}
