/**
 * `npm run bench:api`: the read API under load. Seeds a fresh database with `--holders` wallets (100,000) and
 * `--transfers` transfer events (1,000,000; plus the Minted and Redeemed events that follow sales and redemptions)
 * through the indexer's own write path (server/testing/api-workload.ts), then loads four routes with autocannon on
 * loopback — a wallet's holdings, an edition's holders, a wallet's activity, drops — each over a spread of real
 * wallets and editions of the seeded data, not one hot URL. Every route is measured twice: at a fixed rate
 * (`--rate`, 500 req/s, evenly paced and open-loop: p50/p99 latency at that rate, and whether it was held), and
 * unthrottled over `--connections` (8) connections (maximum throughput). In the same run, with the same process set-up,
 * two floors: a bare Express route answering fixed JSON, and a bare Express route answering the holdings query with
 * one raw `pg` query (the very SQL getHoldings runs). The access log's cost is measured on the holdings route too:
 * the app with its access log (as shipped) against the same app without one.
 *
 * The server under test runs in a child process (server/testing/bench-api-server.ts), autocannon in this one, so the
 * load generator never shares the server's event loop; the floors run the same way. The app is configured with rate
 * limits of 10,000,000 requests a minute per IP (all load comes from 127.0.0.1, which the default 1,200 would cap),
 * but still counts every request in PostgreSQL as in production. `--runs` (3) repeats every measurement, servers
 * interleaved within a run, and the medians are reported; the load average before and after is reported too: on a
 * shared 2-core machine every figure moves with it. Progress goes to stderr; the last stdout line is JSON.
 * Uses DATABASE_URL's server when set (a fresh database on it), else the machine's or an embedded PostgreSQL.
 */
import { fork, type ChildProcess } from "node:child_process";
import http from "node:http";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { migrateDatabase } from "../server/database/migrate.ts";
import { createPool } from "../server/database/pool.ts";
import { ZERO_ADDRESS } from "../server/indexer/store/model.ts";
import { seedApiWorkload } from "../server/testing/api-workload.ts";
import { prng } from "../server/testing/chain.ts";
import { createTestDatabase, stopSharedTestDatabaseServer, type TestDatabase } from "../server/testing/database.ts";

const { values } = parseArgs({
  options: {
    holders: { type: "string", default: "100000" },
    transfers: { type: "string", default: "1000000" },
    runs: { type: "string", default: "3" },
    duration: { type: "string", default: "10" },
    rate: { type: "string", default: "500" },
    connections: { type: "string", default: "8" },
    seed: { type: "string", default: "14" },
    "keep-database": { type: "boolean", default: false },
    database: { type: "string" },
    only: { type: "string" },
  },
});
const say = (line: string) => process.stderr.write(`${line}\n`);
function integerOption(name: keyof typeof values, min: number): number {
  const raw = values[name] as string;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    say(`--${name} must be a whole number of at least ${min}, not "${raw}"`);
    process.exit(2);
  }
  return value;
}
const HOLDERS = integerOption("holders", 1);
const TRANSFERS = integerOption("transfers", HOLDERS);
const RUNS = integerOption("runs", 1);
const DURATION = integerOption("duration", 1);
const RATE = integerOption("rate", 1);
const CONNECTIONS = integerOption("connections", 1);
const SEED = integerOption("seed", 0);
const CHAIN_ID = 31337;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const load = () => os.loadavg().map((l) => Math.round(l * 100) / 100);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields.length > 13 ? (Number(fields[11]) + Number(fields[12])) / 100 : 0;
}

type ServerKind = { name: string; env: Record<string, string> };
type Server = { child: ChildProcess; url: string; stop(): Promise<void> };

