import { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";
import { PrismaClient } from "../generated/prisma/client.ts";
import { createPool, type PoolTimeouts } from "./pool.ts";

export type { PrismaClient };

export type PrismaOptions = PoolTimeouts & {
  /** Connections in the pool (default 10, node-postgres' own default). */
  max?: number;
  /** PostgreSQL ended an idle pooled connection (a restart, a crash): the pool replaces it when next needed. */
  onIdleError?: (error: Error) => void;
};

/**
 * Prisma client over node-postgres (Prisma 7's driver adapter; no native engine needed), on a pool of ours so its
 * connection and statement timeouts are set (see PoolTimeouts): without them a stopped server holds every request.
 */
export function createPrisma(databaseUrl: string, options: PrismaOptions = {}): PrismaClient {
  const pool = createPool(databaseUrl, options.max ?? 10, { onIdleError: () => {}, ...options });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  pools.set(prisma, pool);
  return prisma;
}

/** The pool under each client made by createPrisma. */
const pools = new WeakMap<PrismaClient, pg.Pool>();

/**
 * The node-postgres pool a Prisma client runs on, for the libraries that take a pool (the rate limiter): they then
 * share its connections, limits and timeouts instead of opening a second pool.
 */
export function poolOf(prisma: PrismaClient): pg.Pool {
  const pool = pools.get(prisma);
  if (!pool) throw new Error("poolOf: this Prisma client was not made by createPrisma");
  return pool;
}
