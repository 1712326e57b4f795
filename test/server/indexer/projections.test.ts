import { expect } from "chai";
import pino from "pino";
import pg from "pg";
import { getAddress, type Address } from "viem";
import { getHoldings, listWalletActivity } from "../../../server/catalog/ownership.ts";
import { createPrisma, type PrismaClient } from "../../../server/database/client.ts";
import { HeadWatcher } from "../../../server/chain/head-watcher.ts";
import { createApp } from "../../../server/http/app.ts";
import { RpcClient } from "../../../server/indexer/rpc.ts";
import { DeepReorgError, Indexer, type IndexerOptions } from "../../../server/indexer/indexer.ts";
import { getBalanceAt, getEditionSupply, getHeldSince } from "../../../server/indexer/reads.ts";
import {
  applyBatch,
  CHECKPOINT_CHANNEL,
  CheckpointMovedError,
  readCheckpoint,
  readRecentBlocks,
  rebuildProjections,
  rollbackTo,
} from "../../../server/indexer/store.ts";
import {
  compareWithChain,
  holders,
  projectionsSnapshot,
  sendOps,
  ZERO,
  type TestChain,
} from "../../../server/testing/chain.ts";
import { useBenchIndexerFixture } from "../../../server/testing/indexer-fixture.ts";

