import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type pg from "pg";
import { getAddress, type Address } from "viem";
import { startEmbeddedPostgres, type EmbeddedDatabaseServer } from "../../server/database/embedded-postgres.ts";
import { createPool } from "../../server/database/pool.ts";
import { findFreePort } from "../../server/lib/ports.ts";
import {
  BalanceModel,
  benchTokenArtifact,
  compareWithChain,
  deployBenchToken,
  holders,
  NO_FACTORY,
  prng,
  sendOps,
  startTestChain,
  type TestChain,
} from "../../server/testing/chain.ts";
import { killAllIndexers, spawnServer, type ServerProcess } from "../../server/testing/indexer-process.ts";
import { signalFamily } from "../../server/testing/processes.ts";
import { startTcpProxy, type TcpProxy } from "../../server/testing/tcp-proxy.ts";

/**
 * The running platform under its dependencies' faults, with real processes: `npm run server` (API and indexer in one
 * process, as `npm run dev` runs them) and an API-only process (PERKMINT_ROLES=api), a hardhat node behind a TCP
 * proxy, and an embedded PostgreSQL started here (never the machine's own). For each fault: both processes stay
 * alive, every request is answered within its configured bound (plus slack) with the right status, /health tells the
 * truth, and everything recovers without a restart once the dependency is back. At the end, no balance differs from
 * the chain. The chain "dies" through the proxy (refused and reset connections): a hardhat node keeps no state across
 * a restart, so a real one could not come back; it is killed for real at the very end.
 */

const REQUEST_TIMEOUT_MS = 2000;
/** Every answer must come within the request timeout plus this (a loaded 2-core machine, process scheduling). */
const SLACK_MS = 2000;
const BOUND_MS = REQUEST_TIMEOUT_MS + SLACK_MS;

