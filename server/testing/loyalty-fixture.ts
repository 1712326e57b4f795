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
  type LocalAccount,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { loadArtifact } from "../chain/artifacts.ts";
import type { PlatformDeployment } from "../chain/deploy.ts";
import { DEV_MNEMONIC } from "../chain/demo-seed.ts";
import { createPrisma, type PrismaClient } from "../database/client.ts";
import { createPool } from "../database/pool.ts";
import { catchUp, type FactConsumer } from "../facts/consumer.ts";
import { Indexer } from "../indexer/indexer.ts";
import { startJobQueue, type JobQueue } from "../jobs/queue.ts";
import { createLogger } from "../lib/logger.ts";
import { pointsAwardsConsumer } from "../loyalty/awards.ts";
import { readBalance } from "../loyalty/ledger.ts";
import { redemptionCompletionsConsumer } from "../loyalty/voucher-expiry.ts";
import { createVoucherSigner } from "../loyalty/voucher-signer.ts";
import { startTestApi, type TestApi } from "./api-server.ts";
import { deployTestPlatform, startTestChain, type TestChain } from "./chain.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";

/** A Hardhat development account (unlocked on the test node, so it can send transactions by address). */
export const devAccount = (i: number) =>
  mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i }) as unknown as LocalAccount;

export type LoyaltyFixture = {
  tc: TestChain;
  database: TestDatabase;
  db: pg.Pool;
  prisma: PrismaClient;
  platform: PlatformDeployment;
  collectionAbi: Abi;
  /** A factory collection owned by the operator: #1 and #3 free in a public phase, #2 without phases (vouchers). */
  collection: Address;
  indexer: Indexer;
  queue: JobQueue;
  api: TestApi;
  operator: LocalAccount;
  /** Bearer headers of the signed-in operator. */
  operatorAuth: Record<string, string>;
  /** The worker's consumers, run by `sync`. */
  consumers: FactConsumer[];
  send: (from: Address, to: Address, abi: Abi, functionName: string, args: unknown[]) => Promise<unknown>;
  mint: (wallet: LocalAccount, edition: bigint, quantity: bigint) => Promise<unknown>;
  /** Indexes to the head, then lets every consumer catch up (what the worker does on each notification). */
  sync: () => Promise<void>;
  balance: (wallet: LocalAccount) => Promise<{ available: number; pending: number; lifetime: number }>;
};

/**
 * Registers before/after hooks in the calling `describe` for the loyalty suites: a real chain with the platform
 * deployed and one collection, a fresh database, the indexer, the worker's consumers (run on demand), a job queue
 * sender and a test API whose operator is dev account 0 (also the voucher signer).
 */
export function useLoyaltyFixture(options: { finality: number; voucherTtlSeconds: number }): LoyaltyFixture {
  const f = {} as LoyaltyFixture;
  const logger = createLogger("silent");
  f.operator = devAccount(0);

  before(async function () {
    this.timeout(120_000);
    [f.tc, f.database] = await Promise.all([startTestChain(), createTestDatabase()]);
    f.db = createPool(f.database.url, 20);
    f.prisma = createPrisma(f.database.url, { max: 20 });
    f.platform = await deployTestPlatform(f.tc);
    f.collectionAbi = (await loadArtifact("Collection")).abi;
    f.send = async (from, to, abi, functionName, args) => {
      const data = encodeFunctionData({ abi, functionName, args });
      const hash = await f.tc.rpc<Hex>("eth_sendTransaction", [{ from, to, data, gas: "0x7a1200" }]);
      const receipt = await f.tc.publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
      return receipt;
    };
    f.mint = (wallet, edition, quantity) =>
      f.send(wallet.address, f.collection, f.collectionAbi, "mint", [
        edition,
        wallet.address,
        quantity,
        0n,
        zeroAddress,
      ]);
    const factoryAbi = (await loadArtifact("EditionFactory")).abi;
    f.collection = getContractAddress({
      from: f.platform.factory,
      nonce: BigInt(await f.tc.publicClient.getTransactionCount({ address: f.platform.factory })),
    });
    await f.send(f.operator.address, f.platform.factory, factoryAbi, "createCollection", [
      "ipfs://c",
      f.operator.address,
      0n,
      1000n,
    ]);
    const edition = {
      maxSupply: 10_000,
      referralBps: 0,
      soulbound: false,
      redeemable: false,
      royaltyReceiver: zeroAddress,
      royaltyBps: 0n,
      uri: "ipfs://e",
    };
    const open = { start: 0, end: 2 ** 32 - 1, price: 0n, walletLimit: 0, merkleRoot: zeroHash };
    for (const phases of [[open], [], [open]])
      await f.send(f.operator.address, f.collection, f.collectionAbi, "createEdition", [edition, phases]);
    f.indexer = new Indexer({
      db: f.db,
      rpcUrls: [f.tc.rpcUrl],
      chainId: 31337,
      factory: f.platform.factory,
      startBlock: f.platform.startBlock,
      confirmations: 0,
      finalityDepth: 64,
      pollIntervalMs: 10,
      maxBlockRange: 50,
      writerLock: false,
      logger,
    });
    f.queue = await startJobQueue({ databaseUrl: f.database.url, role: "sender", logger });
    f.consumers = [
      pointsAwardsConsumer({ chainId: 31337, finality: options.finality, logger }),
      redemptionCompletionsConsumer({ enqueue: f.queue.enqueue }),
    ];
    f.sync = async () => {
      while ((await f.indexer.step()) > 0);
      for (const consumer of f.consumers) await catchUp(f.db, 31337, consumer);
    };
    f.balance = async (wallet) => {
      const b = await readBalance(f.db, wallet.address);
      return { available: Number(b.available), pending: Number(b.pending), lifetime: Number(b.lifetime) };
    };
    f.api = await startTestApi({
      prisma: f.prisma,
      publicClient: f.tc.publicClient,
      chainHead: { state: () => ({ head: null, reachable: true }) },
      chainId: 31337,
      confirmations: 0,
      requestTimeoutMs: 120_000,
      rateLimits: { ipPerMinute: 1_000_000, walletPerMinute: 1_000_000 },
      auth: { operators: [f.operator.address] },
      loyalty: {
        signer: createVoucherSigner({
          privateKey: toHex(mnemonicToAccount(DEV_MNEMONIC).getHdKey().privateKey!),
          chainId: 31337,
          factory: f.platform.factory,
          publicClient: f.tc.publicClient,
        }),
        enqueue: f.queue.enqueue,
        voucherTtlSeconds: options.voucherTtlSeconds,
      },
      logger,
    });
    await f.sync();
    f.operatorAuth = await f.api.signIn(f.operator);
  });

  after(async function () {
    await f.api?.stop();
    await f.queue?.stop();
    await f.indexer?.close();
    await f.prisma?.$disconnect();
    await f.db?.end();
    await f.database?.drop();
    await f.tc?.stop();
  });

  return f;
}
