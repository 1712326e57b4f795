/**
 * Tells a database that is down or not answering from every other error, whichever layer threw it: node-postgres
 * (socket errors, its client-side timeouts), PostgreSQL itself (SQLSTATE) or Prisma's driver adapter (P1xxx codes
 * and the adapter's error kinds). The HTTP API answers such errors 503/504 instead of 500, and the indexer logs them
 * as an outage instead of a failure per attempt.
 */
export type DatabaseFault = "unavailable" | "timeout";

/** SQLSTATEs that mean "the server cannot serve this session now", not "this statement is wrong". */
const UNAVAILABLE_SQLSTATE = new Set([
  "57P01", // admin_shutdown (a fast or smart shutdown, a restart)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, recovering)
  "53300", // too_many_connections
  "3D000", // invalid_catalog_name: the database was dropped
]);
const TIMEOUT_SQLSTATE = new Set([
  "57014", // query_canceled: statement_timeout
  "55P03", // lock_not_available: lock_timeout
  "25P03", // idle_in_transaction_session_timeout
]);
const UNAVAILABLE_PRISMA = new Set(["P1001", "P1017", "P2037", "P1003"]);
const TIMEOUT_PRISMA = new Set(["P1002", "P1008", "P2024"]);
const UNAVAILABLE_ADAPTER_KINDS = new Set([
  "DatabaseNotReachable",
  "ConnectionClosed",
  "TooManyConnections",
  "DatabaseDoesNotExist",
]);
const TIMEOUT_ADAPTER_KINDS = new Set(["SocketTimeout"]);
const UNAVAILABLE_ERRNO = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
]);

/** node-postgres and pg-pool report these as plain Errors with no code. */
const TIMEOUT_MESSAGE =
  /query read timeout|connection terminated due to connection timeout|timeout exceeded when trying to connect|ETIMEDOUT/i;
const UNAVAILABLE_MESSAGE =
  /connection terminated|server closed the connection|client has encountered a connection error|the database system is (starting up|shutting down|in recovery mode)|Can't reach database server/i;

function* causes(error: unknown): Generator<Record<string, unknown>> {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < 16) {
    const e = queue.shift();
    if (!e || typeof e !== "object" || seen.has(e)) continue;
    seen.add(e);
    const r = e as Record<string, unknown>;
    yield r;
    queue.push(r.cause);
    const meta = r.meta as Record<string, unknown> | undefined;
    if (meta && typeof meta === "object") queue.push(meta.driverAdapterError);
    if (Array.isArray(r.errors)) queue.push(...(r.errors as unknown[])); // AggregateError (every address refused)
  }
}

export function databaseFault(error: unknown): DatabaseFault | undefined {
  let unavailable = false;
  for (const e of causes(error)) {
    const code = typeof e.code === "string" ? e.code : typeof e.originalCode === "string" ? e.originalCode : undefined;
    const kind = typeof e.kind === "string" ? e.kind : undefined;
    const message = typeof e.message === "string" ? e.message : "";
    if (
      (code && (TIMEOUT_SQLSTATE.has(code) || TIMEOUT_PRISMA.has(code) || code === "ETIMEDOUT")) ||
      (kind && TIMEOUT_ADAPTER_KINDS.has(kind))
    )
      return "timeout";
    if (TIMEOUT_MESSAGE.test(message)) return "timeout";
    if (
      (code &&
        (UNAVAILABLE_SQLSTATE.has(code) ||
          UNAVAILABLE_PRISMA.has(code) ||
          UNAVAILABLE_ERRNO.has(code) ||
          code.startsWith("08"))) ||
      (kind && UNAVAILABLE_ADAPTER_KINDS.has(kind)) ||
      UNAVAILABLE_MESSAGE.test(message)
    ) {
      unavailable = true; // keep looking: a timeout further down the chain says more
    }
  }
  return unavailable ? "unavailable" : undefined;
}
