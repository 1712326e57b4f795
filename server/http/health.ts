import { z } from "zod";
import type { ChainHeadSource } from "../chain/head-watcher.ts";
import type { PrismaClient } from "../database/client.ts";
import { readReplicaState } from "../database/replica.ts";
import type { Queryable } from "../indexer/store/sql.ts";
import { getIndexerProgress } from "../indexer/reads.ts";
import { defineRoute, type RouteDeclaration } from "./route.ts";

/** The indexer may trail the head by this many blocks and still count as healthy. */
const MAX_HEALTHY_LAG = 10n;

export const replicaHealthSchema = z
  .object({
    database: z.enum(["ok", "unreachable"]).describe("Whether the read replica answered this health check in time"),
    indexedBlock: z.string().nullable().describe("The indexer checkpoint the replica has replayed"),
    lagBlocks: z.string().nullable().describe("The primary's indexed block minus the replica's"),
    lagSeconds: z
      .number()
      .int()
      .nullable()
      .describe("WAL replay lag of a streaming standby (0 when caught up); null when the replica is not a standby"),
  })
  .meta({ id: "ReplicaHealth" });

export const healthSchema = z
  .object({
    ok: z.boolean(),
    chainId: z.number().int(),
    indexedBlock: z.string().nullable(),
    headBlock: z.string().nullable().describe("The newest head seen (kept up to date in the background)"),
    lagBlocks: z.string().nullable(),
    lagSeconds: z.number().int().nullable().describe("Head block time minus indexed block time"),
    stalled: z.boolean().describe("The indexer has not moved for stallSeconds while the head has"),
    lastProgressAt: z.string().nullable().describe("When the indexer last committed a batch (ISO 8601)"),
    database: z.enum(["ok", "unreachable"]).describe("Whether the database answered this health check in time"),
    chain: z.enum(["ok", "unreachable"]).describe("Whether the chain's head was seen lately"),
    headSeenAt: z.string().nullable().describe("When headBlock was seen (ISO 8601)"),
    replica: replicaHealthSchema
      .nullable()
      .describe("The read replica the catalog's reads go to (DATABASE_READ_URL); null when none is configured"),
  })
  .meta({ id: "Health" });

/** Default for `stallSeconds`: no committed batch for this long while the head is ahead means stalled. */
export const DEFAULT_STALL_SECONDS = 30;

/** The database's part of a health check gives up after this long (then `database: "unreachable"`). */
export const DEFAULT_HEALTH_DATABASE_TIMEOUT_MS = 1500;

class DeadlineError extends Error {}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineError(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * GET /health: `{ ok, chainId, indexedBlock, headBlock, lagBlocks, lagSeconds, stalled, lastProgressAt, database,
 * chain, headSeenAt, replica }`; 200 when the database answers, the chain's head was seen lately, the indexer is within
 * MAX_HEALTHY_LAG blocks of the head and not stalled, and a configured read replica (`readDb`) answers within
 * MAX_HEALTHY_LAG blocks of the primary's index, else 503 with the same body. It answers within about
 * `databaseTimeoutMs`: the head comes from `chainHead` (kept in the background), never from an RPC call of its own,
 * and the database gets that long. Stalled: the head is ahead of the indexed block (beyond the confirmations) and no
 * batch was committed for `stallSeconds`, so a stuck indexer shows instead of trailing silently.
 */
export function healthRoutes(deps: {
  prisma: PrismaClient;
  chainHead: ChainHeadSource;
  chainId: number;
  confirmations: number;
  stallSeconds?: number;
  databaseTimeoutMs?: number;
  /** The read replica the catalog reads from, when one is configured. */
  readDb?: Queryable;
}): RouteDeclaration[] {
  const stallMs = (deps.stallSeconds ?? DEFAULT_STALL_SECONDS) * 1000;
  const databaseTimeoutMs = deps.databaseTimeoutMs ?? DEFAULT_HEALTH_DATABASE_TIMEOUT_MS;
  const health = defineRoute({
    method: "get",
    path: "/health",
    summary: "Liveness of the database, the chain and the indexer",
    tags: ["platform"],
    role: "public",
    responses: {
      200: { description: "Healthy", schema: healthSchema },
      503: { description: "Unhealthy (same body)", schema: healthSchema },
    },
    async handler() {
      const answered = <T>(promise: Promise<T>) =>
        within(promise, databaseTimeoutMs).then(
          (value) => ({ ok: true as const, value }),
          () => ({ ok: false as const, value: null }),
        );
      const [indexed, replicaState] = await Promise.all([
        answered(getIndexerProgress(deps.prisma, deps.chainId)),
        deps.readDb ? answered(readReplicaState(deps.readDb, deps.chainId)) : undefined,
      ]);
      const chain = deps.chainHead.state();
      const progress = indexed.value;
      const indexedBlock = progress?.blockNumber ?? null;
      const head = chain.head;
      const headBlock = head?.number ?? null;
      const lagBlocks =
        indexedBlock !== null && headBlock !== null ? (headBlock > indexedBlock ? headBlock - indexedBlock : 0n) : null;
      const lagSeconds =
        progress?.blockTime && head
          ? Math.max(0, Number(head.timestamp) - Math.floor(progress.blockTime.getTime() / 1000))
          : null;
      const stalled =
        progress !== null &&
        lagBlocks !== null &&
        lagBlocks > BigInt(deps.confirmations) &&
        Date.now() - progress.updatedAt.getTime() > stallMs;
      const replicaIndexed = replicaState?.value?.indexedBlock ?? null;
      const replicaLag =
        indexedBlock !== null && replicaIndexed !== null
          ? indexedBlock > replicaIndexed
            ? indexedBlock - replicaIndexed
            : 0n
          : null;
      // A replica that is down, or trails the primary's index as far as an unhealthy indexer trails the head, makes
      // the catalog's answers fail or go stale: that is unhealthy too.
      const replicaOk =
        replicaState === undefined || (replicaState.ok && replicaLag !== null && replicaLag <= MAX_HEALTHY_LAG);
      const ok =
        indexed.ok &&
        chain.reachable &&
        lagBlocks !== null &&
        lagBlocks <= MAX_HEALTHY_LAG + BigInt(deps.confirmations) &&
        !stalled &&
        replicaOk;
      return {
        status: ok ? 200 : 503,
        body: {
          ok,
          chainId: deps.chainId,
          indexedBlock: indexedBlock?.toString() ?? null,
          headBlock: headBlock?.toString() ?? null,
          lagBlocks: lagBlocks?.toString() ?? null,
          lagSeconds,
          stalled,
          lastProgressAt: progress?.updatedAt.toISOString() ?? null,
          database: indexed.ok ? "ok" : "unreachable",
          chain: chain.reachable ? "ok" : "unreachable",
          headSeenAt: head ? new Date(head.observedAt).toISOString() : null,
          replica: replicaState
            ? {
                database: replicaState.ok ? ("ok" as const) : ("unreachable" as const),
                indexedBlock: replicaIndexed?.toString() ?? null,
                lagBlocks: replicaLag?.toString() ?? null,
                lagSeconds: replicaState.value?.replayLagSeconds ?? null,
              }
            : null,
        },
      };
    },
  });
  return [health];
}
