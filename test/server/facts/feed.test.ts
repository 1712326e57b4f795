import { expect } from "chai";
import type pg from "pg";
import type { Address } from "viem";
import { catchUp, consumeOnce, type FactConsumer } from "../../../server/facts/consumer.ts";
import { factKey, feedHead, readFacts } from "../../../server/facts/feed.ts";
import { Indexer } from "../../../server/indexer/indexer.ts";
import { resetChainIndex } from "../../../server/indexer/store.ts";
import { BalanceModel, holders, prng, sendOps, type TestChain } from "../../../server/testing/chain.ts";
import { useBenchIndexerFixture } from "../../../server/testing/indexer-fixture.ts";

/**
 * A consumer that derives balances from the feed alone: each transfer fact adds to the recipient and takes from the
 * sender, remembered by fact key so that its retraction undoes exactly that. If the feed is right, these balances
 * equal the indexer's own projection after any history of reorgs.
 */
const balancesFromFeed: FactConsumer = {
  name: "test-balances",
  async apply(tx, facts) {
    for (const fact of facts) {
      if (!fact.applied) {
        await tx.query(
          `WITH gone AS (DELETE FROM feed_effect WHERE fact_key LIKE $1 || '#%' RETURNING owner, token_id, delta),
                sums AS (SELECT owner, token_id, sum(delta) AS delta FROM gone GROUP BY owner, token_id)
           UPDATE feed_balance b SET amount = b.amount - s.delta FROM sums s WHERE b.owner = s.owner AND b.token_id = s.token_id`,
          [factKey(fact)],
        );
        continue;
      }
      const e = fact.event;
      if (!e || e.name !== "TransferSingle") continue;
      const moves: [string, bigint][] = [];
      if (e.from !== "0x0000000000000000000000000000000000000000")
        moves.push([e.from!, -BigInt(e.args.value as string)]);
      if (e.to !== "0x0000000000000000000000000000000000000000") moves.push([e.to!, BigInt(e.args.value as string)]);
      for (const [i, [owner, delta]] of moves.entries()) {
        await tx.query("INSERT INTO feed_effect (fact_key, owner, token_id, delta) VALUES ($1, $2, $3, $4)", [
          `${factKey(fact)}#${i}`,
          owner,
          e.args.id,
          delta.toString(),
        ]);
        await tx.query(
          `INSERT INTO feed_balance (owner, token_id, amount) VALUES ($1, $2, $3)
           ON CONFLICT (owner, token_id) DO UPDATE SET amount = feed_balance.amount + EXCLUDED.amount`,
          [owner, e.args.id, delta.toString()],
        );
      }
    }
  },
};