type Answer = {
  path: string;
  status: number;
  ms: number;
  body: Record<string, unknown>;
  retryAfter: string | null;
  type: string;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the running platform under dependency faults (real processes)", function () {
  this.timeout(180_000);
  let tc: TestChain;
  let proxy: TcpProxy;
  let token: Address;
  let pgDir: string;
  let pgPort: number;
  let postgres: EmbeddedDatabaseServer;
  let databaseUrl: string;
  let db: pg.Pool;
  const servers: { name: string; p: ServerProcess; base: string }[] = [];
  const owners = holders(4);
  const IDS = 3;
  const rand = prng(4242);
  const model = new BalanceModel();
  /** Every answer any probe saw, to check at the end that none was a 5xx outside a dependency fault. */
  const answers: (Answer & { phase: string; dependencyDown: boolean })[] = [];
  let phase = "start";
  let dependencyDown = false;

  const startPostgres = () => startEmbeddedPostgres({ dataDir: pgDir, port: pgPort });

  before(async function () {
    pgDir = await mkdtemp(path.join(os.tmpdir(), "perkmint-faults-pg-"));
    pgPort = await findFreePort();
    [tc, postgres] = await Promise.all([startTestChain(), startPostgres()]);
    await postgres.ensureDatabase("perkmint");
    databaseUrl = postgres.urlFor("perkmint");
    proxy = await startTcpProxy(tc.local.port);
    token = await deployBenchToken(tc);
    for (let i = 0; i < 5; i++) await sendOps(tc, token, randomOps());
    const common = {
      RPC_URL: proxy.httpUrl,
      RPC_WS_URL: proxy.wsUrl,
      DATABASE_URL: databaseUrl,
      FACTORY_ADDRESS: NO_FACTORY,
      INDEXER_EXTRA_CONTRACTS: token,
      START_BLOCK: "0",
      POLL_INTERVAL_MS: "100",
      RPC_TIMEOUT_MS: "800",
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      DATABASE_CONNECT_TIMEOUT_MS: "500",
      DATABASE_STATEMENT_TIMEOUT_MS: "800",
      LOG_LEVEL: "info",
    };
    const [fullPort, apiPort] = [await findFreePort(), await findFreePort()];
    const full = spawnServer({ ...common, PORT: String(fullPort) });
    const api = spawnServer({ ...common, PORT: String(apiPort), PERKMINT_ROLES: "api" });
    servers.push(
      { name: "api+indexer", p: full, base: `http://127.0.0.1:${fullPort}` },
      { name: "api only", p: api, base: `http://127.0.0.1:${apiPort}` },
    );
    await Promise.all(servers.map((s) => s.p.waitFor((l) => l.msg === "HTTP API listening", 60_000)));
    db = createPool(databaseUrl, 2, { onIdleError: () => {} });
  });

  after(async function () {
    await killAllIndexers();
    await db?.end().catch(() => {});
    await proxy?.close();
    await postgres?.stop().catch(() => {});
    await tc?.stop();
    if (pgDir) await rm(pgDir, { recursive: true, force: true });
  });

  function randomOps() {
    return Array.from({ length: rand.int(1, 2) }, () => model.randomOp(rand, owners, IDS));
  }

  async function get(base: string, p: string): Promise<Answer> {
    const started = Date.now();
    const res = await fetch(base + p, { signal: AbortSignal.timeout(BOUND_MS + 5000) });
    const text = await res.text();
    const answer = {
      path: p,
      status: res.status,
      ms: Date.now() - started,
      body: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : {},
      retryAfter: res.headers.get("retry-after"),
      type: res.headers.get("content-type") ?? "",
    };
    answers.push({ ...answer, phase, dependencyDown });
    return answer;
  }

  /** One round of requests to both processes; every answer within its bound, every process alive. */
  async function probe(): Promise<Record<string, Answer[]>> {
    const out: Record<string, Answer[]> = {};
    await Promise.all(
      servers.map(async (s) => {
        expect(s.p.child.exitCode, `${s.name} exited during ${phase}`).to.equal(null);
        const results = await Promise.all([
          get(s.base, "/health"),
          get(s.base, "/v1/collections"),
          get(s.base, `/v1/wallets/${owners[0]}/holdings`),
        ]);
        for (const r of results)
          expect(r.ms, `${s.name} ${r.path} during ${phase}`).to.be.lessThan(
            r.path === "/health" ? 1500 + SLACK_MS : BOUND_MS,
          );
        out[s.name] = results;
      }),
    );
    return out;
  }

  /** Probes until `test` holds for both processes (or fails after `timeoutMs`). */
  async function until(what: string, test: (answers: Answer[]) => boolean, timeoutMs = 20_000) {
    const started = Date.now();
    let last: Record<string, Answer[]> = {};
    while (Date.now() - started < timeoutMs) {
      last = await probe();
      if (Object.values(last).every(test)) return last;
      await sleep(200);
    }
    throw new Error(
      `${phase}: ${what} not seen within ${timeoutMs} ms; last answers: ${JSON.stringify(last).slice(0, 3000)}`,
    );
  }

  const healthy = (a: Answer[]) =>
    a[0]!.status === 200 && a[0]!.body.ok === true && a[1]!.status === 200 && a[2]!.status === 200;
  const indexedHead = async () => {
    const head = await tc.publicClient.getBlockNumber({ cacheTime: 0 });
    return (a: Answer[]) => healthy(a) && BigInt((a[0]!.body.indexedBlock as string) ?? -1) >= head;
  };
  const logsOf = (name: string) => servers.find((s) => s.name === name)!.p.logs;

  it("starts healthy and indexes the chain", async function () {
    phase = "healthy";
    await until("healthy at the head", await indexedHead(), 60_000);
  });

  it("chain hung (SIGSTOP): /v1 still answers from the index, /health says the chain is unreachable; recovers", async function () {
    phase = "chain hung";
    signalFamily(tc.local.pid, "SIGSTOP");
    dependencyDown = true;
    try {
      const seen = await until(
        "chain unreachable in /health",
        (a) => a[0]!.status === 503 && a[0]!.body.chain === "unreachable" && a[0]!.body.database === "ok",
      );
      for (const a of Object.values(seen)) expect([a[1]!.status, a[2]!.status]).to.deep.equal([200, 200]);
    } finally {
      signalFamily(tc.local.pid, "SIGCONT");
      dependencyDown = false;
    }
    phase = "chain resumed";
    await sendOps(tc, token, randomOps());
    await until("healthy at the head again", await indexedHead());
  });

  it("chain gone (connections refused and reset, WebSocket too): the same, and the subscription comes back", async function () {
    phase = "chain gone";
    const lostBefore = logsOf("api+indexer").filter((l) =>
      String(l.msg).startsWith("newHeads subscription lost"),
    ).length;
    await proxy.down();
    dependencyDown = true;
    try {
      await until(
        "chain unreachable in /health",
        (a) => a[0]!.status === 503 && a[0]!.body.chain === "unreachable" && a[1]!.status === 200,
      );
      await sleep(1500); // reconnect attempts keep failing meanwhile
    } finally {
      await proxy.up();
      dependencyDown = false;
    }
    phase = "chain back";
    await sendOps(tc, token, randomOps());
    await until("healthy at the head again", await indexedHead());
    const logs = logsOf("api+indexer");
    expect(
      logs.filter((l) => String(l.msg).startsWith("newHeads subscription lost")).length - lostBefore,
      "the loss is logged once",
    ).to.equal(1);
    await servers[0]!.p.waitFor((l) => l.msg === "newHeads subscription restored", 30_000);
  });

  it("WebSocket dropped and refused while HTTP works: blocks still arrive by polling, /health stays 200", async function () {
    phase = "WebSocket dropped";
    proxy.dropWebSockets({ refuse: true });
    try {
      for (let i = 0; i < 3; i++) {
        await sendOps(tc, token, randomOps());
        await until("the new block indexed by polling", await indexedHead());
      }
    } finally {
      proxy.acceptWebSockets();
    }
    const restored = () => logsOf("api+indexer").filter((l) => l.msg === "newHeads subscription restored").length;
    const before = restored();
    for (let i = 0; restored() === before; i++) {
      if (i > 300) throw new Error("the subscription did not come back");
      await sleep(100);
    }
  });

  it("database hung (SIGSTOP of the server and its backends): 503/504 within the bound, /health says so; recovers, pools not poisoned", async function () {
    phase = "database hung";
    signalFamily(postgres.pid!, "SIGSTOP");
    dependencyDown = true;
    try {
      const seen = await until(
        "database unreachable everywhere",
        (a) =>
          a[0]!.status === 503 &&
          a[0]!.body.database === "unreachable" &&
          [503, 504].includes(a[1]!.status) &&
          [503, 504].includes(a[2]!.status),
      );
      for (const a of Object.values(seen)) {
        for (const r of a.slice(1)) {
          expect(r.type).to.match(/^application\/problem\+json/);
          expect(r.retryAfter).to.equal("5");
        }
      }
      await sleep(1000);
      await probe(); // still bounded a while later, with pools full of timed-out connections
    } finally {
      signalFamily(postgres.pid!, "SIGCONT");
      dependencyDown = false;
    }
    phase = "database resumed";
    await sendOps(tc, token, randomOps());
    await until("healthy at the head again", await indexedHead());
  });

  it("database killed (SIGKILL), then started again: 503 with Retry-After meanwhile, the outage logged once; recovers", async function () {
    phase = "database killed";
    const mark = logsOf("api+indexer").length;
    signalFamily(postgres.pid!, "SIGKILL");
    dependencyDown = true;
    try {
      const seen = await until(
        "database unreachable everywhere",
        (a) => a[0]!.body.database === "unreachable" && a[1]!.status === 503 && a[2]!.status === 503,
      );
      for (const a of Object.values(seen)) expect(a[1]!.retryAfter).to.equal("5");
      await sendOps(tc, token, randomOps()); // the chain moves on while the database is down
      await sleep(3000); // the indexer retries meanwhile (every 100 ms to 10 s, with backoff)
      const during = logsOf("api+indexer").slice(mark);
      const indexerOutage = during.filter((l) => String(l.msg).startsWith("database (indexer) unavailable"));
      expect(indexerOutage.length, JSON.stringify(during.map((l) => l.msg))).to.be.at.most(1);
      expect(during.filter((l) => l.msg === "indexer step failed; retrying")).to.deep.equal([]);
      const lockLines = during.filter((l) => String(l.msg).startsWith("database (writer lock) unavailable"));
      expect(lockLines.length).to.be.at.most(1);
      expect(during.filter((l) => String(l.msg).startsWith("database (API) unavailable")).length).to.be.at.most(1);
    } finally {
      await postgres.stop(); // forget the dead server
      postgres = await startPostgres();
      dependencyDown = false;
    }
    phase = "database back";
    await until("healthy at the head again", await indexedHead(), 30_000);
    const after = logsOf("api+indexer")
      .slice(mark)
      .map((l) => String(l.msg));
    expect(
      after.some((m) => /^database \((indexer|writer lock)\) available again/.test(m)),
      JSON.stringify(after),
    ).to.equal(true);
  });

  it("database restarted (fast shutdown and start): answers stay bounded, then recover without a restart", async function () {
    phase = "database restarting";
    dependencyDown = true;
    const probing = (async () => {
      for (let i = 0; i < 6; i++) await probe();
    })();
    await postgres.stop();
    postgres = await startPostgres();
    await probing;
    dependencyDown = false;
    phase = "database restarted";
    await sendOps(tc, token, randomOps());
    await until("healthy at the head again", await indexedHead(), 30_000);
  });

  it("ends with every balance equal to the chain's, through the database and the API; no 5xx without a fault", async function () {
    phase = "final";
    await sendOps(tc, token, randomOps());
    await until("healthy at the head", await indexedHead());
    expect(await compareWithChain(db, tc, token, owners, IDS)).to.deep.equal([]);
    const { abi } = await benchTokenArtifact();
    for (const owner of owners) {
      const ids = Array.from({ length: IDS }, (_, i) => BigInt(i + 1));
      const balances = (await tc.publicClient.readContract({
        address: token,
        abi,
        functionName: "balanceOfBatch",
        args: [ids.map(() => owner), ids],
      })) as bigint[];
      const expected = ids.flatMap((id, i) =>
        balances[i]! > 0n
          ? [{ collection: getAddress(token), tokenId: id.toString(), amount: balances[i]!.toString() }]
          : [],
      );
      for (const s of servers) {
        const res = await get(s.base, `/v1/wallets/${owner}/holdings`);
        expect(res.body.items, `${s.name} ${owner}`).to.deep.equal(expected);
      }
    }
    const unexpected = answers.filter(
      (a) => a.status >= 500 && !a.dependencyDown && !(a.path === "/health" && a.status === 503),
    );
    // Just after a dependency came back, an answer may still carry its fault (a 503 while the pools reconnect):
    // those are 503/504 problems with Retry-After, never a 500.
    expect(
      unexpected.filter((a) => a.status === 500 || a.retryAfter === null),
      JSON.stringify(unexpected.slice(0, 5)),
    ).to.deep.equal([]);
    expect(
      answers.filter((a) => a.status === 500),
      "no 500 at all",
    ).to.deep.equal([]);
    for (const s of servers)
      expect(
        s.p.logs.filter((l) => l.msg === "unhandled error"),
        s.name,
      ).to.deep.equal([]);
    if (process.env.FAULTS_SUMMARY) {
      // Per phase: the statuses seen and the slowest answer (FAULTS_SUMMARY=1 prints it).
      const phases = new Map<string, { statuses: Set<string>; maxMs: number; healthMaxMs: number }>();
      for (const a of answers) {
        const p = phases.get(a.phase) ?? { statuses: new Set(), maxMs: 0, healthMaxMs: 0 };
        p.statuses.add(`${a.path.split("?")[0]!.replace(/0x[0-9a-fA-F]{40}/, ":address")} ${a.status}`);
        if (a.path === "/health") p.healthMaxMs = Math.max(p.healthMaxMs, a.ms);
        else p.maxMs = Math.max(p.maxMs, a.ms);
        phases.set(a.phase, p);
      }
      for (const [name, p] of phases)
        console.log(
          `    ${name}: ${[...p.statuses].sort().join(", ")}; slowest /v1 ${p.maxMs} ms, /health ${p.healthMaxMs} ms`,
        );
    }
  });

  it("chain process killed for good: both processes stay up, /health says so, /v1 answers from the index", async function () {
    phase = "chain killed";
    dependencyDown = true;
    signalFamily(tc.local.pid, "SIGKILL");
    const seen = await until("chain unreachable", (a) => a[0]!.status === 503 && a[0]!.body.chain === "unreachable");
    for (const a of Object.values(seen)) expect([a[1]!.status, a[2]!.status]).to.deep.equal([200, 200]);
    await sleep(1500);
    for (const s of servers) expect(s.p.child.exitCode, s.name).to.equal(null);
  });
});
