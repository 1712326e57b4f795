import pg from "pg";

export type PoolTimeouts = {
  /** Give up opening a connection after this long (a server that accepts but never answers, e.g. stopped). */
  connectTimeoutMs?: number;
  /**
   * PostgreSQL cancels a statement running longer than this (statement_timeout), and the client stops waiting for an
   * answer shortly after (query_timeout): a hung server cannot hold a caller forever. The connection a timed-out
   * query ran on is discarded by the pool, not reused.
   */
  statementTimeoutMs?: number;
};

/**
 * The pg settings for `timeouts`: statement_timeout on the server, query_timeout a second later on the client (so a
 * live but slow server answers with its own cancel, and only a hung one meets the client's), TCP keep-alive so a
 * vanished peer is noticed, and a bound on idle-in-transaction sessions.
 */
export function poolTimeoutSettings(timeouts: PoolTimeouts): pg.PoolConfig {
  return {
    keepAlive: true,
    ...(timeouts.connectTimeoutMs ? { connectionTimeoutMillis: timeouts.connectTimeoutMs } : {}),
    ...(timeouts.statementTimeoutMs
      ? {
          statement_timeout: timeouts.statementTimeoutMs,
          query_timeout: timeouts.statementTimeoutMs + 1000,
          idle_in_transaction_session_timeout: Math.max(10_000, timeouts.statementTimeoutMs * 2),
        }
      : {}),
  };
}

/**
 * A raw pool for set-based writes on the indexer's hot path (unnest upserts), where an ORM would go row by row. In
 * a module of its own so `npm run indexer` does not load the Prisma client it never uses (a bigger heap makes every
 * full garbage collection slower).
 * PostgreSQL may end an idle pooled connection (a restart, a failover, an administrator, a dropped database): the
 * pool then discards it and opens a new one when needed. Without a listener that 'error' would end the process;
 * `onIdleError` hears of it (by default a process warning).
 */
export function createPool(
  databaseUrl: string,
  max = 4,
  options: PoolTimeouts & { onIdleError?: (error: Error) => void } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    allowExitOnIdle: true,
    ...poolTimeoutSettings(options),
  });
  pool.on(
    "error",
    options.onIdleError ??
      ((error) => {
        process.emitWarning(
          `PostgreSQL ended an idle pooled connection (${error.message}); the pool will open a new one.`,
        );
      }),
  );
  return pool;
}