describe("facts feed: every stored event applied once, every removed one retracted once, in commit order", function () {
  const fixture = useBenchIndexerFixture();
  let tc: TestChain;
  let db: pg.Pool;
  let token: Address;
  let indexer: Indexer;
  const owners = holders(5);

  before(async function () {
    ({ tc, db, token } = fixture);
    indexer = new Indexer(fixture.options({ maxBlockRange: 20 }));
    await db.query(`CREATE TABLE feed_balance (owner text, token_id numeric, amount numeric, PRIMARY KEY (owner, token_id));
                    CREATE TABLE feed_effect (fact_key text PRIMARY KEY, owner text, token_id numeric, delta numeric)`);
  });

  /** The feed replayed: each key's count must stay 0 or 1, and the keys left are the stored events. */
  async function replayFeed() {
    const facts = await readFacts(db, 31337, 0n, 1_000_000);
    const live = new Map<string, number>();
    facts.forEach((f, i) => {
      expect(f.seq, "gapless sequence").to.equal(BigInt(i + 1));
      const n = (live.get(factKey(f)) ?? 0) + (f.applied ? 1 : -1);
      expect(n, `fact ${factKey(f)} at seq ${f.seq}`).to.be.oneOf([0, 1]);
      if (n === 0) live.delete(factKey(f));
      else live.set(factKey(f), n);
    });
    const { rows } = await db.query<{ key: string }>(
      `SELECT e.chain_id || ':' || b.hash || ':' || e.log_index AS key FROM chain_event e
       JOIN event_block b ON b.chain_id = e.chain_id AND b.number = e.block_number WHERE e.chain_id = 31337`,
    );
    return { live: [...live.keys()].sort(), stored: rows.map((r) => r.key).sort(), facts };
  }

  async function balancesDiffer() {
    const { rows } = await db.query<{ owner: string }>(
      `SELECT coalesce(t.owner, f.owner) AS owner FROM
         (SELECT owner, token_id, amount FROM token_balance WHERE chain_id = 31337 AND collection = $1 AND amount > 0) t
       FULL JOIN (SELECT * FROM feed_balance WHERE amount <> 0) f ON f.owner = t.owner AND f.token_id = t.token_id
       WHERE t.amount IS DISTINCT FROM f.amount`,
      [token.toLowerCase()],
    );
    return rows;
  }

  it("after 25 random reorgs, replaying the feed gives exactly the stored events, and a consumer of it the balances", async function () {
    const rand = prng(77);
    let model = new BalanceModel();
    const randomBlocks = async (count: number) => {
      for (let i = 0; i < count; i++)
        await sendOps(
          tc,
          token,
          Array.from({ length: rand.int(1, 3) }, () => model.randomOp(rand, owners, 3)),
        );
    };
    await randomBlocks(10);
    await indexer.step();
    for (let round = 0; round < 25; round++) {
      const snapshot = await tc.snapshot();
      const saved = model.clone();
      const depth = rand.int(1, 6);
      await randomBlocks(depth);
      await indexer.step();
      // The consumer sometimes reads the doomed branch before the reorg is seen, sometimes not.
      if (rand.next() < 0.5) await consumeOnce(db, 31337, balancesFromFeed, rand.int(1, 40));
      await tc.revert(snapshot);
      model = saved;
      await randomBlocks(rand.int(1, depth + 2));
      await indexer.step();
    }
    await indexer.step();
    expect(indexer.status.reorgs).to.be.greaterThan(10);
    const { live, stored, facts } = await replayFeed();
    expect(live).to.deep.equal(stored);
    expect(facts.some((f) => !f.applied)).to.equal(true);
    // Two workers racing on the same consumer take every fact once between them.
    await Promise.all([catchUp(db, 31337, balancesFromFeed), catchUp(db, 31337, balancesFromFeed)]);
    expect(await balancesDiffer()).to.deep.equal([]);
  });

  it("a fact read after its retraction is offered without its event (the event is gone from that branch)", async function () {
    const { facts } = await replayFeed();
    const retracted = new Set(facts.filter((f) => !f.applied).map(factKey));
    const appliedThenRetracted = facts.filter((f) => f.applied && retracted.has(factKey(f)));
    expect(appliedThenRetracted.length).to.be.greaterThan(0);
    // Every one of them is either gone (no event) or back on the indexed branch (applied again later in the feed).
    const appliedAgain = (f: (typeof facts)[number]) =>
      facts.some((g) => g.seq > f.seq && g.applied && factKey(g) === factKey(f));
    for (const f of appliedThenRetracted) expect(f.event === null || appliedAgain(f)).to.equal(true);
  });

  it("a reset retracts every stored event and keeps numbering; re-indexing applies them again", async function () {
    const before = await feedHead(db, 31337);
    const stored = (await replayFeed()).stored.length;
    await resetChainIndex(db, 31337);
    expect(await feedHead(db, 31337)).to.equal(before + BigInt(stored));
    expect((await replayFeed()).live).to.deep.equal([]);
    await catchUp(db, 31337, balancesFromFeed);
    expect((await db.query("SELECT 1 FROM feed_balance WHERE amount <> 0")).rowCount).to.equal(0);
    await new Indexer(fixture.options({ maxBlockRange: 20 })).step();
    const { live, stored: again } = await replayFeed();
    expect(live).to.deep.equal(again);
    await catchUp(db, 31337, balancesFromFeed);
    expect(await balancesDiffer()).to.deep.equal([]);
  });
});
