import pg from "pg";

/**
 * A raw pool for set-based writes on the indexer's hot path (unnest upserts), where an ORM would go row by row. In
 * a module of its own so `npm run indexer` does not load the Prisma client it never uses (a bigger heap makes every
 * full garbage collection slower).
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
