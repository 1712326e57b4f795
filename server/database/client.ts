import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../generated/prisma/client.ts";

export type { PrismaClient };

/** Prisma client over node-postgres (Prisma 7's driver adapter; no native engine needed). */
export function createPrisma(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
}

/**
 * A raw pool for set-based writes on the indexer's hot path (unnest upserts), where an ORM would go row by row.
 * PostgreSQL may end an idle pooled connection (a restart, a failover, an administrator, a dropped database): the
 * pool then discards it and opens a new one when needed. Without a listener that 'error' would end the process.
 */
export function createPool(databaseUrl: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max, allowExitOnIdle: true });
  pool.on("error", (error) => {
    process.emitWarning(`PostgreSQL ended an idle pooled connection (${error.message}); the pool will open a new one.`);
  });
  return pool;
}
