import { expect } from "chai";
import type pg from "pg";
import {
  encodeFunctionData,
  getContractAddress,
  toHex,
  zeroAddress,
  zeroHash,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { loadArtifact } from "../../server/chain/artifacts.ts";
import type { PlatformDeployment } from "../../server/chain/deploy.ts";
import { DEV_MNEMONIC } from "../../server/chain/demo-seed.ts";
import { createPool } from "../../server/database/pool.ts";
import { feedHead } from "../../server/facts/feed.ts";
import { Indexer } from "../../server/indexer/indexer.ts";
import { inTransaction } from "../../server/database/transaction.ts";
import { startJobQueue } from "../../server/jobs/queue.ts";
import { createLogger } from "../../server/lib/logger.ts";
import { appendEntries } from "../../server/loyalty/ledger.ts";
import { createOffer, redeem, VOUCHER_EXPIRY_QUEUE } from "../../server/loyalty/redemptions.ts";
import { pointsRulesSchema, saveRulesVersion } from "../../server/loyalty/rules.ts";
import { createVoucherSigner } from "../../server/loyalty/voucher-signer.ts";
import { deployTestPlatform, prng, startTestChain, type TestChain } from "../../server/testing/chain.ts";
import { createTestDatabase, type TestDatabase } from "../../server/testing/database.ts";
import { killAllIndexers, spawnServer, type ServerProcess } from "../../server/testing/indexer-process.ts";

const FINALITY = 2;

/**
 * The worker as `npm run worker` runs it, in processes of its own: killed with SIGKILL at random points while mints
 * stream in, it still awards every mint exactly once; two workers running the same voucher-expiry job at once refund
 * it once.
 */
describe("worker: SIGKILL at random points, and two workers on one job", function () {
  this.timeout(600_000);
  let tc: TestChain;
  let database: TestDatabase;
  let db: pg.Pool;
  let platform: PlatformDeployment;
  let collectionAbi: Abi;
  let collection: Address;
  let indexer: Indexer;
  const logger = createLogger("silent");
  const wallets = Array.from({ length: 6 }, (_, i) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 10 + i }));

  const send = async (from: Address, to: Address, abi: Abi, functionName: string, args: unknown[]) => {
    const data = encodeFunctionData({ abi, functionName, args });
    const hash = await tc.rpc<Hex>("eth_sendTransaction", [{ from, to, data, gas: "0x7a1200" }]);
    const receipt = await tc.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
  };
  const index = async () => {
    while ((await indexer.step()) > 0);
  };
  const workerEnv = () => ({
    PERKMINT_ROLES: "worker",
    RPC_URL: tc.rpcUrl,
    DATABASE_URL: database.url,
    FACTORY_ADDRESS: platform.factory,
    START_BLOCK: platform.startBlock.toString(),
    POINTS_FINALITY: String(FINALITY),
    POLL_INTERVAL_MS: "100",
    LOG_LEVEL: "debug",
  });
  const startWorkerProcess = async (): Promise<ServerProcess> => {
    const p = spawnServer(workerEnv());
    await p.waitFor((l) => l.msg === "worker started", 90_000);
    return p;
  };

  before(async function () {
    [tc, database] = await Promise.all([startTestChain(), createTestDatabase()]);
    db = createPool(database.url);
    platform = await deployTestPlatform(tc);
    collectionAbi = (await loadArtifact("Collection")).abi;
    const factoryAbi = (await loadArtifact("EditionFactory")).abi;
    const me = tc.wallet.account.address;
    collection = getContractAddress({
      from: platform.factory,
      nonce: BigInt(await tc.publicClient.getTransactionCount({ address: platform.factory })),
    });
    await send(me, platform.factory, factoryAbi, "createCollection", ["ipfs://c", me, 0n, 1000n]);
    const edition = {
      maxSupply: 1_000_000,
      referralBps: 0,
      soulbound: false,
      redeemable: false,
      royaltyReceiver: zeroAddress,
      royaltyBps: 0n,
      uri: "ipfs://e",
    };
    const open = { start: 0, end: 2 ** 32 - 1, price: 0n, walletLimit: 0, merkleRoot: zeroHash };
    await send(me, collection, collectionAbi, "createEdition", [edition, [open]]);
    await send(me, collection, collectionAbi, "createEdition", [edition, []]);
    await inTransaction(db, (tx) =>
      saveRulesVersion(tx, pointsRulesSchema.parse({ mint: [{ pointsPerUnit: 1 }] }), me.toLowerCase(), null),
    );
    indexer = new Indexer({
      db,
      rpcUrls: [tc.rpcUrl],
      chainId: 31337,
      factory: platform.factory,
      startBlock: platform.startBlock,
      confirmations: 0,
      finalityDepth: 64,
      pollIntervalMs: 10,
      maxBlockRange: 5,
      writerLock: false,
      logger,
    });
    await index();
  });

  after(async function () {
    await killAllIndexers();
    await indexer?.close();
    await db?.end();
    await database?.drop();
    await tc?.stop();
  });

  it("awards every mint exactly once across 20 SIGKILLs of the worker while mints stream in", async function () {
    const rand = prng(20261201);
    const minted = new Map<string, number>();
    let streaming = true;
    // Mints stream in (and are indexed) for as long as the worker is being killed.
    const stream = (async () => {
      while (streaming) {
        const w = wallets[rand.int(0, wallets.length - 1)]!;
        const quantity = rand.int(1, 5);
        await send(w.address, collection, collectionAbi, "mint", [1n, w.address, BigInt(quantity), 0n, zeroAddress]);
        minted.set(w.address.toLowerCase(), (minted.get(w.address.toLowerCase()) ?? 0) + quantity);
        await index();
      }
    })();
    let kills = 0;
    for (let i = 0; i < 20; i++) {
      const worker = spawnServer(workerEnv());
      // Some die while starting, most while reading the feed.
      if (rand.next() < 0.75) await worker.waitFor((l) => l.msg === "worker started", 90_000);
      await new Promise((r) => setTimeout(r, rand.int(0, 400)));
      const { signal } = await worker.kill("SIGKILL");
      if (signal === "SIGKILL") kills++;
    }
    streaming = false;
    await stream;
    expect(kills).to.equal(20);
    await tc.mine(FINALITY);
    await index();

    // One last worker, left to finish: every award made once, and made available.
    const last = await startWorkerProcess();
    const head = await feedHead(db, 31337);
    for (let tries = 0; ; tries++) {
      const { rows } = await db.query<{ seq: string; pending: number }>(
        `SELECT (SELECT seq::text FROM fact_cursor WHERE consumer = 'points-awards' AND chain_id = 31337) AS seq,
                (SELECT count(*)::int FROM points_award WHERE status = 'pending') AS pending`,
      );
      if (rows[0]!.seq === head.toString() && rows[0]!.pending === 0) break;
      if (tries > 600) throw new Error(`the worker did not catch up: ${JSON.stringify(rows[0])}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await last.kill("SIGTERM");

    const mints = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM chain_event WHERE chain_id = 31337 AND name = 'Minted'",
    );
    const awards = await db.query<{ n: number; facts: number }>(
      "SELECT count(*)::int AS n, count(DISTINCT fact_key)::int AS facts FROM points_award WHERE status = 'available'",
    );
    expect(awards.rows[0]).to.deep.equal({ n: mints.rows[0]!.n, facts: mints.rows[0]!.n });
    const { rows: balances } = await db.query<{ wallet: string; available: string; pending: string }>(
      "SELECT wallet, available::text, pending::text FROM points_balance WHERE available > 0 OR pending > 0",
    );
    expect(Object.fromEntries(balances.map((b) => [b.wallet, Number(b.available)]))).to.deep.equal(
      Object.fromEntries(minted),
    );
    expect(balances.every((b) => b.pending === "0")).to.equal(true);
    // Each balance is the sum of its wallet's ledger entries.
    const { rows: drift } = await db.query(
      `SELECT b.wallet FROM points_balance b LEFT JOIN (
         SELECT wallet, sum(amount) FILTER (WHERE bucket = 'available') AS available,
                coalesce(sum(amount) FILTER (WHERE bucket = 'pending'), 0) AS pending
         FROM points_entry GROUP BY wallet) e ON e.wallet = b.wallet
       WHERE b.available <> coalesce(e.available, 0) OR b.pending <> coalesce(e.pending, 0)`,
    );
    expect(drift).to.deep.equal([]);
  });

  it("two workers running an expired voucher's job at once (a duplicate delivery) refund it exactly once", async function () {
    const buyer = wallets[0]!;
    const wallet = buyer.address.toLowerCase();
    await inTransaction(db, (tx) =>
      appendEntries(tx, [
        {
          wallet,
          bucket: "available",
          amount: 50n,
          reason: "adjustment",
          reference: "test",
          idempotencyKey: "grant-refund-test",
          earnedAt: new Date(),
          operator: tc.wallet.account.address.toLowerCase(),
          comment: "test grant",
        },
      ]),
    );
    const before = (
      await db.query<{ available: string }>("SELECT available::text FROM points_balance WHERE wallet = $1", [wallet])
    ).rows[0]!.available;
    const now = Date.now();
    await createOffer(
      db,
      31337,
      {
        collection,
        tokenId: 2n,
        price: 50n,
        stock: 5,
        walletLimit: 5,
        startsAt: new Date(now - 60_000),
        endsAt: new Date(now + 3_600_000),
      },
      tc.wallet.account.address,
    );
    const sender = await startJobQueue({ databaseUrl: database.url, role: "sender", logger });
    try {
      const { redemption } = await redeem(
        {
          db,
          chainId: 31337,
          signer: createVoucherSigner({
            privateKey: toHex(mnemonicToAccount(DEV_MNEMONIC).getHdKey().privateKey!),
            chainId: 31337,
            factory: platform.factory,
            publicClient: tc.publicClient,
          }),
          enqueue: sender.enqueue,
          voucherTtlSeconds: 2,
        },
        { wallet: buyer.address, collection, tokenId: 2n, quantity: 1, idempotencyKey: "refund-race-1" },
      );
      // At least once: the same check delivered twice, due at the deadline.
      await inTransaction(db, (tx) =>
        sender.enqueue(tx, VOUCHER_EXPIRY_QUEUE, { redemptionId: redemption.id }, { startAfter: new Date(now + 2000) }),
      );
      // The chain moves past the deadline, and that is final in the index.
      await tc.rpc("evm_increaseTime", [120]);
      await tc.mine(FINALITY + 1);
      await index();
      const workers = await Promise.all([startWorkerProcess(), startWorkerProcess()]);
      for (let tries = 0; ; tries++) {
        const { rows } = await db.query<{ status: string }>("SELECT status FROM points_redemption WHERE id = $1", [
          redemption.id,
        ]);
        if (rows[0]!.status === "refunded") break;
        if (tries > 600) throw new Error("the voucher was not refunded");
        await new Promise((r) => setTimeout(r, 100));
      }
      // Both deliveries run (on either worker) before the workers stop.
      const checksOf = () =>
        workers.flatMap((w) =>
          w.logs.filter((l) => l.msg === "voucher expiry check" && l.redemptionId === redemption.id),
        );
      for (let tries = 0; checksOf().length < 2; tries++) {
        if (tries > 600) throw new Error(`expected two expiry checks, saw ${JSON.stringify(checksOf())}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await Promise.all(workers.map((w) => w.kill("SIGTERM")));
      const refunds = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM points_entry WHERE reason = 'refund' AND reference LIKE $1",
        [`%${redemption.id}%`],
      );
      expect(refunds.rows[0]!.n).to.equal(1);
      expect(
        checksOf()
          .map((c) => c.outcome)
          .sort(),
      ).to.deep.equal(["already-settled", "refunded"]);
      const after = (
        await db.query<{ available: string }>("SELECT available::text FROM points_balance WHERE wallet = $1", [wallet])
      ).rows[0]!.available;
      expect(after).to.equal(before);
    } finally {
      await sender.stop();
    }
  });
});
