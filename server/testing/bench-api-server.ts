/**
 * The HTTP server bench:api loads, in a process of its own (the load generator runs in the bench's process, so the
 * two do not share a core's event loop). BENCH_SERVER picks what it serves, on DATABASE_URL, at 127.0.0.1 on a free
 * port, and it tells its parent the URL over IPC once listening:
 * - `app`: the API as `npm run server` builds it (createApp: every middleware, the route layer, the rate limiter
 *   counting in PostgreSQL), with BENCH_RATE_LIMIT requests per minute per IP, and its access log unless BENCH_ACCESS_LOG=off;
 * - `fixed`: a bare Express app with one route answering fixed JSON (the floor of Express itself);
 * - `raw-holdings`: a bare Express app answering GET /v1/wallets/:address/holdings with one raw `pg` query, the same
 *   SQL the catalog's getHoldings runs (holdingsQuery, prepared the same way), on a pool of the same size as the API's.
 * Logs go to stdout at LOG_LEVEL (default info, as in production).
 */
import express from "express";
import pg from "pg";
import { prepared } from "../catalog/cursor.ts";
import { holdingsQuery } from "../catalog/ownership.ts";
import { createPrisma } from "../database/client.ts";
import { createApp } from "../http/app.ts";
import { listen } from "../http/server.ts";
import { createLogger } from "../lib/logger.ts";

const mode = process.env.BENCH_SERVER ?? "app";

const databaseUrl = process.env.DATABASE_URL!;
const chainId = Number(process.env.BENCH_CHAIN_ID ?? 31337);
const logger = createLogger((process.env.LOG_LEVEL as "info") ?? "info");
const timeouts = { requestTimeoutMs: 10_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 60_000 };
const POOL_SIZE = 10;

let app: express.Express;
let close: () => Promise<void>;
if (mode === "app") {
  const prisma = createPrisma(databaseUrl, { max: POOL_SIZE, connectTimeoutMs: 5000, statementTimeoutMs: 5000 });
  const perMinute = Number(process.env.BENCH_RATE_LIMIT ?? 10_000_000);
  app = createApp({
    prisma,
    chainHead: { state: () => ({ head: null, reachable: true }) },
    chainId,
    confirmations: 0,
    rateLimits: { ipPerMinute: perMinute, walletPerMinute: perMinute },
    accessLog: process.env.BENCH_ACCESS_LOG !== "off",
    logger: logger.child({ component: "http" }),
  });
  close = () => prisma.$disconnect();
} else if (mode === "fixed") {
  app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const body = { ok: true, items: [{ collection: "0x0000000000000000000000000000000000000001", amount: "1" }] };
  app.get("/fixed", (_req, res) => void res.json(body));
  close = () => Promise.resolve();
} else if (mode === "raw-holdings") {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: POOL_SIZE });
  app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  // The same named statement getHoldings prepares: the floor pays what the route pays for the query, no more.
  const statement = prepared(holdingsQuery(false));
  app.get("/v1/wallets/:address/holdings", async (req, res) => {
    const { rows } = await pool.query(statement, [chainId, req.params.address.toLowerCase(), null, null, 51]);
    res.json({ items: rows });
  });
  close = () => pool.end();
} else {
  throw new Error(`BENCH_SERVER must be app, fixed or raw-holdings, not ${mode}`);
}

const server = await listen(app, 0, "127.0.0.1", timeouts);
const address = server.address();
const port = typeof address === "object" && address ? address.port : 0;
process.send?.({ url: `http://127.0.0.1:${port}` });
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void close().finally(() => process.exit(0));
});
