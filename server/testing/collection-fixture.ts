import pino from "pino";
import type pg from "pg";
import { encodeFunctionData, getContractAddress, type Abi, type Address, type Hex } from "viem";
import { loadArtifact } from "../chain/artifacts.ts";
import type { PlatformDeployment } from "../chain/deploy.ts";
import { createPool } from "../database/pool.ts";
import { Indexer, type IndexerOptions } from "../indexer/indexer.ts";
import { deployTestPlatform, startTestChain, type TestChain } from "./chain.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";

/** What every indexer suite on the real factory and its collections shares (see useCollectionIndexerFixture). */
export type CollectionIndexerFixture = {
  tc: TestChain;
  database: TestDatabase;
  db: pg.Pool;
  platform: PlatformDeployment;
  factoryAbi: Abi;
  collectionAbi: Abi;
  /** The account every transaction is sent from: the deployer, so the platform's operator and voucher signer. */
  from(): Address;
  /** Options indexing the platform's factory from its start block, without the writer lock and silent. */
  options(overrides?: Partial<IndexerOptions>): IndexerOptions;
  /** An indexer with `options(overrides)`, closed after the suite. */
  indexer(overrides?: Partial<IndexerOptions>): Indexer;
  /** Steps `indexer` until it has nothing left to apply. */
  index(indexer: Indexer): Promise<void>;
  /** Sends a call to the factory or a collection (ABI chosen by address) and returns at once, mined or not. */
  submit(to: Address, functionName: string, args: unknown[], value?: bigint): Promise<Hex>;
  /** Sends, waits for the receipt, and throws if it reverted. */
  send(to: Address, functionName: string, args: unknown[], value?: bigint): Promise<void>;
  /** The address the factory's next collection will have. */
  nextCollection(): Promise<Address>;
  /** Creates a collection (platform fee 10%) and returns its address once mined. */
  createCollection(contractUri: string, royaltyReceiver: Address, royaltyBps: bigint): Promise<Address>;
};

/**
 * Registers before/after hooks in the calling `describe`: a real hardhat node with the platform deployed, a fresh
 * database and a pool, torn down after the suite (indexers made by `indexer()` first). The returned object is filled
 * in by the time the suite's own `before` hooks run.
 */
export function useCollectionIndexerFixture(): CollectionIndexerFixture {
  const indexers: Indexer[] = [];
  const fixture = {
    from: () => fixture.tc.wallet.account.address,
    options(overrides: Partial<IndexerOptions> = {}): IndexerOptions {
      return {
        db: fixture.db,
        rpcUrls: [fixture.tc.rpcUrl],
        chainId: 31337,
        factory: fixture.platform.factory,
        startBlock: fixture.platform.startBlock,
        confirmations: 0,
        finalityDepth: 64,
        pollIntervalMs: 10,
        maxBlockRange: 20,
        fetchConcurrency: 2,
        writerLock: false,
        logger: pino({ level: "silent" }),
        ...overrides,
      };
    },
    indexer(overrides: Partial<IndexerOptions> = {}) {
      const indexer = new Indexer(fixture.options(overrides));
      indexers.push(indexer);
      return indexer;
    },
    async index(indexer: Indexer) {
      while ((await indexer.step()) > 0);
    },
    submit(to: Address, functionName: string, args: unknown[], value = 0n) {
      const abi = to === fixture.platform.factory ? fixture.factoryAbi : fixture.collectionAbi;
      const data = encodeFunctionData({ abi, functionName, args });
      return fixture.tc.rpc<Hex>("eth_sendTransaction", [
        { from: fixture.from(), to, data, gas: "0x7a1200", value: `0x${value.toString(16)}` },
      ]);
    },
    async send(to: Address, functionName: string, args: unknown[], value = 0n) {
      const hash = await fixture.submit(to, functionName, args, value);
      const receipt = await fixture.tc.publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
    },
    async nextCollection() {
      const nonce = await fixture.tc.publicClient.getTransactionCount({
        address: fixture.platform.factory,
        blockTag: "pending",
      });
      return getContractAddress({ from: fixture.platform.factory, nonce: BigInt(nonce) });
    },
    async createCollection(contractUri: string, royaltyReceiver: Address, royaltyBps: bigint) {
      const address = await fixture.nextCollection();
      await fixture.send(fixture.platform.factory, "createCollection", [
        contractUri,
        royaltyReceiver,
        royaltyBps,
        1000n,
      ]);
      return address;
    },
  } as CollectionIndexerFixture;

  before(async function () {
    [fixture.tc, fixture.database] = await Promise.all([startTestChain(), createTestDatabase()]);
    fixture.db = createPool(fixture.database.url);
    fixture.platform = await deployTestPlatform(fixture.tc);
    fixture.factoryAbi = (await loadArtifact("EditionFactory")).abi;
    fixture.collectionAbi = (await loadArtifact("Collection")).abi;
  });

  after(async function () {
    for (const indexer of indexers.splice(0)) await indexer.close();
    await fixture.db?.end();
    await fixture.database?.drop();
    await fixture.tc?.stop();
  });

  return fixture;
}
