import { randomUUID } from "node:crypto";
import express from "express";
import type { Logger } from "pino";
import type { PublicClient } from "viem";
import { collectionsRouter, describeCollectionsRoutes } from "../collections/routes.ts";
import type { PrismaClient } from "../database/client.ts";
import { describeWalletsRoutes, walletsRouter } from "../wallets/routes.ts";
import { describeHealthRoutes, healthRouter } from "./health.ts";
import { metricsRouter } from "./metrics.ts";
import { buildOpenApiDocument, OpenAPIRegistry } from "./openapi.ts";
import { errorHandler, notFoundHandler } from "./problem.ts";

export type AppDeps = {
  prisma: PrismaClient;
  publicClient: PublicClient;
  chainId: number;
  confirmations: number;
  /** /health reports the indexer stalled after this long without progress while the head moves. */
  stallSeconds?: number;
  logger: Logger;
};

const REQUEST_ID = /^[A-Za-z0-9-]{8,64}$/;

/** The HTTP API. Stateless: every process built from the same deps answers alike, so it scales horizontally. */
export function createApp(deps: AppDeps) {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use((req, res, next) => {
    const incoming = req.get("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.set("x-request-id", requestId);
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      deps.logger.debug(
        { requestId, method: req.method, url: req.originalUrl, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 },
        "request",
      );
    });
    next();
  });
  app.use(express.json({ limit: "100kb" }));

  const registry = new OpenAPIRegistry();
  for (const describe of [describeHealthRoutes, describeCollectionsRoutes, describeWalletsRoutes]) describe(registry);
  const openapi = buildOpenApiDocument(registry);
  app.get("/openapi.json", (_req, res) => {
    res.json(openapi);
  });
  app.use(healthRouter(deps));
  app.use(metricsRouter());
  app.use(collectionsRouter(deps));
  app.use(walletsRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
