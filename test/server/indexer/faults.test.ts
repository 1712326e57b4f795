import { expect } from "chai";
import type pg from "pg";
import type { Address } from "viem";
import { Indexer } from "../../../server/indexer/indexer.ts";
import {
  BalanceModel,
  compareWithChain,
  holders,
  prng,
  sendOps,
  type TestChain,
} from "../../../server/testing/chain.ts";
import { useBenchIndexerFixture } from "../../../server/testing/indexer-fixture.ts";
import { startFaultProxy, type FaultProxy } from "../../../server/testing/fault-proxy.ts";
import { createPool } from "../../../server/database/pool.ts";
import { createTestDatabase } from "../../../server/testing/database.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("indexer: RPC faults (errors, timeouts, 429, truncated JSON, ranges refused as too wide)", function () {
  const fixture = useBenchIndexerFixture();
  let tc: TestChain;
  let db: pg.Pool;
  let token: Address;
  let proxy: FaultProxy;
  const owners = holders(5);
  const IDS = 3;

  before(async function () {
    ({ tc, db, token } = fixture);
    proxy = await startFaultProxy({ upstream: tc.rpcUrl, faultRate: 0.2, seed: 99, hangMs: 400 });
  });

  after(async function () {
    await proxy?.close();
  });

  it("converges to the exact chain state, backfill then live, through a faulty RPC", async function () {
    const rand = prng(5);
    const model = new BalanceModel();
    for (let i = 0; i < 60; i++) {
      await sendOps(
        tc,
        token,
        Array.from({ length: rand.int(1, 3) }, () => model.randomOp(rand, owners, IDS)),
      );
      if (i % 7 === 0) await tc.mine(rand.int(1, 20));
    }
    const indexer = new Indexer(fixture.options({ rpcUrls: [proxy.url], maxBlockRange: 2, rpcTimeoutMs: 200 }));
    const abort = new AbortController();
    const running = indexer.run(abort.signal);
    const caughtUp = async () => {
      const head = await tc.publicClient.getBlockNumber({ cacheTime: 0 });
      for (let i = 0; indexer.status.indexedBlock !== head; i++) {
        if (i > 3000) throw new Error(`stuck at ${indexer.status.indexedBlock} (head ${head})`);
        await sleep(10);
      }
    };
    await caughtUp();
    // Live: more blocks, and a reorg, while the faults continue.
    for (let i = 0; i < 20; i++) {
      await sendOps(tc, token, [model.randomOp(rand, owners, IDS)]);
      if (i === 10) {
        const snapshot = await tc.snapshot();
        const saved = model.clone();
        for (let j = 0; j < 3; j++) await sendOps(tc, token, [model.randomOp(rand, owners, IDS)]);
        await sleep(50);
        await tc.revert(snapshot);
        model.balances.clear();
        for (const [k, v] of saved.balances) model.balances.set(k, v);
      }
    }
    await caughtUp();
    abort.abort();
    await running;
    const faults = Object.values(proxy.stats.faults).reduce((a, b) => a + b, 0);
    expect(faults, JSON.stringify(proxy.stats)).to.be.at.least(15);
    const kinds = Object.values(proxy.stats.faults).filter((n) => n > 0).length;
    expect(kinds, JSON.stringify(proxy.stats)).to.be.at.least(5);
    expect(await compareWithChain(db, tc, token, owners, IDS)).to.deep.equal([]);
  });

  it("shrinks its log ranges when the node refuses them as too wide, and still indexes every event", async function () {
    const wide = await startFaultProxy({ upstream: tc.rpcUrl, faultRate: 0, seed: 1, maxLogRange: 4 });
    try {
      const rand = prng(8);
      const model = new BalanceModel();
      for (let i = 0; i < 20; i++) await sendOps(tc, token, [model.randomOp(rand, owners, IDS)]);
      // A fresh database of its own: the first test's index must not hide what this one fetches.
      const fresh = await createTestDatabase();
      const freshDb = createPool(fresh.url);
      const indexer = new Indexer(
        fixture.options({ db: freshDb, rpcUrls: [wide.url], maxBlockRange: 64, fetchThread: true }),
      );
      try {
        const head = await tc.publicClient.getBlockNumber({ cacheTime: 0 });
        for (let i = 0; indexer.status.indexedBlock !== head; i++) {
          if (i > 500) throw new Error(`stuck at ${indexer.status.indexedBlock} (head ${head})`);
          await indexer.step().catch((error: unknown) => {
            throw new Error(`a refused range must shrink the next ones, not fail the step: ${String(error)}`);
          });
        }
        expect(wide.stats.refusedRanges).to.be.at.least(1);
        expect(await compareWithChain(freshDb, tc, token, owners, IDS)).to.deep.equal([]);
      } finally {
        await indexer.close();
        await freshDb.end();
        await fresh.drop();
      }
    } finally {
      await wide.close();
    }
  });
});
