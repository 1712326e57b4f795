import { randomUUID } from "node:crypto";
import cors from "cors";
import express from "express";
import helmet from "helmet";
import type pg from "pg";
import type { Logger } from "pino";
import type { PublicClient } from "viem";
import { authRoutes } from "../auth/routes.ts";
import { AuthService, type AuthSettings } from "../auth/service.ts";
import type { ChainHeadSource } from "../chain/head-watcher.ts";
import { allowlistRoutes } from "../allowlists/routes.ts";
import { catalogRoutes } from "../catalog/routes.ts";
import { metadataRoutes } from "../metadata/routes.ts";
import { collectionsRoutes } from "../collections/routes.ts";
import { DEFAULT_VOUCHER_TTL_SECONDS, type EnqueueInTransaction } from "../loyalty/redemptions.ts";
import { loyaltyRoutes } from "../loyalty/routes.ts";
import type { VoucherSigner } from "../loyalty/voucher-signer.ts";
import { bindAtSignIn } from "../referrals/bindings.ts";
import { referralRoutes } from "../referrals/routes.ts";
import { poolOf, type PrismaClient } from "../database/client.ts";
import { OutageLog } from "../lib/outage.ts";
import { DEFAULT_BODY_LIMIT_BYTES, refuseOversizedBodies } from "./body.ts";
import { requestDeadline } from "./deadline.ts";
import { docsAssets, docsRoutes } from "./docs.ts";
import { healthRoutes } from "./health.ts";
import { methodNotAllowed } from "./methods.ts";
import { metricsRoutes } from "./metrics.ts";
import { buildOpenApiDocument, OpenAPIRegistry } from "./openapi.ts";
import { errorHandler, notFoundHandler } from "./problem.ts";
import { createRateLimiter, type RateLimits } from "./rate-limit.ts";
import { describeRoutes, mountRoutes, routeMethods, type RouteDeclaration, type RouteServices } from "./route.ts";

export type AppDeps = {
  prisma: PrismaClient;
  /**
   * A read replica's pool (DATABASE_READ_URL): the catalog's public reads, which state the block they answer at
   * (`asOfBlock`), go there, and /health reports its lag. Default: the primary. Everything else (sign-in, sessions,
   * API keys, rate limits, allowlists, metadata, partner routes) reads its own writes on the primary.
   */
  readDb?: pg.Pool;
  /** The chain: for smart-contract wallets' sign-in signatures (EIP-1271, ERC-6492). */
  publicClient?: PublicClient;
  /** The chain's head as last seen (a HeadWatcher): /health never waits on the chain itself. */
  chainHead: ChainHeadSource;
  chainId: number;
  /** The data folder (PERKMINT_DATA_DIR): uploaded images live under it. */
  dataDir?: string;
  /** Where the index starts: holdings as of an earlier block cannot be answered. */
  startBlock?: bigint;
  confirmations: number;
  /** /health reports the indexer stalled after this long without progress while the head moves. */
  stallSeconds?: number;
  /** Every request is answered within this long (default 10 s): a 504 problem when its route has not by then. */
  requestTimeoutMs?: number;
  /** Sign-in and sessions; defaults suit a local run at http://127.0.0.1:3000. */
  auth?: Partial<Omit<AuthSettings, "chainId">>;
  rateLimits?: RateLimits;
  /** Proxy hops whose X-Forwarded-For to trust (behind a load balancer). */
  trustProxyHops?: number;
  /** Redemptions: the voucher signer and the job queue's transactional enqueue (without them, redemptions 503). */
  loyalty?: { signer?: VoucherSigner; enqueue?: EnqueueInTransaction; voucherTtlSeconds?: number };
  /** Check every JSON answer against its route's declared schema (tests). */
  checkResponses?: boolean;
  logger: Logger;
  /** The access log (one line per request, 2xx at debug); false for none — bench:api measures what it costs. */
  accessLog?: boolean;
};

const REQUEST_ID = /^[A-Za-z0-9-]{8,64}$/;

/** Defaults that a real UI never hits (a page load is a handful of requests). */
export const DEFAULT_RATE_LIMITS: RateLimits = { ipPerMinute: 1200, walletPerMinute: 600 };

/** Every route the API serves, declared once (see route.ts). */
export function apiRoutes(
  deps: AppDeps,
  auth: AuthService,
  settings: AuthSettings,
  document: () => unknown,
): RouteDeclaration[] {
  return [
    ...docsRoutes(document),
    ...healthRoutes(deps),
    ...metricsRoutes(),
    ...authRoutes({
      auth,
      settings,
      prisma: deps.prisma,
      chainId: deps.chainId,
      bindReferral: (input) => bindAtSignIn(poolOf(deps.prisma), deps.chainId, input),
    }),
    ...collectionsRoutes(deps),
    ...allowlistRoutes({ db: poolOf(deps.prisma), chainId: deps.chainId }),
    ...metadataRoutes({
      db: poolOf(deps.prisma),
      chainId: deps.chainId,
      publicUrl: settings.publicUrl,
      dataDir: deps.dataDir ?? ".perkmint",
    }),
    ...loyaltyRoutes({
      db: poolOf(deps.prisma),
      chainId: deps.chainId,
      ...deps.loyalty,
      voucherTtlSeconds: deps.loyalty?.voucherTtlSeconds ?? DEFAULT_VOUCHER_TTL_SECONDS,
    }),
    ...referralRoutes({ db: poolOf(deps.prisma), chainId: deps.chainId, publicUrl: settings.publicUrl }),
    ...catalogRoutes({
      db: deps.readDb ?? poolOf(deps.prisma),
      chainId: deps.chainId,
      ...(deps.startBlock !== undefined ? { startBlock: deps.startBlock } : {}),
    }),
  ];
}

