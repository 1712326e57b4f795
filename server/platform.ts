import type { Server } from "node:http";
import path from "node:path";
import type pg from "pg";
import type { PublicClient } from "viem";
import { createChainClient } from "./chain/client.ts";
import type { Config } from "./config.ts";
import { createPrisma, type PrismaClient } from "./database/client.ts";
import { createPool } from "./database/pool.ts";
import { startEmbeddedPostgres, type EmbeddedDatabaseServer } from "./database/embedded-postgres.ts";
import { migrateDatabase } from "./database/migrate.ts";
import { HeadWatcher } from "./chain/head-watcher.ts";
import { createApp, type AppDeps } from "./http/app.ts";
import { startJobQueue } from "./jobs/queue.ts";
import { createVoucherSigner } from "./loyalty/voucher-signer.ts";
import { startWorker, type RunningWorker } from "./worker.ts";
import { listen } from "./http/server.ts";
import { Indexer, indexerOptionsFromConfig } from "./indexer/indexer.ts";
import { getIndexerProgress } from "./indexer/reads.ts";
import { RpcClient } from "./indexer/rpc.ts";
import type { Logger } from "./lib/logger.ts";

export type Role = "api" | "indexer" | "worker";

export type RunningPlatform = {
  /** Base URL of the HTTP API, when the api role runs. */
  url: string | undefined;
  databaseUrl: string;
  chainId: number;
  indexer: Indexer | undefined;
  worker: RunningWorker | undefined;
  stop(): Promise<void>;
};

/**
 * Resolves the database for `config`: the configured DATABASE_URL, or an embedded PostgreSQL under the data folder.
 */
export async function resolveDatabase(
  config: Pick<Config, "databaseUrl" | "dataDir">,
  logger: Logger,
): Promise<{ url: string; embedded?: EmbeddedDatabaseServer }> {
  if (config.databaseUrl) return { url: config.databaseUrl };
  const embedded = await startEmbeddedPostgres({
    dataDir: path.join(config.dataDir, "postgres"),
    log: (line) => logger.debug({ component: "postgres" }, line),
  });
  await embedded.ensureDatabase("perkmint");
  logger.info({ port: embedded.port }, "embedded PostgreSQL started");
  return { url: embedded.urlFor("perkmint"), embedded };
}

/**
 * Starts the configured roles (HTTP API, indexer, worker) in this process on a migrated database.
 * `stop()` ends them in order: HTTP first, then the indexer loop, then connections, then an embedded database.
 */