async function startServer(kind: ServerKind, databaseUrl: string): Promise<Server> {
  const child = fork(path.join(root, "server/testing/bench-api-server.ts"), {
    cwd: root,
    // BENCH_NODE_FLAGS adds flags for a diagnosis, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    execArgv: ["--import", "tsx", ...(process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? [])],
    env: { ...process.env, DATABASE_URL: databaseUrl, BENCH_CHAIN_ID: String(CHAIN_ID), ...kind.env },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("message", (m: { url: string }) => resolve(m.url));
    child.once("exit", (code) => reject(new Error(`bench server ${kind.name} exited (${code}) before listening`)));
  });
  return {
    child,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

type Measure = { reqPerSec: number; p50: number; p99: number; non2xx: number; errors: number; serverCpu: number };

/** One autocannon run over `paths` (round robin), at `rate` req/s overall or unthrottled. */
/**
 * The fixed-rate measurement: an open-loop load, one request every 1/rate s on a keep-alive agent, each latency
 * counted from the moment its request was due (so a stalled server is charged for the requests it kept waiting, as
 * wrk2 does). autocannon's `overallRate` is not that: each connection sends its share of the second back to back and
 * then waits for the next second, so its "latency at 500 req/s" is the latency of bursts at full concurrency.
 */
async function measurePaced(server: Server, paths: string[], rate: number, seconds: number): Promise<Measure> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL(server.url);
  const cpuBefore = await cpuSecondsOf(server.child.pid!);
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const total = rate * seconds;
  const interval = 1000 / rate;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let k = 0; k < total; k++) {
    const due = start + k * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(
      new Promise<void>((resolve) => {
        const req = http.get(
          { host: target.hostname, port: target.port, path: paths[k % paths.length], agent },
          (res) => {
            res.resume();
            res.on("end", () => {
              latencies.push(performance.now() - due);
              if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
              resolve();
            });
          },
        );
        req.on("error", () => {
          errors++;
          resolve();
        });
      }),
    );
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  const cpu = (await cpuSecondsOf(server.child.pid!)) - cpuBefore;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
  return {
    reqPerSec: Math.round(latencies.length / elapsed),
    p50: at(0.5),
    p99: at(0.99),
    non2xx,
    errors,
    serverCpu: cpu / elapsed,
  };
}

async function measure(server: Server, paths: string[], options: { rate?: number; seconds: number }) {
  if (options.rate) return measurePaced(server, paths, options.rate, options.seconds);
  let i = 0;
  const cpuBefore = await cpuSecondsOf(server.child.pid!);
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: options.seconds,
    requests: [{ setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length]! }) }],
  });
  const cpu = (await cpuSecondsOf(server.child.pid!)) - cpuBefore;
  return {
    reqPerSec: result.requests.total / options.seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    // The server process's CPU use during the run, in cores (1 = one core busy all the time).
    serverCpu: cpu / options.seconds,
  } satisfies Measure;
}

// --database URL: a database an earlier run seeded and kept (--keep-database), migrated to this checkout, not dropped.
const database: TestDatabase = values.database
  ? { url: values.database, name: new URL(values.database).pathname.slice(1), drop: () => Promise.resolve() }
  : await createTestDatabase();
