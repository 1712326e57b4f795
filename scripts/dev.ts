// `npm run dev`: the whole platform on one machine with nothing but Node and npm.
// A local Hardhat chain, an embedded PostgreSQL (unless DATABASE_URL), contracts deployed, a demo partner, drop and
// mints seeded, then the indexer and the HTTP API in this process. Ctrl-C stops everything it started.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { createPublicClient, defineChain, http, toHex } from "viem";
import { z } from "zod";
import { deployPlatform } from "../server/chain/deploy.ts";
import { demoAccounts, demoWallets, seedDemo, walletFor } from "../server/chain/demo-seed.ts";
import { startLocalChain, type LocalChain } from "../server/chain/local-node.ts";
import { ConfigError, loadConfig, parseEnv } from "../server/config.ts";
import { createPool } from "../server/database/pool.ts";
import { migrateDatabase } from "../server/database/migrate.ts";
import { resetChainIndex } from "../server/indexer/store.ts";
import { createLogger } from "../server/lib/logger.ts";
import { claimRun, type RunClaim } from "../server/lib/pidfile.ts";
import { preferredOrFreePort } from "../server/lib/ports.ts";
import { seedDemoMetadata } from "../server/metadata/demo.ts";
import { seedDemoOffer, seedDemoRules } from "../server/loyalty/demo.ts";
import { resolveDatabase, startPlatform, type RunningPlatform } from "../server/platform.ts";

const env = (() => {
  try {
    return parseEnv(
      z.object({
        PORT: z.coerce.number().int().min(0).max(65535).optional(),
        CHAIN_PORT: z.coerce.number().int().min(0).max(65535).optional(),
        RPC_URL: z.string().url().optional(),
        PERKMINT_DATA_DIR: z.string().min(1).default(".perkmint"),
        LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("warn"),
      }),
      process.env,
    );
  } catch (error) {
    // One line per bad variable, then exit 1 (not a ZodError's stack).
    console.error(error instanceof ConfigError ? error.message : String(error));
    process.exit(1);
  }
})();

const started = Date.now();
const logger = createLogger(env.LOG_LEVEL, "perkmint-dev");
const say = (line: string) => process.stdout.write(`${line}\n`);
const dataDir = path.resolve(env.PERKMINT_DATA_DIR);
/** Which process runs on this data folder, and the chain and database it started (see claimRun). */
const runFile = path.join(dataDir, "dev", "run.json");
let run: Extract<RunClaim, { ok: true }> | undefined;

const cleanups: (() => Promise<void>)[] = [];
let stopping: Promise<void> | undefined;
function shutdown(code: number) {
  stopping ??= (async () => {
    say("\nStopping Perkmint…");
    for (const fn of cleanups.reverse()) await fn().catch((err) => logger.error({ err }, "shutdown step failed"));
    await run?.release().catch(() => {});
    process.exit(code);
  })();
  return stopping;
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(0));

