import { z } from "zod";
import { metricsRegistry } from "../indexer/metrics.ts";
import { defineRoute, type RouteDeclaration } from "./route.ts";

/**
 * GET /metrics: Prometheus text format from this process's registry (Node's defaults, plus the indexer's metrics
 * when the indexer runs in this process: indexed and head block, lag, events, batches, reorgs, RPC faults).
 */
export function metricsRoutes(): RouteDeclaration[] {
  const metrics = defineRoute({
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics of this process",
    tags: ["platform"],
    role: "public",
    responses: {
      200: { description: "Prometheus text exposition format", schema: z.string(), contentType: "text/plain" },
    },
    async handler({ res }) {
      res.set("content-type", metricsRegistry.contentType);
      res.send(await metricsRegistry.metrics());
    },
  });
  return [metrics];
}
