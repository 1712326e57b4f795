// `npm run bench:indexer -- --events N --per-block K`: seeds N ERC-1155 transfer events (mints, batch mints,
// holder-to-holder transfers and burns), K per block, on a fresh local hardhat node; indexes them from a cold
// database; checks every balance against the chain; measures the live lag through the HTTP API. The last stdout
// line is JSON: { events, blocks, seconds, eventsPerSec, getLogsSeconds, rssMB, liveLagMsP50, liveLagMsP90,
// liveLagMsMax (over --live-blocks blocks, at least 20), verified }, plus
// floorRatio (seconds / getLogsSeconds) and the CPU seconds the chain, the indexer and PostgreSQL spent.
// `--runs R` indexes the same seeded chain R times, each into a fresh database, each after measuring the floor again,
// and reports the median run: on a shared, noisy machine one run says little.
// `--shape collection` seeds a partner's launch instead: the platform deployed, a collection created through the
// factory, and blocks of mints through `mint`, transfers and batch transfers from many wallets (see
// server/testing/collection-workload.ts); the indexer then discovers the collection from the factory, and its floor
// fetches the blocks' headers as well as their logs, as the indexer must.
// Every run also reports `fromLaunchSeconds`: from spawning `npm run indexer` (process start, migrations check,
// discovery) to the head, the figure a user waits for; `seconds` counts from the writer lock.
// Uses DATABASE_URL's server when set (a fresh database on it), else an embedded PostgreSQL.
import { readdir, readFile } from "node:fs/promises";
import type { Server } from "node:http";
import { parseArgs } from "node:util";
import pg from "pg";
import pino from "pino";
import { encodeFunctionData, parseEther, type Address, type Hex } from "viem";
import { loadArtifact } from "../server/chain/artifacts.ts";
import { createPrisma } from "../server/database/client.ts";
import { createPool } from "../server/database/pool.ts";
import { HeadWatcher } from "../server/chain/head-watcher.ts";
import { createApp } from "../server/http/app.ts";
import { WRITER_LOCK_CLASS } from "../server/indexer/lock.ts";
import { RpcClient } from "../server/indexer/rpc.ts";
import { CHECKPOINT_CHANNEL } from "../server/indexer/store.ts";
import {
  BalanceModel,
  benchTokenArtifact,
  compareWithChain,
  deployBenchToken,
  holders,
  NO_FACTORY,
  prng,
  ZERO,
  startTestChain,
  type Op,
} from "../server/testing/chain.ts";
import { createTestDatabase, stopSharedTestDatabaseServer } from "../server/testing/database.ts";
import { seedCollectionWorkload } from "../server/testing/collection-workload.ts";
import { spawnIndexer } from "../server/testing/indexer-process.ts";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "3000" },
    "per-block": { type: "string", default: "1" },
    "live-blocks": { type: "string", default: "40" },
    seed: { type: "string", default: "1" },
    runs: { type: "string", default: "1" },
    shape: { type: "string", default: "token" },
    "keep-database": { type: "boolean", default: false },
  },
});
const say = (line: string) => process.stderr.write(`${line}\n`);
/** A whole decimal number of at least `min` (a bench on `--events many` would otherwise seed NaN events). */
function integerOption(name: string, min: number): number {
  const raw = values[name as keyof typeof values] as string;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    say(`--${name} must be a whole number of at least ${min}, not "${raw}"`);
    process.exit(2);
  }
  return value;
}
const N = integerOption("events", 1);
const K = integerOption("per-block", 1);
// At least 20 blocks: a p90 and a max over fewer would say little.
const LIVE = integerOption("live-blocks", 20);
const RUNS = integerOption("runs", 1);
const SEED = integerOption("seed", 0);
if (values.shape !== "token" && values.shape !== "collection") {
  say(
    `--shape must be token (the bench token's transfers) or collection (a factory-created Collection's launch), not "${values.shape}"`,
  );
  process.exit(2);
}
const SHAPE: "token" | "collection" = values.shape;

/** CPU seconds (user + system) used so far by the given processes, from /proc (Linux); 0 where unreadable. */
async function cpuSecondsOf(pids: number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields.length > 13) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

