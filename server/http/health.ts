import { Router } from "express";
import type { PublicClient } from "viem";
import { z } from "zod";
import type { OpenAPIRegistry } from "./openapi.ts";
import type { PrismaClient } from "../database/client.ts";
import { getIndexerProgress } from "../indexer/reads.ts";

/** The indexer may trail the head by this many blocks and still count as healthy. */
const MAX_HEALTHY_LAG = 10n;

export function describeHealthRoutes(registry: OpenAPIRegistry) {
  const health = z.object({
    ok: z.boolean(),
    chainId: z.number().int(),
    indexedBlock: z.string().nullable(),
    headBlock: z.string().nullable(),
    lagBlocks: z.string().nullable(),
    lagSeconds: z.number().int().nullable().describe("Head block time minus indexed block time"),
    stalled: z.boolean().describe("The indexer has not moved for stallSeconds while the head has"),
    lastProgressAt: z.string().nullable().describe("When the indexer last committed a batch (ISO 8601)"),
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

/** Default for `stallSeconds`: no committed batch for this long while the head is ahead means stalled. */
export const DEFAULT_STALL_SECONDS = 30;

/**
 * GET /health: `{ ok, chainId, indexedBlock, headBlock, lagBlocks, lagSeconds, stalled, lastProgressAt }`; 200
 * when the database and the chain answer, the indexer is within MAX_HEALTHY_LAG blocks of the head and not
 * stalled, else 503 with the same body. Stalled: the head is ahead of the indexed block (beyond the confirmations)
 * and no batch was committed for `stallSeconds`, so a stuck indexer shows instead of trailing silently.
 */
export function healthRouter(deps: {
  prisma: PrismaClient;
  publicClient: PublicClient;
  chainId: number;
  confirmations: number;
  stallSeconds?: number;
}) {
  const stallMs = (deps.stallSeconds ?? DEFAULT_STALL_SECONDS) * 1000;
  const router = Router();
  router.get("/health", async (_req, res) => {
    const [indexed, head] = await Promise.allSettled([
      getIndexerProgress(deps.prisma, deps.chainId),
      deps.publicClient.getBlock({ blockTag: "latest" }),
    ]);
    const progress = indexed.status === "fulfilled" ? indexed.value : null;
    const indexedBlock = progress?.blockNumber ?? null;
    const headBlock = head.status === "fulfilled" ? head.value.number : null;
    const lagBlocks = indexedBlock !== null && headBlock !== null ? headBlock - indexedBlock : null;
    const lagSeconds =
      progress?.blockTime && head.status === "fulfilled" ? Math.max(0, Number(head.value.timestamp) - Math.floor(progress.blockTime.getTime() / 1000)) : null;
    const stalled =
      progress !== null &&
      lagBlocks !== null &&
      lagBlocks > BigInt(deps.confirmations) &&
      Date.now() - progress.updatedAt.getTime() > stallMs;
    const ok =
      indexed.status === "fulfilled" &&
      lagBlocks !== null &&
      lagBlocks <= MAX_HEALTHY_LAG + BigInt(deps.confirmations) &&
      !stalled;
    res.status(ok ? 200 : 503).json({
      ok,
      chainId: deps.chainId,
      indexedBlock: indexedBlock?.toString() ?? null,
      headBlock: headBlock?.toString() ?? null,
      lagBlocks: lagBlocks?.toString() ?? null,
      lagSeconds,
      stalled,
      lastProgressAt: progress?.updatedAt.toISOString() ?? null,
      ...(indexed.status === "rejected" ? { database: "unreachable" } : {}),
      ...(head.status === "rejected" ? { chain: "unreachable" } : {}),
    });
  });
  return router;
}