describe("indexer projections, replay, deep reorgs, /health and /metrics", function () {
  const fixture = useBenchIndexerFixture();
  let tc: TestChain;
  let db: pg.Pool;
  let prisma: PrismaClient;
  let token: Address;
  const [alice, bob, carol] = holders(3) as [Address, Address, Address];
  const options = (): IndexerOptions => fixture.options();

  before(function () {
    ({ tc, db, token } = fixture);
    prisma = createPrisma(fixture.database.url);
  });

  after(async function () {
    await prisma?.$disconnect();
  });

  it("derives balances, held-since, balance as of a block, supply, holders and activity", async function () {
    const block = async () => await tc.publicClient.getBlockNumber({ cacheTime: 0 });
    await sendOps(tc, token, [{ from: ZERO, to: alice, id: 1n, amount: 5n }]);
    const a = await block();
    await sendOps(tc, token, [{ from: alice, to: bob, id: 1n, amount: 5n }]);
    const b = await block();
    await sendOps(tc, token, [{ from: bob, to: alice, id: 1n, amount: 2n }]);
    const c = await block();
    // A self-transfer and a same-block out-and-back do not break continuous holding.
    await sendOps(tc, token, [{ from: alice, to: alice, id: 1n, amount: 2n }]);
    await sendOps(tc, token, [
      { from: bob, to: carol, id: 1n, amount: 3n },
      { from: carol, to: bob, id: 1n, amount: 3n },
    ]);
    await sendOps(tc, token, [{ from: bob, to: ZERO, id: 1n, amount: 1n }]);
    // All of it in one range, so held-since is walked inside a batch.
    const indexer = new Indexer(options());
    await indexer.step();

    expect((await getHeldSince(prisma, 31337, { owner: alice, collection: token, tokenId: 1n }))?.sinceBlock).to.equal(
      c,
    );
    // bob: 0 -> 5 at b; in the same later block 3 -> 0 -> 3, which at transfer granularity restarts holding.
    const bobSince = await getHeldSince(prisma, 31337, { owner: bob, collection: token, tokenId: 1n });
    expect(bobSince?.sinceBlock).to.equal(c + 2n);
    expect(await getHeldSince(prisma, 31337, { owner: carol, collection: token, tokenId: 1n })).to.equal(null);
    expect(
      await getBalanceAt(prisma, 31337, { owner: alice, collection: token, tokenId: 1n, blockNumber: a }),
    ).to.equal(5n);
    expect(
      await getBalanceAt(prisma, 31337, { owner: alice, collection: token, tokenId: 1n, blockNumber: b }),
    ).to.equal(0n);
    expect(
      await getBalanceAt(prisma, 31337, { owner: alice, collection: token, tokenId: 1n, blockNumber: c }),
    ).to.equal(2n);
    expect(await getBalanceAt(prisma, 31337, { owner: bob, collection: token, tokenId: 1n, blockNumber: c })).to.equal(
      3n,
    );
    expect(await getEditionSupply(prisma, 31337, { collection: token, tokenId: 1n })).to.deep.equal({
      minted: 5n,
      burned: 1n,
      supply: 4n,
      holders: 2,
    });
    // Who holds it, and what each wallet did, as the catalog answers them (server/catalog).
    const catalog = { db, chainId: 31337 };
    const holdingOf = async (owner: Address) =>
      (await getHoldings(catalog, owner)).items.map((h) => [h.collection, h.tokenId, h.amount]);
    expect(await holdingOf(alice)).to.deep.equal([[getAddress(token), "1", "2"]]);
    expect(await holdingOf(bob)).to.deep.equal([[getAddress(token), "1", "2"]]);
    expect(await holdingOf(carol)).to.deep.equal([]);
    const activity = await listWalletActivity(catalog, alice, { limit: 10 });
    expect(activity.items.map((x) => x.blockNumber)).to.deep.equal([c + 1n, c, b, a].map(String));
    const page1 = await listWalletActivity(catalog, alice, { limit: 2 });
    const page2 = await listWalletActivity(catalog, alice, { limit: 10, cursor: page1.nextCursor! });
    expect(page2.items.map((x) => x.blockNumber)).to.deep.equal([b, a].map(String));
    // The zero address is left out of the per-wallet indexes and is no wallet: every mint and burn is answered in the
    // activity of the wallet minted to or burned from.
    expect(activity.items.at(-1)).to.include({ kind: "mint", from: ZERO, to: alice, amount: "5" });
    const bobActivity = await listWalletActivity(catalog, bob, { limit: 1 });
    expect(bobActivity.items[0]).to.include({ kind: "burn", from: bob, to: ZERO, amount: "1" });
    expect((await listWalletActivity(catalog, ZERO)).items).to.deep.equal([]);
    expect(
      await getBalanceAt(prisma, 31337, { owner: ZERO, collection: token, tokenId: 1n, blockNumber: c + 3n }),
    ).to.equal(-4n);

    const before = await projectionsSnapshot(db);
    const rebuilt = await rebuildProjections(db, 31337);
    expect(rebuilt.events).to.equal(7);
    expect(await projectionsSnapshot(db)).to.deep.equal(before);
  });

  it("applying the same batch twice changes nothing; a batch that does not extend the checkpoint is refused", async function () {
    const checkpoint = (await readCheckpoint(db, 31337))!;
    const [head] = await readRecentBlocks(db, 31337, 1);
    const before = await projectionsSnapshot(db);
    const replay = await applyBatch(db, { chainId: 31337, previous: null, head: head!, headers: [], events: [] });
    expect(replay.alreadyApplied).to.equal(true);
    expect(await projectionsSnapshot(db)).to.deep.equal(before);
    const stale = { ...head!, number: head!.number + 1n, hash: `0x${"ab".repeat(32)}` };
    let error: unknown;
    try {
      await applyBatch(db, {
        chainId: 31337,
        previous: { blockNumber: checkpoint.blockNumber - 1n, blockHash: "0x00" },
        head: stale,
        headers: [],
        events: [],
      });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(CheckpointMovedError);
    expect(await projectionsSnapshot(db)).to.deep.equal(before);
  });

  it("stops with DeepReorgError on a reorg deeper than the finality depth; the operator rewind recovers", async function () {
    const indexer = new Indexer({ ...options(), finalityDepth: 3 });
    await indexer.step();
    const forkBase = await tc.publicClient.getBlockNumber({ cacheTime: 0 });
    const snapshot = await tc.snapshot();
    for (let i = 0; i < 6; i++) await sendOps(tc, token, [{ from: ZERO, to: carol, id: 2n, amount: 1n }]);
    await indexer.step();
    await tc.revert(snapshot);
    for (let i = 0; i < 8; i++) await sendOps(tc, token, [{ from: ZERO, to: bob, id: 3n, amount: 1n }]);
    let error: unknown;
    try {
      await indexer.step();
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(DeepReorgError);
    expect((error as Error).message).to.match(/indexer:rebuild -- --rewind/);
    // What `npm run indexer:rebuild -- --rewind <block>` does, below the fork:
    const header = await tc.publicClient.getBlock({ blockNumber: forkBase });
    await rollbackTo(db, 31337, { number: forkBase, hash: header.hash });
    await indexer.step();
    expect(await compareWithChain(db, tc, token, [alice, bob, carol], 3)).to.deep.equal([]);
  });

  it("announces every move of the checkpoint on its channel: batches and rollbacks", async function () {
    const listener = new pg.Client({ connectionString: fixture.database.url });
    await listener.connect();
    const notices: { chainId: number; block: string; hash: string }[] = [];
    listener.on("notification", (n) => {
      if (n.channel === CHECKPOINT_CHANNEL) notices.push(JSON.parse(n.payload!) as (typeof notices)[number]);
    });
    try {
      await listener.query(`LISTEN ${CHECKPOINT_CHANNEL}`);
      const indexer = new Indexer(options());
      await indexer.step();
      const start = await readCheckpoint(db, 31337);
      await sendOps(tc, token, [{ from: ZERO, to: carol, id: 4n, amount: 1n }]);
      await sendOps(tc, token, [{ from: ZERO, to: carol, id: 4n, amount: 1n }]);
      await indexer.step();
      const moved = await readCheckpoint(db, 31337);
      const header = await tc.publicClient.getBlock({ blockNumber: start!.blockNumber });
      await rollbackTo(db, 31337, { number: start!.blockNumber, hash: header.hash });
      // Notifications arrive after their commit; one round trip on the listener lets them in.
      await listener.query("SELECT 1");
      const last = notices.slice(-2);
      expect(last).to.deep.equal([
        { chainId: 31337, block: moved!.blockNumber.toString(), hash: moved!.blockHash },
        { chainId: 31337, block: start!.blockNumber.toString(), hash: header.hash },
      ]);
      await indexer.step();
      expect(await compareWithChain(db, tc, token, [alice, bob, carol], 4)).to.deep.equal([]);
    } finally {
      await listener.end();
    }
  });

  it("serves /health with lag in blocks and seconds, and /metrics", async function () {
    // intervalMs 1: every tick() looks at the chain again.
    const chainHead = new HeadWatcher({ rpc: new RpcClient({ urls: [tc.rpcUrl], maxAttempts: 1 }), intervalMs: 1 });
    await chainHead.tick();
    const app = createApp({ prisma, chainHead, chainId: 31337, confirmations: 0, logger: pino({ level: "silent" }) });
    const server = await new Promise<import("node:http").Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    try {
      const address = server.address() as { port: number };
      const health = await fetch(`http://127.0.0.1:${address.port}/health`);
      const body = (await health.json()) as Record<string, unknown>;
      expect(health.status).to.equal(200);
      expect(body).to.include({ ok: true, stalled: false, lagBlocks: "0", lagSeconds: 0 });
      // The head moves and the indexer does not: stalled once the checkpoint is older than the stall window.
      await tc.mine(2);
      await db.query("UPDATE indexer_checkpoint SET updated_at = now() - interval '1 hour'");
      await chainHead.tick();
      const stalled = await fetch(`http://127.0.0.1:${address.port}/health`);
      expect(stalled.status).to.equal(503);
      expect(await stalled.json()).to.include({ ok: false, stalled: true, lagBlocks: "2" });
      const metrics = await fetch(`http://127.0.0.1:${address.port}/metrics`);
      expect(metrics.status).to.equal(200);
      const text = await metrics.text();
      expect(text).to.contain("perkmint_indexer_events_total");
      expect(text).to.contain("perkmint_indexer_reorgs_total");
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});
