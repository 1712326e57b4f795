import { PrismaPg } from "@prisma/adapter-pg";
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
  return new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
}