export async function startPlatform(
  config: Config,
  logger: Logger,
  roles: readonly Role[] = ["api", "indexer"],
): Promise<RunningPlatform> {
  const database = await resolveDatabase(config, logger);
  const stack: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stack.reverse()) await fn().catch((err) => logger.error({ err }, "error during shutdown"));
    stack.length = 0;
  };
  try {
    if (database.embedded) stack.push(() => database.embedded!.stop());
    await migrateDatabase(database.url);
    const publicClient: PublicClient = createChainClient(config.rpcUrl);
    const chainId = await publicClient.getChainId();
    if (config.expectedChainId !== undefined && config.expectedChainId !== chainId) {
      throw new Error(
        `RPC_URL serves chain ${chainId} but the deployments file is for chain ${config.expectedChainId}.`,
      );
    }
    const idleError = (error: Error) =>
      logger.debug({ err: error }, "PostgreSQL ended an idle pooled connection; it is replaced when needed");
    // The API's pool: bounded connect and statement times, so a stopped or hung database answers 503/504 in time.
    const prisma: PrismaClient = createPrisma(database.url, { ...config.database, onIdleError: idleError });
    stack.push(() => prisma.$disconnect());
    // The first query opens a connection and plans Prisma's queries (up to a second or two on a busy machine): paid
    // here, not by the first /health, whose database check would give up and call the database unreachable.
    await getIndexerProgress(prisma, chainId);

    let indexer: Indexer | undefined;
    if (roles.includes("indexer")) {
      // The indexer's pool: a bounded connect time, no statement timeout (a large batch or a rollback may take long).
      const pool: pg.Pool = createPool(database.url, 4, {
        connectTimeoutMs: config.database.connectTimeoutMs,
        onIdleError: idleError,
      });
      stack.push(() => pool.end());
      // Every indexer setting (fallback RPC URLs, WebSocket heads, fetch concurrency, ...) from the configuration.
      indexer = new Indexer(
        indexerOptionsFromConfig(config, { db: pool, chainId, logger: logger.child({ component: "indexer" }) }),
      );
      const abort = new AbortController();
      const loop = indexer.run(abort.signal).catch((err) => {
        logger.fatal({ err }, "indexer stopped");
        process.exitCode = 1;
      });
      stack.push(async () => {
        abort.abort();
        await loop;
      });
    }

    let worker: RunningWorker | undefined;
    if (roles.includes("worker")) {
      const pool: pg.Pool = createPool(database.url, 4, {
        connectTimeoutMs: config.database.connectTimeoutMs,
        onIdleError: idleError,
      });
      stack.push(() => pool.end());
      const running = await startWorker({
        db: pool,
        databaseUrl: database.url,
        chainId,
        pointsFinality: config.loyalty.pointsFinality,
        logger: logger.child({ component: "worker" }),
      });
      worker = running;
      stack.push(() => running.stop());
    }

    let url: string | undefined;
    const inProcessIndexer = indexer;
    if (roles.includes("api")) {
      // /health's view of the chain: the in-process indexer's heads when fresh, else a short call of its own.
      const chainHead = new HeadWatcher({
        rpc: new RpcClient({ urls: config.rpcUrls, timeoutMs: Math.min(config.rpcTimeoutMs, 1500), maxAttempts: 1 }),
        known: inProcessIndexer ? () => inProcessIndexer.status.head : undefined,
        logger: logger.child({ component: "health" }),
      }).start();
      stack.push(() => Promise.resolve(chainHead.stop()));
      // Redemptions need the voucher signer and a job queue to enqueue their expiry checks (the worker runs them).
      const signerKey = config.loyalty.voucherSignerKey;
      let loyalty: AppDeps["loyalty"];
      if (signerKey) {
        const queue = await startJobQueue({ databaseUrl: database.url, role: "sender", logger });
        stack.push(() => queue.stop());
        loyalty = {
          signer: createVoucherSigner({
            privateKey: signerKey.reveal(),
            chainId,
            factory: config.factory,
            publicClient,
          }),
          enqueue: queue.enqueue,
          voucherTtlSeconds: config.loyalty.voucherTtlSeconds,
        };
      }
      // The catalog's public reads (they state asOfBlock) on a read replica when one is configured.
      const readDb = config.databaseReadUrl
        ? createPool(config.databaseReadUrl, 10, { ...config.database, onIdleError: idleError })
        : undefined;
      if (readDb) stack.push(() => readDb.end());
      const app = createApp({
        loyalty,
        prisma,
        ...(readDb ? { readDb } : {}),
        chainHead,
        chainId,
        startBlock: config.startBlock,
        dataDir: config.dataDir,
        confirmations: config.confirmations,
        stallSeconds: config.stallSeconds,
        requestTimeoutMs: config.http.requestTimeoutMs,
        publicClient,
        auth: {
          publicUrl: config.publicUrl,
          corsOrigins: config.corsOrigins,
          operators: config.operators,
          sessionTtlSeconds: config.sessions.ttlSeconds,
          sessionIdleSeconds: config.sessions.idleSeconds,
        },
        rateLimits: config.rateLimits,
        trustProxyHops: config.trustProxyHops,
        logger: logger.child({ component: "http" }),
      });
      const server: Server = await listen(app, config.port, config.host, config.http);
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : config.port;
      url = `http://${config.host}:${port}`;
      stack.push(
        () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      );
      logger.info({ url }, "HTTP API listening");
    }
    return { url, databaseUrl: database.url, chainId, indexer, worker, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
