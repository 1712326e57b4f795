import { randomUUID } from "node:crypto";
import express, { Router } from "express";
import type { Logger } from "pino";
import type { ChainHeadSource } from "../chain/head-watcher.ts";
import { collectionsRouter, describeCollectionsRoutes } from "../collections/routes.ts";
import type { PrismaClient } from "../database/client.ts";
import { describeWalletsRoutes, walletsRouter } from "../wallets/routes.ts";
import { refuseOversizedBodies } from "./body.ts";
import { requestDeadline } from "./deadline.ts";
import { describeHealthRoutes, healthRouter } from "./health.ts";
import { methodNotAllowed, routesOf } from "./methods.ts";
import { metricsRouter } from "./metrics.ts";
import { buildOpenApiDocument, OpenAPIRegistry } from "./openapi.ts";
import { errorHandler, notFoundHandler } from "./problem.ts";
import { OutageLog } from "../lib/outage.ts";

export type AppDeps = {
  prisma: PrismaClient;
  /** The chain's head as last seen (a HeadWatcher): /health never waits on the chain itself. */
  chainHead: ChainHeadSource;
  chainId: number;
  confirmations: number;
  /** /health reports the indexer stalled after this long without progress while the head moves. */
  stallSeconds?: number;
  /** Every request is answered within this long (default 10 s): a 504 problem when its route has not by then. */
  requestTimeoutMs?: number;
  logger: Logger;
};

const REQUEST_ID = /^[A-Za-z0-9-]{8,64}$/;

/** The HTTP API. Stateless: every process built from the same deps answers alike, so it scales horizontally. */
export function createApp(deps: AppDeps) {
  const app = express();
  // Requests that meet a database outage log it once; the next request answered without a server error ends it.
  const databaseOutage = new OutageLog({ logger: deps.logger, what: "database (API)" });
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use((req, res, next) => {
    const incoming = req.get("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.set("x-request-id", requestId);
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      if (databaseOutage.active && res.statusCode < 500 && req.path.startsWith("/v1/")) databaseOutage.success();
      deps.logger.debug(
        { requestId, method: req.method, url: req.originalUrl, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 },
        "request",
      );
    });
    next();
  });
  app.use(requestDeadline(deps.requestTimeoutMs ?? 10_000));
  // No route takes a body yet: none is parsed (a route that takes one mounts jsonBody() itself), and a declared
  // length beyond what any route could accept is refused before it is read.
  app.use(refuseOversizedBodies());

  const registry = new OpenAPIRegistry();
  for (const describe of [describeHealthRoutes, describeCollectionsRoutes, describeWalletsRoutes]) describe(registry);
  const openapi = buildOpenApiDocument(registry);
  const docs = Router();
  docs.get("/openapi.json", (_req, res) => {
    res.json(openapi);
  });
  const routers = [docs, healthRouter(deps), metricsRouter(), collectionsRouter(deps), walletsRouter(deps)];
  for (const router of routers) app.use(router);
  app.use(methodNotAllowed(routers.flatMap(routesOf)));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger, databaseOutage));
  return app;
}
