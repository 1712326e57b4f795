import { Router } from "express";
import type { PublicClient } from "viem";
import { z } from "zod";
import type { OpenAPIRegistry } from "./openapi.ts";
import type { PrismaClient } from "../database/client.ts";
import { getIndexedBlock } from "../indexer/reads.ts";

/** The indexer may trail the head by this many blocks and still count as healthy. */
const MAX_HEALTHY_LAG = 10n;

export function describeHealthRoutes(registry: OpenAPIRegistry) {
  const health = z.object({
    ok: z.boolean(),
    chainId: z.number().int(),
    indexedBlock: z.string().nullable(),
    headBlock: z.string().nullable(),
    lagBlocks: z.string().nullable(),
  });
  registry.registerPath({
    method: "get",
    path: "/health",
    summary: "Liveness of the database, the chain and the indexer",
    "x-required-role": "public",
    responses: {
      200: { description: "Healthy", content: { "application/json": { schema: health } } },
      503: { description: "Unhealthy (same body)", content: { "application/json": { schema: health } } },
    },
  });
}

/**
 * GET /health: `{ ok, chainId, indexedBlock, headBlock, lagBlocks }`; 200 when the database and the chain answer
 * and the indexer is within MAX_HEALTHY_LAG blocks of the head, else 503 with the same body.
 */
export function healthRouter(deps: { prisma: PrismaClient; publicClient: PublicClient; chainId: number; confirmations: number }) {
  const router = Router();
  router.get("/health", async (_req, res) => {
    const [indexed, head] = await Promise.allSettled([
      getIndexedBlock(deps.prisma, deps.chainId),
      deps.publicClient.getBlockNumber({ cacheTime: 0 }),
    ]);
    const indexedBlock = indexed.status === "fulfilled" ? indexed.value : null;
    const headBlock = head.status === "fulfilled" ? head.value : null;
    const lagBlocks = indexedBlock !== null && headBlock !== null ? headBlock - indexedBlock : null;
    const ok =
      indexed.status === "fulfilled" &&
      lagBlocks !== null &&
      lagBlocks <= MAX_HEALTHY_LAG + BigInt(deps.confirmations);
    res.status(ok ? 200 : 503).json({
      ok,
      chainId: deps.chainId,
      indexedBlock: indexedBlock?.toString() ?? null,
      headBlock: headBlock?.toString() ?? null,
      lagBlocks: lagBlocks?.toString() ?? null,
      ...(indexed.status === "rejected" ? { database: "unreachable" } : {}),
      ...(head.status === "rejected" ? { chain: "unreachable" } : {}),
    });
  });
  return router;
}
