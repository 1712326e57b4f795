import { Router } from "express";
import { metricsRegistry } from "../indexer/metrics.ts";

/**
 * GET /metrics: Prometheus text format from this process's registry (Node's defaults, plus the indexer's metrics
 * when the indexer runs in this process: indexed and head block, lag, events, batches, reorgs, RPC faults).
 */
export function metricsRouter() {
  const router = Router();
  router.get("/metrics", async (_req, res) => {
    res.set("content-type", metricsRegistry.contentType);
    res.send(await metricsRegistry.metrics());
  });
  return router;
}
