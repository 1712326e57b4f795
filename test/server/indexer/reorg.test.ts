import { expect } from "chai";
import pino from "pino";
import type pg from "pg";
import type { Address } from "viem";
import { createPool } from "../../../server/database/client.ts";
import { Indexer } from "../../../server/indexer/indexer.ts";
import { rebuildProjections } from "../../../server/indexer/store.ts";
import {
  BalanceModel,
  compareWithChain,
  deployBenchToken,
  NO_FACTORY,
  holders,
  prng,
  projectionsSnapshot,
  sendOps,
  startTestChain,
  type TestChain,
} from "../../../server/testing/chain.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";

describe("indexer: random reorgs on a real hardhat node", function () {
  let tc: TestChain;
  let database: TestDatabase;
  let db: pg.Pool;
  let token: Address;
  let indexer: Indexer;
  const owners = holders(6);
  const IDS = 4;

  before(async function () {
    [tc, database] = await Promise.all([startTestChain(), createTestDatabase()]);
    db = createPool(database.url);
    token = await deployBenchToken(tc);
    indexer = new Indexer({
      db,
      rpcUrls: [tc.rpcUrl],
      chainId: 31337,
      factory: NO_FACTORY,
      extraContracts: [token],
      startBlock: 0n,
      confirmations: 0,
      finalityDepth: 64,
      pollIntervalMs: 10,
      maxBlockRange: 50,
      writerLock: false,
      logger: pino({ level: "silent" }),
    });
  });

  after(async function () {
    await db?.end();
    await database?.drop();
    await tc?.stop();
  });

  it("equals balanceOf after 60 random reorgs of depth 1-10 mixed with transfers", async function () {
    const rand = prng(4242);
    let model = new BalanceModel();
    const randomBlocks = async (count: number) => {
      for (let i = 0; i < count; i++) {
        if (rand.next() < 0.15) await tc.mine(1);
        else await sendOps(tc, token, Array.from({ length: rand.int(1, 4) }, () => model.randomOp(rand, owners, IDS)));
      }
    };
    await randomBlocks(20);
    await indexer.step();
    let reorgs = 0;
    for (let round = 0; round < 60; round++) {
      const snapshot = await tc.snapshot();
      const saved = model.clone();
      const depth = rand.int(1, 10);
      await randomBlocks(depth);
      // The indexer sees the doomed branch, fully or partly.
      if (rand.next() < 0.8) await indexer.step();
      await tc.revert(snapshot);
      model = saved;
      await randomBlocks(rand.int(1, depth + 2));
      if (rand.next() < 0.7) await indexer.step();
      reorgs++;
    }
    await indexer.step();
    expect(reorgs).to.equal(60);
    expect(indexer.status.reorgs).to.be.greaterThan(30);
    expect(await compareWithChain(db, tc, token, owners, IDS)).to.deep.equal([]);

    // Projections rebuilt from the raw events alone equal the ones the forward path and rollbacks maintained.
    const before = await projectionsSnapshot(db);
    await rebuildProjections(db, 31337);
    expect(await projectionsSnapshot(db)).to.deep.equal(before);
  });
});