/** SIGTERM, then SIGKILL after 10 s; resolves once the child has exited. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

async function main() {
  // One run per data folder: a second start while the first is alive says so and exits 1 (it must not end the first
  // one's chain and database as "left over"); what a dead run left behind is cleaned up.
  const claim = await claimRun(runFile, "scripts/dev.ts", say);
  if (!claim.ok) {
    console.error(
      `Perkmint is already running on the data folder ${path.relative(process.cwd(), dataDir) || "."} (npm run dev, process ${claim.owner.pid}).\n` +
        `Stop that one first (Ctrl-C in its terminal, or kill ${claim.owner.pid}), or start another with a data folder of its own, ` +
        `e.g. PERKMINT_DATA_DIR=.perkmint-2 npm run dev (it picks free ports itself).`,
    );
    process.exit(1);
  }
  run = claim;

  say("Compiling contracts…");
  const build = spawnSync(
    process.execPath,
    [path.resolve("node_modules/hardhat/dist/src/cli.js"), "build", "--quiet", "--no-tests"],
    { stdio: "inherit" },
  );
  if (build.status !== 0) throw new Error("Contract compilation failed (see above).");

  let chain: LocalChain | undefined;
  let rpcUrl = env.RPC_URL;
  if (!rpcUrl) {
    const port =
      env.CHAIN_PORT ?? (await preferredOrFreePort(8545, { name: "local chain", variable: "CHAIN_PORT" }, say));
    chain = await startLocalChain({ port });
    cleanups.push(() => chain!.stop());
    await run.track({ pid: chain.pid, match: `node --hostname 127.0.0.1 --port ${port}` });
    rpcUrl = chain.rpcUrl;
  }
  const publicClient = createPublicClient({ transport: http(rpcUrl) });
  const chainId = await publicClient.getChainId();
  const viemChain = defineChain({
    id: chainId,
    name: chainId === 31337 ? "Hardhat" : `Chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });

  // The database (embedded unless DATABASE_URL): started here so its pid is recorded before anything can fail.
  const database = await resolveDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir }, logger);
  if (database.embedded) {
    cleanups.push(() => database.embedded!.stop());
    if (database.embedded.pid) await run.track({ pid: database.embedded.pid, match: path.join(dataDir, "postgres") });
  }
  await migrateDatabase(database.url);
  // A new local chain reuses chain id 31337: forget what was indexed from the previous one.
  if (chain) {
    const pool = createPool(database.url, 1);
    await resetChainIndex(pool, chainId);
    await pool.end();
  }

  say("Deploying contracts and seeding the demo drop…");
  const operator = walletFor(demoAccounts.operator, viemChain, rpcUrl);
  const deployment = await deployPlatform({ publicClient, walletClient: operator });
  const deploymentsFile = path.join(dataDir, "dev", "deployments.json");
  await mkdir(path.dirname(deploymentsFile), { recursive: true });
  await writeFile(
    deploymentsFile,
    JSON.stringify(deployment, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2),
  );
  const seed = await seedDemo(publicClient, demoWallets(viemChain, rpcUrl), deployment.factory);
  // The demo points rules exist before the worker reads the demo mints from the facts feed.
  const loyaltyPool = createPool(database.url, 2);
  cleanups.push(() => loyaltyPool.end());
  await seedDemoRules(loyaltyPool, demoAccounts.operator.address);

  const config = loadConfig({
    ...process.env,
    RPC_URL: rpcUrl,
    // hardhat node serves WebSocket on the same port: newHeads wakes the indexer as soon as a block is mined.
    ...(chain ? { RPC_WS_URL: rpcUrl.replace(/^http/, "ws") } : {}),
    DATABASE_URL: database.url,
    DEPLOYMENTS_FILE: deploymentsFile,
    PORT: String(env.PORT ?? (await preferredOrFreePort(3000, { name: "API", variable: "PORT" }, say))),
    POLL_INTERVAL_MS: process.env.POLL_INTERVAL_MS ?? "50",
    LOG_LEVEL: env.LOG_LEVEL,
    // Points are available as soon as their mint is indexed, and the operator signs vouchers: the deployer holds
    // VOUCHER_SIGNER_ROLE, and its key is Hardhat's public development key (local chain only).
    POINTS_FINALITY: process.env.POINTS_FINALITY ?? "0",
    OPERATOR_ADDRESSES: process.env.OPERATOR_ADDRESSES ?? demoAccounts.operator.address,
    VOUCHER_SIGNER_KEY: process.env.VOUCHER_SIGNER_KEY ?? toHex(demoAccounts.operator.getHdKey().privateKey!),
  });
  const platform: RunningPlatform = await startPlatform(config, logger, ["api", "indexer"]);
  cleanups.push(() => platform.stop());
  // The worker (facts-feed consumers, jobs) in a process of its own, as in production: never in the API's.
  const worker = spawn(process.execPath, ["--import", "tsx", path.resolve("scripts/worker.ts")], {
    env: {
      ...process.env,
      RPC_URL: rpcUrl,
      DATABASE_URL: database.url,
      DEPLOYMENTS_FILE: deploymentsFile,
      POINTS_FINALITY: String(config.loyalty.pointsFinality),
      PERKMINT_DATA_DIR: dataDir,
      LOG_LEVEL: config.logLevel,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (worker.pid) await run.track({ pid: worker.pid, match: "scripts/worker.ts" });
  cleanups.push(() => stopChild(worker));

  // The demo editions get real metadata and images, served by the platform at the URIs they now point to on-chain.
  const metadataPool = createPool(database.url, 2);
  try {
    await seedDemoMetadata(
      { db: metadataPool, dataDir: config.dataDir, publicUrl: config.publicUrl },
      {
        chainId,
        seed,
        partnerAddress: demoAccounts.partner.address,
        onChain: { publicClient, partner: demoWallets(viemChain, rpcUrl).partner },
      },
    );
  } finally {
    await metadataPool.end();
  }

  // Ready means: the demo data is indexed, so the first curl already shows it.
  const head = await publicClient.getBlockNumber();
  while ((platform.indexer!.status.indexedBlock ?? -1n) < head) await new Promise((r) => setTimeout(r, 20));
  const offer = await seedDemoOffer(loyaltyPool, chainId, seed.collection, demoAccounts.operator.address);

  const api = platform.url!;
  say(`
Perkmint is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s). Ctrl-C stops everything.

  API          ${api}            (health: ${api}/health)
  Chain RPC    ${rpcUrl}      (chain id ${chainId})
  Database     ${database.embedded ? `embedded PostgreSQL on port ${database.embedded.port} (data in ${path.relative(process.cwd(), dataDir)}/postgres)` : "DATABASE_URL"}
  Factory      ${deployment.factory}
  Demo drop    ${seed.collection} (editions: ${seed.editions.map((e) => `#${e.id} ${e.name}`).join(", ")})

Demo wallets (Hardhat's public test keys: local use only)
  operator  ${demoAccounts.operator.address}
  partner   ${demoAccounts.partner.address}   owns the demo collection
  alice     ${demoAccounts.alice.address}   holds 1 × #1, 3 × #2
  bob       ${demoAccounts.bob.address}   holds 2 × #1
  carol     ${demoAccounts.carol.address}   holds nothing yet

Try:
  curl -s ${api}/v1/wallets/${demoAccounts.alice.address}/holdings
  curl -s ${api}/v1/collections/${seed.collection}/editions
  curl -s ${api}/v1/drops
  curl -s ${api}/v1/points/offers             (edition #1 for ${offer.price} points; alice has 40)
  curl -s ${api}/metadata/${chainId}/${seed.collection}/${1n.toString(16).padStart(64, "0")}.json
  open ${api}/docs                    (the API reference)
`);
}

main().catch(async (error) => {
  console.error(`\nnpm run dev failed: ${error instanceof Error ? error.message : String(error)}`);
  logger.debug({ err: error }, "dev failed");
  await shutdown(1);
});