/** PostgreSQL server processes on this machine (the benchmark's database server, whichever it is). */
async function postgresPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, "utf8").catch(() => "");
    if (comm.trim() === "postgres") pids.push(Number(entry));
  }
  return pids;
}

/** CPU seconds of the chain, the indexer and PostgreSQL, for a breakdown of where a phase's time went. */
async function cpuSnapshot(pids: { chain: number; indexer?: number }) {
  return {
    chain: await cpuSecondsOf([pids.chain]),
    indexer: pids.indexer ? await cpuSecondsOf([pids.indexer]) : 0,
    postgres: await cpuSecondsOf(await postgresPids()),
  };
}
const cpuDelta = (a: Awaited<ReturnType<typeof cpuSnapshot>>, b: Awaited<ReturnType<typeof cpuSnapshot>>) => ({
  chain: Math.round((b.chain - a.chain) * 100) / 100,
  indexer: Math.round((b.indexer - a.indexer) * 100) / 100,
  postgres: Math.round((b.postgres - a.postgres) * 100) / 100,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once the indexer child holds the writer lock: it is connected, migrated and about to fetch. */
async function waitForLock(db: import("pg").Pool) {
  for (;;) {
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = 31337 AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [WRITER_LOCK_CLASS],
    );
    if (rows[0]!.n !== "0") return;
    await sleep(2);
  }
}

const tc = await startTestChain();
const database = await createTestDatabase();
const db = createPool(database.url, 6);
const rand = prng(SEED);
let owners = holders(24);
const IDS = 12;
const model = new BalanceModel();

try {
  const { abi } = await benchTokenArtifact();
  const collectionAbi = (await loadArtifact("Collection")).abi;
  const from = tc.wallet.account.address;
  const seeder = new RpcClient({ urls: [tc.rpcUrl], timeoutMs: 120_000 });
  let token: Address;
  let factory: Address = NO_FACTORY;
  let startBlock: bigint;
  let seeded = 0;
  let blocks = 0;
  let head: bigint;
  if (SHAPE === "collection") {
    say(`seeding a collection launch of ${N} events, ${K} per block…`);
    const seedStarted = performance.now();
    const workload = await seedCollectionWorkload(tc, { events: N, perBlock: K, editions: IDS, seed: SEED });
    ({ collection: token, factory, head } = workload);
    startBlock = workload.startBlock - 1n;
    owners = workload.owners;
    seeded = workload.events;
    blocks = workload.blocks;
    say(
      `seeded ${seeded} events in ${blocks} blocks (${((performance.now() - seedStarted) / 1000).toFixed(1)} s); head ${head}`,
    );
  } else {
    token = await deployBenchToken(tc);
    startBlock = await tc.publicClient.getBlockNumber({ cacheTime: 0 });

    // Seeding: automine off, each block's transactions sent with eth_sendTransaction (the node signs for its dev
    // accounts), then mined with evm_mine.
    say(`seeding ${N} events, ${K} per block…`);
    const seedStarted = performance.now();
    await tc.setAutomine(false);
    const tx = (data: Hex, ops: number) => ({
      method: "eth_sendTransaction",
      params: [{ from, to: token, data, gas: `0x${(80_000 + 45_000 * ops).toString(16)}` }],
    });
    let pending: { method: string; params: unknown[] }[] = [];
    while (seeded < N) {
      const inBlock = Math.min(K, N - seeded);
      // About one event in ten is a TransferBatch (a batch mint of 3 ids), the rest TransferSingle (mints, moves, burns).
      const batchMints = inBlock >= 10 ? Math.floor(inBlock / 10) : rand.next() < 0.1 ? 1 : 0;
      const singles = inBlock - batchMints;
      if (singles > 0) {
        const ops: Op[] = Array.from({ length: singles }, () => model.randomOp(rand, owners, IDS));
        pending.push(tx(encodeFunctionData({ abi, functionName: "run", args: [ops] }), singles));
      }
      if (batchMints > 0) {
        const to = Array.from({ length: batchMints }, () => rand.pick(owners));
        const ids = [1n, 2n, 3n].map(() => BigInt(rand.int(1, IDS)));
        const unique = [...new Set(ids)];
        const amounts = unique.map(() => BigInt(rand.int(1, 3)));
        for (const t of to)
          unique.forEach((id, i) =>
            model.apply({ from: "0x0000000000000000000000000000000000000000", to: t, id, amount: amounts[i]! }),
          );
        pending.push(
          tx(encodeFunctionData({ abi, functionName: "mintBatches", args: [to, unique, amounts] }), batchMints * 3),
        );
      }
      // A JSON-RPC batch is not necessarily executed in order: the block's transactions go in one batch, and the
      // evm_mine that seals them in a request of its own.
      await seeder.batch(pending);
      await seeder.request("evm_mine");
      pending = [];
      seeded += inBlock;
      blocks++;
    }
    await tc.setAutomine(true);
    head = await tc.publicClient.getBlockNumber({ cacheTime: 0 });
    say(
      `seeded ${seeded} events in ${blocks} blocks (${((performance.now() - seedStarted) / 1000).toFixed(1)} s); head ${head}`,
    );
  }

  // The floor: fetching the same logs from the same node, sequentially, in ranges of ~5,000 logs.
  const targetLogs = 5000;
  const span = BigInt(Math.max(1, Math.floor(targetLogs / K)));
  const measureFloor = async () => {
    const before = await cpuSnapshot({ chain: tc.local.pid });
    const floorStarted = performance.now();
    let fetched = 0;
    for (let b = startBlock + 1n; b <= head; b += span) {
      const to = b + span - 1n > head ? head : b + span - 1n;
      const address = SHAPE === "collection" ? [factory, token] : token;
      const logs = await seeder.request<{ blockNumber: Hex }[]>("eth_getLogs", [
        { address, fromBlock: `0x${b.toString(16)}`, toBlock: `0x${to.toString(16)}` },
      ]);
      fetched += logs.length;
      if (SHAPE === "collection") {
        // The indexer needs each block's header (hash, parent, time) too: part of the floor.
        const numbers = [...new Set(logs.map((l) => l.blockNumber))];
        await seeder.batch(numbers.map((n) => ({ method: "eth_getBlockByNumber", params: [n, false] })));
      }
    }
    const seconds = (performance.now() - floorStarted) / 1000;
    const cpu = cpuDelta(before, await cpuSnapshot({ chain: tc.local.pid }));
    say(`getLogs floor: ${fetched} logs in ${seconds.toFixed(2)} s`);
    return { fetched, seconds, cpu };
  };

  // The indexer runs as `npm run indexer` would, in a process of its own, so its memory is measured alone.
  const startIndexer = (databaseUrl: string) =>
    spawnIndexer({
      RPC_URL: tc.rpcUrl,
      RPC_WS_URL: tc.wsUrl,
      DATABASE_URL: databaseUrl,
      FACTORY_ADDRESS: factory,
      ...(SHAPE === "token" ? { INDEXER_EXTRA_CONTRACTS: token } : {}),
      START_BLOCK: String(startBlock + 1n),
      CONFIRMATIONS: "0",
      // The default poll interval: between blocks the live phase then measures the WebSocket wake-up, which a short
      // interval would hide (each missed wake-up costs up to one interval).
      POLL_INTERVAL_MS: "1000",
      MAX_BLOCK_RANGE: "10000",
      INDEXER_TARGET_LOGS: String(targetLogs),
      INDEXER_FETCH_CONCURRENCY: "3",
      LOG_LEVEL: "warn",
    });
  const peakRss = async (child: ReturnType<typeof spawnIndexer>) => {
    const status = await readFile(`/proc/${child.child.pid}/status`, "utf8").catch(() => "");
    const kb = /VmHWM:\s+(\d+)/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  };

  /** One cold backfill into `target` (an empty, migrated database), timed from the writer lock to the head. */
  const backfill = async (target: import("pg").Pool, databaseUrl: string, fetched: number) => {
    // The end is seen through the indexer's checkpoint notifications (LISTEN), not by polling: a poll every few
    // milliseconds would itself take a share of the two cores from the run it measures.
    const listener = new pg.Client({ connectionString: databaseUrl });
    await listener.connect();
    let reached: () => void = () => {};
    const atHead = new Promise<void>((resolve) => (reached = resolve));
    listener.on("notification", (n) => {
      const notice = JSON.parse(n.payload ?? "{}") as { chainId?: number; block?: string };
      if (notice.chainId === 31337 && notice.block !== undefined && BigInt(notice.block) >= head) reached();
    });
    await listener.query(`LISTEN ${CHECKPOINT_CHANNEL}`);
    const launched = performance.now();
    const child = startIndexer(databaseUrl);
    const checkpoint = async () => {
      const { rows } = await target.query<{ block_number: string }>(
        "SELECT block_number FROM indexer_checkpoint WHERE chain_id = 31337",
      );
      return rows[0] ? BigInt(rows[0].block_number) : -1n;
    };
    await waitForLock(target);
    const pids = { chain: tc.local.pid, indexer: child.child.pid! };
    const before = await cpuSnapshot(pids);
    const started = performance.now();
    // A slow poll as well, in case a notification is lost, and to notice an indexer that died.
    let done = false;
    void atHead.then(() => (done = true));
    while (!done) {
      if (child.child.exitCode !== null) throw new Error(`the indexer exited: ${JSON.stringify(child.logs.slice(-3))}`);
      await Promise.race([atHead, sleep(250)]);
      if (!done && (await checkpoint()) >= head) done = true;
    }
    await listener.end();
    const seconds = (performance.now() - started) / 1000;
    const fromLaunchSeconds = (performance.now() - launched) / 1000;
    const cpu = cpuDelta(before, await cpuSnapshot(pids));
    say(
      `indexed ${seeded} events in ${seconds.toFixed(2)} s, ${fromLaunchSeconds.toFixed(2)} s from launch (cpu s: ${JSON.stringify(cpu)})`,
    );
    const problems = await compareWithChain(target, tc, token, owners, IDS);
    const stored = await target.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM chain_event WHERE chain_id = 31337",
    );
    const verified = problems.length === 0 && Number(stored.rows[0]!.n) === fetched && fetched === seeded;
    if (!verified)
      say(
        `verification failed: ${problems.slice(0, 5).join("; ")} (stored ${stored.rows[0]!.n}, fetched ${fetched}, seeded ${seeded})`,
      );
    return { child, seconds, fromLaunchSeconds, cpu, verified };
  };

  // Earlier runs index into databases of their own and are then dropped; the last one goes on to the live phase.
  const runs: {
    seconds: number;
    fromLaunchSeconds: number;
    getLogsSeconds: number;
    rss: number;
    verified: boolean;
    cpu: object;
    floorCpu: object;
  }[] = [];
  let fetched = 0;
  let child: ReturnType<typeof spawnIndexer> | undefined;
  for (let run = 0; run < RUNS; run++) {
    const floor = await measureFloor();
    fetched = floor.fetched;
    const last = run === RUNS - 1;
    const scratch = last ? undefined : await createTestDatabase();
    const target = scratch ? createPool(scratch.url, 2) : db;
    const result = await backfill(target, scratch?.url ?? database.url, floor.fetched);
    if (last) child = result.child;
    else await result.child.kill("SIGTERM");
    runs.push({
      seconds: result.seconds,
      fromLaunchSeconds: result.fromLaunchSeconds,
      getLogsSeconds: floor.seconds,
      rss: await peakRss(result.child),
      verified: result.verified,
      cpu: result.cpu,
      floorCpu: floor.cpu,
    });
    if (scratch) {
      await target.end();
      await scratch.drop();
    }
  }
  // The median run (by its ratio to the floor measured just before it) is reported; every run must verify.
  const median = [...runs].sort((a, b) => a.seconds / a.getLogsSeconds - b.seconds / b.getLogsSeconds)[
    Math.floor(runs.length / 2)
  ]!;
  const verified = runs.every((r) => r.verified);

  // The API, for the live lag: a transfer counts as visible when the holdings route returns it.
  const prisma = createPrisma(database.url);
  const chainHead = new HeadWatcher({ rpc: seeder }).start();
  const app = createApp({ prisma, chainHead, chainId: 31337, confirmations: 0, logger: pino({ level: "silent" }) });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const address = server.address();
  const apiUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

  // The API's first request pays for connecting and planning its query (about half a second): not the live lag.
  await fetch(`${apiUrl}/v1/wallets/${owners[0]}/holdings`).then((r) => r.text());
  // Live lag: a fresh wallet receives a fresh token in a new block; poll the API until it shows.
  const lags: number[] = [];
  const liveOwners = holders(owners.length + LIVE).slice(owners.length);
  await tc.setAutomine(false);
  for (let i = 0; i < LIVE; i++) {
    const to: Address = liveOwners[i]!;
    // The bench token mints a fresh id; on a collection, the partner buys one of edition 1 for the fresh wallet.
    const op = { from: "0x0000000000000000000000000000000000000000" as Address, to, id: BigInt(1000 + i), amount: 1n };
    const live =
      SHAPE === "collection"
        ? {
            data: encodeFunctionData({ abi: collectionAbi, functionName: "mint", args: [1n, to, 1n, 0n, ZERO] }),
            value: `0x${parseEther("0.001").toString(16)}`,
          }
        : { data: encodeFunctionData({ abi, functionName: "run", args: [[op]] }), value: "0x0" };
    await seeder.request("eth_sendTransaction", [{ from, to: token, ...live, gas: "0x30000" }]);
    const t0 = performance.now();
    await seeder.request("evm_mine");
    for (;;) {
      const res = await fetch(`${apiUrl}/v1/wallets/${to}/holdings`);
      const body = (await res.json()) as { items?: unknown[] };
      if (res.ok && body.items && body.items.length > 0) break;
      await sleep(1);
    }
    lags.push(performance.now() - t0);
    await sleep(rand.int(5, 30));
  }
  await tc.setAutomine(true);
  say(`live lags in block order (ms): ${lags.map((l) => Math.round(l)).join(" ")}`);
  const rssMax = Math.max(...runs.map((r) => r.rss), await peakRss(child!));
  lags.sort((a, b) => a - b);
  // The median alone hid a wake-up that missed 7 of 20 blocks: the 90th percentile and the worst block are reported too.
  const percentile = (p: number) =>
    Math.round(lags[Math.min(lags.length - 1, Math.ceil((p / 100) * lags.length) - 1)]! * 10) / 10;
  const liveLagMsP50 = Math.round(lags[Math.floor(lags.length / 2)]! * 10) / 10;
  const liveLagMsP90 = percentile(90);
  const liveLagMsMax = Math.round(lags.at(-1)! * 10) / 10;

  await child!.kill("SIGTERM");
  chainHead.stop();
  server.close();
  server.closeAllConnections();
  await prisma.$disconnect();
  const result = {
    events: fetched,
    blocks,
    shape: SHAPE,
    seconds: Math.round(median.seconds * 1000) / 1000,
    fromLaunchSeconds: Math.round(median.fromLaunchSeconds * 1000) / 1000,
    eventsPerSec: Math.round(fetched / median.seconds),
    getLogsSeconds: Math.round(median.getLogsSeconds * 1000) / 1000,
    rssMB: Math.round(rssMax / 1024 / 1024),
    liveLagMsP50,
    liveLagMsP90,
    liveLagMsMax,
    liveBlocks: lags.length,
    verified,
    floorRatio: Math.round((median.seconds / median.getLogsSeconds) * 100) / 100,
    fromLaunchFloorRatio: Math.round((median.fromLaunchSeconds / median.getLogsSeconds) * 100) / 100,
    cpuSeconds: { getLogs: median.floorCpu, indexing: median.cpu },
    runs: runs.map((r) => ({
      seconds: Math.round(r.seconds * 1000) / 1000,
      fromLaunchSeconds: Math.round(r.fromLaunchSeconds * 1000) / 1000,
      getLogsSeconds: Math.round(r.getLogsSeconds * 1000) / 1000,
    })),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // A figure over a wrong index is no figure: a failed verification fails the command.
  if (!verified) process.exitCode = 1;
} finally {
  await db.end();
  if (values["keep-database"]) say(`database kept for inspection: ${database.url}`);
  else await database.drop().catch(() => {});
  await stopSharedTestDatabaseServer();
  await tc.stop();
}
// The chain's and database's handles would keep the process alive; the exit status is the verification's.
process.exit(process.exitCode ?? 0);