if (values.database) await migrateDatabase(values.database);
const db = createPool(database.url, 4);
try {
  let seeded: { seconds: number; events: number; blocks: number } | undefined;
  if (!values.database) {
    say(`seeding ${HOLDERS} holders and ${TRANSFERS} transfers through applyBatch… (load ${load().join(" ")})`);
    const seedStarted = performance.now();
    let reported = 0;
    const workload = await seedApiWorkload(db, {
      chainId: CHAIN_ID,
      holders: HOLDERS,
      transfers: TRANSFERS,
      seed: SEED,
      onProgress: (n) => {
        if (n - reported >= TRANSFERS / 10 || n === TRANSFERS) {
          reported = n;
          say(`  ${n} transfers, ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);
        }
      },
    });
    seeded = { seconds: (performance.now() - seedStarted) / 1000, events: workload.events, blocks: workload.blocks };
    // The planner's statistics and the visibility map, as autovacuum leaves them on a live database.
    const vacuumStarted = performance.now();
    await db.query("VACUUM ANALYZE");
    say(
      `seeded ${workload.events} events in ${workload.blocks} blocks in ${seeded.seconds.toFixed(1)} s (then VACUUM ANALYZE ${((performance.now() - vacuumStarted) / 1000).toFixed(1)} s)`,
    );
  }
  const { rows: shapeRows } = await db.query<Record<string, string>>(
    `WITH per AS (SELECT owner, count(*) AS n FROM token_balance WHERE amount > 0 GROUP BY owner)
     SELECT (SELECT count(DISTINCT to_address) FROM chain_event WHERE name IN ('TransferSingle', 'TransferBatch')
               AND to_address <> '${ZERO_ADDRESS}')::text AS wallets,
            (SELECT count(*) FROM per)::text AS holders_now,
            (SELECT count(*) FROM chain_event)::text AS events,
            (SELECT count(*) FROM chain_event WHERE name IN ('TransferSingle', 'TransferBatch'))::text AS transfers,
            (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FROM per)::text AS median_holdings,
            (SELECT max(n) FROM per)::text AS max_holdings,
            (SELECT max(holders) FROM token_supply)::text AS max_edition_holders,
            (SELECT pg_size_pretty(pg_database_size(current_database()))) AS database_size`,
  );
  const shape = shapeRows[0]!;
  say(`the index: ${JSON.stringify(shape)}`);

  // The URLs: the 20 wallets with the most holdings, 980 holders drawn at random (the same ones for every server);
  // every edition; two pages of drops.
  const { rows: whales } = await db.query<{ owner: string }>(
    `SELECT owner FROM token_balance WHERE amount > 0 GROUP BY owner ORDER BY count(*) DESC, owner LIMIT 20`,
  );
  const { rows: owners } = await db.query<{ owner: string }>(
    `SELECT DISTINCT owner FROM token_balance WHERE amount > 0 ORDER BY owner`,
  );
  const { rows: editions } = await db.query<{ collection: string; token_id: string }>(
    `SELECT collection, token_id::text FROM edition ORDER BY collection, token_id`,
  );
  const rand = prng(SEED);
  const sample = [...whales.map((r) => r.owner), ...Array.from({ length: 980 }, () => rand.pick(owners).owner)].sort(
    () => rand.next() - 0.5,
  );
  const paths = {
    holdings: sample.map((w) => `/v1/wallets/${w}/holdings`),
    holders: editions.map((e) => `/v1/collections/${e.collection}/editions/${e.token_id}/holders`),
    walletActivity: sample.map((w) => `/v1/wallets/${w}/activity`),
    drops: ["/v1/drops", "/v1/drops?limit=10"],
    fixed: ["/fixed"],
  };
  const servers: { kind: ServerKind; targets: { name: string; paths: string[] }[] }[] = [
    {
      kind: { name: "fixed", env: { BENCH_SERVER: "fixed" } },
      targets: [{ name: "fixedJsonFloor", paths: paths.fixed }],
    },
    {
      kind: { name: "raw-holdings", env: { BENCH_SERVER: "raw-holdings" } },
      targets: [{ name: "rawHoldingsFloor", paths: paths.holdings }],
    },
    {
      kind: { name: "app", env: { BENCH_SERVER: "app" } },
      targets: [
        { name: "holdings", paths: paths.holdings },
        { name: "holders", paths: paths.holders },
        { name: "walletActivity", paths: paths.walletActivity },
        { name: "drops", paths: paths.drops },
      ],
    },
    {
      kind: { name: "app without access log", env: { BENCH_SERVER: "app", BENCH_ACCESS_LOG: "off" } },
      targets: [{ name: "holdingsNoAccessLog", paths: paths.holdings }],
    },
  ];

  // --only a,b: just those targets (for a diagnosis); the summary then leaves out what was not measured.
  const only = values.only?.split(",");
  for (const server of servers) server.targets = server.targets.filter((t) => !only || only.includes(t.name));

  const loadBefore = load();
  const results = new Map<string, { atRate: Measure[]; max: Measure[] }>();
  for (let run = 1; run <= RUNS; run++) {
    for (const { kind, targets } of servers) {
      if (targets.length === 0) continue;
      const server = await startServer(kind, database.url);
      try {
        // Warm-up: connections opened, statements planned, JIT-compiled code.
        for (const t of targets) await measure(server, t.paths, { seconds: 2 });
        for (const t of targets) {
          const atRate = await measure(server, t.paths, { rate: RATE, seconds: DURATION });
          const max = await measure(server, t.paths, { seconds: DURATION });
          const entry = results.get(t.name) ?? { atRate: [], max: [] };
          entry.atRate.push(atRate);
          entry.max.push(max);
          results.set(t.name, entry);
          say(
            `run ${run} ${t.name}: at ${RATE}/s: ${atRate.reqPerSec.toFixed(0)} req/s p50 ${atRate.p50} ms p99 ${atRate.p99} ms; ` +
              `max: ${max.reqPerSec.toFixed(0)} req/s p50 ${max.p50} ms p99 ${max.p99} ms, server ${max.serverCpu.toFixed(2)} cores` +
              (atRate.non2xx + max.non2xx + atRate.errors + max.errors
                ? ` — ${atRate.non2xx + max.non2xx} non-2xx, ${atRate.errors + max.errors} errors`
                : "") +
              ` (load ${load().join(" ")})`,
          );
        }
      } finally {
        await server.stop();
      }
    }
  }

  const summary = (ms: Measure[]) => ({
    reqPerSec: Math.round(median(ms.map((m) => m.reqPerSec))),
    p50Ms: median(ms.map((m) => m.p50)),
    p99Ms: median(ms.map((m) => m.p99)),
    serverCpuCores: round(median(ms.map((m) => m.serverCpu)), 2),
    non2xx: ms.reduce((n, m) => n + m.non2xx, 0),
    errors: ms.reduce((n, m) => n + m.errors, 0),
  });
  const routes = Object.fromEntries(
    [...results].map(([name, r]) => [name, { atRate: summary(r.atRate), max: summary(r.max) }]),
  );
  const maxOf = (name: string) => routes[name]?.max.reqPerSec ?? NaN;
  const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? round(a / b, 2) : null);
  const p99AtRate = (name: string) => (routes[name] ? routes[name].atRate.p99Ms <= 20 : null);
  const holdingsVsFloor = ratio(maxOf("holdings"), maxOf("rawHoldingsFloor"));
  const cost = (a: string, b: string) => {
    const r = ratio(maxOf(a), maxOf(b));
    return r === null ? null : round(1 - r, 2);
  };
  const result = {
    wallets: Number(shape.wallets),
    holdersNow: Number(shape.holders_now),
    transfers: Number(shape.transfers),
    events: Number(shape.events),
    seedSeconds: seeded ? round(seeded.seconds) : null,
    runs: RUNS,
    durationSeconds: DURATION,
    rate: RATE,
    ratePacing: "open-loop, evenly spaced",
    maxConnections: CONNECTIONS,
    routes,
    holdingsVsRawFloor: holdingsVsFloor,
    // The share of the holdings route's maximum throughput the access log costs, against none.
    accessLogCost: cost("holdings", "holdingsNoAccessLog"),
    targets: {
      holdingsP99AtRate: p99AtRate("holdings"),
      holdersP99AtRate: p99AtRate("holders"),
      holdingsVsRawFloor: holdingsVsFloor === null ? null : holdingsVsFloor >= 0.7,
    },
    load: { before: loadBefore, after: load() },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await db.end();
  if (values["keep-database"]) say(`database kept: ${database.url}`);
  else await database.drop().catch(() => {});
  await stopSharedTestDatabaseServer();
}
