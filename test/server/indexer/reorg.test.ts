import { expect } from "chai";
import type pg from "pg";
import type { Address } from "viem";
import { Indexer } from "../../../server/indexer/indexer.ts";
import { rebuildProjections } from "../../../server/indexer/store.ts";
import {
  BalanceModel,
  compareWithChain,
  holders,
  prng,
  projectionsSnapshot,
  sendOps,
  type TestChain,
} from "../../../server/testing/chain.ts";
import { useBenchIndexerFixture } from "../../../server/testing/indexer-fixture.ts";

describe("indexer: random reorgs on a real hardhat node", function () {
  const fixture = useBenchIndexerFixture();
  let tc: TestChain;
  let db: pg.Pool;
  let token: Address;
  let indexer: Indexer;
  const owners = holders(6);
  const IDS = 4;

  before(function () {
    ({ tc, db, token } = fixture);
    indexer = new Indexer(fixture.options({ maxBlockRange: 50 }));
  });

  it("equals balanceOf after 60 random reorgs of depth 1-10 mixed with transfers", async function () {
    const rand = prng(4242);
    let model = new BalanceModel();
    const randomBlocks = async (count: number) => {
      for (let i = 0; i < count; i++) {
        if (rand.next() < 0.15) await tc.mine(1);
        else
          await sendOps(
            tc,
            token,
            Array.from({ length: rand.int(1, 4) }, () => model.randomOp(rand, owners, IDS)),
          );
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