/** The HTTP API. Stateless: every process built from the same deps answers alike, so it scales horizontally. */
export function createApp(deps: AppDeps) {
  const app = express();
  // Requests that meet a database outage log it once; the next request answered without a server error ends it.
  const databaseOutage = new OutageLog({ logger: deps.logger, what: "database (API)" });
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("trust proxy", deps.trustProxyHops ?? 0);
  const settings: AuthSettings = {
    publicUrl: deps.auth?.publicUrl ?? "http://127.0.0.1:3000",
    corsOrigins: deps.auth?.corsOrigins ?? [],
    operators: (deps.auth?.operators ?? []).map((a) => a.toLowerCase()),
    sessionTtlSeconds: deps.auth?.sessionTtlSeconds ?? 7 * 24 * 3600,
    sessionIdleSeconds: deps.auth?.sessionIdleSeconds ?? 24 * 3600,
    chainId: deps.chainId,
  };
  const auth = new AuthService({ prisma: deps.prisma, publicClient: deps.publicClient as PublicClient, settings });
  const limit = createRateLimiter(poolOf(deps.prisma), deps.rateLimits ?? DEFAULT_RATE_LIMITS);
  const services: RouteServices = {
    authenticate: (req) => auth.authenticate(req),
    async collectionOwner(collection) {
      const row = await deps.prisma.collection.findUnique({
        where: { chainId_address: { chainId: deps.chainId, address: collection.toLowerCase() } },
        select: { owner: true },
      });
      return row?.owner.toLowerCase() ?? null;
    },
    // The versioned API only: /health, /metrics and the docs must answer even while the database (which keeps the
    // counters) is down.
    rateLimit: (req, caller) => (req.path.startsWith("/v1/") ? limit(req, caller) : Promise.resolve()),
  };

  // One access-log line per request, carrying its request id: the method, the URL, the status and the time only,
  // never a header (cookies, bearer tokens) nor a body (signatures). Server errors log as errors, refusals as info,
  // the rest at debug. Written from the one `finish` listener every request has anyway: pino-http's per-request child
  // logger cost a third of the holdings route's throughput (bench:api, quiet machine: 1,276 against 1,812 req/s).
  const log = deps.accessLog === false ? undefined : deps.logger;
  app.use((req, res, next) => {
    const incoming = req.get("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const started = performance.now();
    res.locals.requestId = requestId;
    res.set("x-request-id", requestId);
    res.on("finish", () => {
      const status = res.statusCode;
      if (databaseOutage.active && status < 500 && req.path.startsWith("/v1/")) databaseOutage.success();
      const level = status >= 500 ? "error" : status >= 400 ? "info" : "debug";
      if (log?.isLevelEnabled(level))
        log[level](
          {
            req: { id: requestId, method: req.method, url: req.originalUrl },
            res: { status },
            responseTime: Math.round(performance.now() - started),
          },
          status >= 500 ? "request failed" : "request completed",
        );
    });
    next();
  });
  // helmet's headers (CSP, HSTS outside plain-http, nosniff, frame denial, ...); CORS only for CORS_ORIGINS.
  app.use(helmet({ strictTransportSecurity: !settings.publicUrl.startsWith("http:") }));
  app.use(cors({ origin: settings.corsOrigins, credentials: true, exposedHeaders: ["x-request-id", "retry-after"] }));
  app.use(requestDeadline(deps.requestTimeoutMs ?? 10_000));
  // The document describes the routes, /openapi.json among them: built once they are all declared.
  const described: { document?: unknown } = {};
  const routes = apiRoutes(deps, auth, settings, () => described.document);
  // Only routes that take a body parse one (their declaration says so, with its own limit), and a declared length
  // beyond what any route could accept is refused before it is read.
  const largestBody = Math.max(
    DEFAULT_BODY_LIMIT_BYTES,
    ...routes.map((r) => r.rawBody?.limitBytes ?? r.bodyLimitBytes ?? 0),
  );
  app.use(refuseOversizedBodies(largestBody));
  app.use("/docs/assets", ...docsAssets());
  const registry = new OpenAPIRegistry();
  describeRoutes(registry, routes);
  described.document = buildOpenApiDocument(registry, { serverUrl: settings.publicUrl });
  mountRoutes(app, routes, { services, checkResponses: deps.checkResponses });
  app.use(methodNotAllowed(routeMethods(routes)));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger, databaseOutage));
  return Object.assign(app, { routes });
}
