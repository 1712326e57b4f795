import { expect } from "chai";
import type pg from "pg";
import type { Address } from "viem";
import { createPool } from "../../../server/database/pool.ts";
import { rebuildProjections } from "../../../server/indexer/store.ts";
import {
  BalanceModel,
  compareWithChain,
  deployBenchToken,
  holders,
  NO_FACTORY,
  prng,
  projectionsSnapshot,
  sendOps,
  startTestChain,
  type TestChain,
} from "../../../server/testing/chain.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";
import { killAllIndexers, spawnIndexer } from "../../../server/testing/indexer-process.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function checkpointOf(db: pg.Pool): Promise<bigint> {
  const { rows } = await db.query<{ block_number: string }>(
    "SELECT block_number FROM indexer_checkpoint WHERE chain_id = 31337",
  );
  return BigInt(rows[0]?.block_number ?? -1);
}

async function waitForCheckpoint(db: pg.Pool, block: bigint, timeoutMs = 60_000) {
  const started = Date.now();
  while ((await checkpointOf(db)) < block) {
    if (Date.now() - started > timeoutMs) throw new Error(`checkpoint did not reach ${block}`);
    await sleep(20);
  }
}

describe("indexer process: SIGKILL at random points, standby takeover", function () {
  let tc: TestChain;
  let database: TestDatabase;
  let db: pg.Pool;
  let token: Address;
  let env: Record<string, string>;
  const owners = holders(5);
  const IDS = 3;
  const rand = prng(777);
  const model = new BalanceModel();
  const randomOps = () => Array.from({ length: rand.int(1, 3) }, () => model.randomOp(rand, owners, IDS));

  before(async function () {
    [tc, database] = await Promise.all([startTestChain(), createTestDatabase()]);
    db = createPool(database.url);
    token = await deployBenchToken(tc);
    // A backfill of ~800 blocks in ranges of 3 blocks: hundreds of small transactions to be killed in the middle of.
    for (let i = 0; i < 80; i++) {
      await sendOps(tc, token, randomOps());
      if (i % 10 === 0) await tc.mine(rand.int(50, 100));
    }
    env = {
      RPC_URL: tc.rpcUrl,
      DATABASE_URL: database.url,
      FACTORY_ADDRESS: NO_FACTORY,
      INDEXER_EXTRA_CONTRACTS: token,
      START_BLOCK: "0",
      MAX_BLOCK_RANGE: "3",
      INDEXER_FETCH_CONCURRENCY: "2",
      POLL_INTERVAL_MS: "20",
    };
  });

  after(async function () {
    await killAllIndexers();
    await db?.end();
    await database?.drop();
    await tc?.stop();
  });

  it("converges to the chain after 24 kills during backfill and live sync, with no event applied twice", async function () {
    const progress: bigint[] = [];
    let kills = 0;
    for (let round = 0; round < 24; round++) {
      const live = round >= 12;
      const p = spawnIndexer(env);
      await p.waitFor((l) => l.msg === "indexer started");
      let sending: Promise<unknown> = Promise.resolve();
      if (live) {
        sending = (async () => {
          for (let i = rand.int(1, 3); i > 0; i--) await sendOps(tc, token, randomOps());
        })();
      }
      await sleep(rand.int(20, 300));
      const { signal } = await p.kill("SIGKILL");
      await sending;
      if (signal === "SIGKILL") kills++;
      progress.push(await checkpointOf(db));
    }
    expect(kills).to.be.at.least(20);
    // It made progress across kills (each run resumed where the last one committed).
    expect(progress.at(-1)! > progress[0]!).to.equal(true);

    const p = spawnIndexer(env);
    await p.waitFor((l) => l.msg === "indexer started");
    const head = await tc.publicClient.getBlockNumber({ cacheTime: 0 });
    await waitForCheckpoint(db, head);
    await p.kill("SIGTERM");
    expect((await p.exited).code).to.equal(0);

    expect(await compareWithChain(db, tc, token, owners, IDS)).to.deep.equal([]);
    // Every log once, and only once.
    const logs = await tc.publicClient.getLogs({ address: token, fromBlock: 0n, toBlock: head });
    const stored = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM chain_event WHERE chain_id = 31337");
    expect(Number(stored.rows[0]!.n)).to.equal(logs.length);
    const before = await projectionsSnapshot(db);
    await rebuildProjections(db, 31337);
    expect(await projectionsSnapshot(db)).to.deep.equal(before);
  });

  it("runs one writer per chain: a standby takes over when the writer is killed", async function () {
    const a = spawnIndexer(env);
    await a.waitFor((l) => l.msg === "indexer started");
    const head = await tc.publicClient.getBlockNumber({ cacheTime: 0 });
    await waitForCheckpoint(db, head);
    const b = spawnIndexer(env);
    await b.waitFor((l) => typeof l.msg === "string" && l.msg.includes("standby"));
    await a.kill("SIGKILL");
    await b.waitFor((l) => l.msg === "standby took over as the writer");
    for (let i = 0; i < 3; i++) await sendOps(tc, token, randomOps());
    await waitForCheckpoint(db, await tc.publicClient.getBlockNumber({ cacheTime: 0 }));
    await b.kill("SIGTERM");
    expect(await compareWithChain(db, tc, token, owners, IDS)).to.deep.equal([]);
  });
});
