// `npm run indexer`: the indexer alone, one writer per chain. Configured like `npm run server` (RPC_URL,
// DATABASE_URL, DEPLOYMENTS_FILE or FACTORY_ADDRESS, ...). A second copy waits as a standby and takes over when the
// first dies. With INDEXER_METRICS_PORT it serves /health and /metrics. SIGINT/SIGTERM stop it after the batch in
// flight; SIGKILL at any point is safe too (every batch commits with its checkpoint).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { loadConfigOrExit } from "../server/config.ts";
import { createPool } from "../server/database/pool.ts";
import { migrateDatabase } from "../server/database/migrate.ts";
import { DeepReorgError, Indexer, indexerOptionsFromConfig } from "../server/indexer/indexer.ts";
import { metricsRegistry } from "../server/indexer/metrics.ts";
import { RpcClient } from "../server/indexer/rpc.ts";
import { IndexInvariantError } from "../server/indexer/store.ts";
import { createLogger } from "../server/lib/logger.ts";

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel, "perkmint-indexer");
const abort = new AbortController();
// Registered first, so a stop request during start-up is honoured too (the loop then never starts).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (abort.signal.aborted) {
      logger.warn({ signal }, "second stop request: exiting now (the batch in flight rolls back)");
      process.exit(1);
    }
    logger.info({ signal }, "stopping after the batch in flight");
    abort.abort();
    // A batch stuck on a dead RPC or database must not keep the process (and its connections) alive forever;
    // exiting mid-batch is safe because a batch commits with its checkpoint or not at all.
    setTimeout(() => {
      logger.error("did not stop within 15 s; exiting");
      process.exit(1);
    }, 15_000).unref();
  });
}

// The platform module (and its Prisma client and HTTP stack) loads only for an embedded database: a restarted
// indexer is back at work sooner.
const database = config.databaseUrl
  ? { url: config.databaseUrl, embedded: undefined }
  : await (await import("../server/platform.ts")).resolveDatabase(config, logger);
try {
  await migrateDatabase(database.url);
} catch (error) {
  // The first contact with the database: a wrong URL, a missing database or a refused login ends here, said plainly.
  logger.fatal(
    { err: error },
    "cannot prepare the database at DATABASE_URL (is it running, does the database exist, may this user create tables?)",
  );
  process.exit(1);
}
const rpc = new RpcClient({
  urls: config.rpcUrls,
  timeoutMs: config.rpcTimeoutMs,
  logger,
  maxAttempts: 100,
  maxDelayMs: 5000,
});
const chainId = Number(BigInt(await rpc.request<string>("eth_chainId")));
if (config.expectedChainId !== undefined && config.expectedChainId !== chainId) {
  logger.fatal({ chainId, expected: config.expectedChainId }, "RPC_URL serves another chain than the deployments file");
  process.exit(1);
}
// A bounded connect time; no statement timeout (a large batch or a rollback may take long). An idle connection that
// PostgreSQL ends (a restart) is replaced when needed; the step that meets the outage logs it.
const pool = createPool(database.url, 6, {
  connectTimeoutMs: config.database.connectTimeoutMs,
  onIdleError: (err) => logger.debug({ err }, "PostgreSQL ended an idle pooled connection"),
});
const indexer = new Indexer(indexerOptionsFromConfig(config, { db: pool, chainId, logger, progress: true }));

/** The indexer's own /metrics and /health (INDEXER_METRICS_PORT). */
async function answerIndexerRequest(req: IncomingMessage, res: ServerResponse) {
  if (req.url === "/metrics") {
    res.setHeader("content-type", metricsRegistry.contentType);
    res.end(await metricsRegistry.metrics());
  } else if (req.url === "/health") {
    const s = indexer.status;
    const stalled =
      s.isWriter &&
      Date.now() - s.lastProgressAt > config.stallSeconds * 1000 &&
      s.headBlock !== null &&
      s.indexedBlock !== null &&
      s.headBlock - s.indexedBlock > BigInt(config.confirmations + 1);
    res.statusCode = stalled ? 503 : 200;
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        ok: !stalled,
        role: s.isWriter ? "writer" : "standby",
        chainId,
        indexedBlock: s.indexedBlock?.toString() ?? null,
        headBlock: s.headBlock?.toString() ?? null,
        lagSeconds: s.lagSeconds,
        lastProgressAt: new Date(s.lastProgressAt).toISOString(),
        reorgs: s.reorgs,
      }),
    );
  } else {
    res.statusCode = 404;
    res.end();
  }
}

let server: ReturnType<typeof createServer> | undefined;
if (config.indexerMetricsPort !== undefined) {
  server = createServer((req, res) => void answerIndexerRequest(req, res));
  server.listen(config.indexerMetricsPort, config.host);
}

await indexer.ready();
logger.info({ chainId, startBlock: config.startBlock.toString(), rpcUrls: config.rpcUrls.length }, "indexer started");
let exitCode = 0;
try {
  await indexer.run(abort.signal);
} catch (error) {
  exitCode = 1;
  if (error instanceof DeepReorgError || error instanceof IndexInvariantError)
    logger.fatal({ err: error }, error.message);
  else logger.fatal({ err: error }, "indexer stopped");
}
server?.close();
await pool.end();
await database.embedded?.stop();
process.exit(exitCode);
