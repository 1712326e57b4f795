import pino from "pino";
import type pg from "pg";
import type { Address } from "viem";
import { createPool } from "../database/pool.ts";
import type { IndexerOptions } from "../indexer/indexer.ts";
import { deployBenchToken, NO_FACTORY, startTestChain, type TestChain } from "./chain.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";

/** What every indexer suite on a BenchToken shares: a real hardhat node, a fresh database and a pool. */
export type BenchIndexerFixture = {
  tc: TestChain;
  database: TestDatabase;
  db: pg.Pool;
  token: Address;
  /** Options indexing only the BenchToken from block 0, without the writer lock and silent; `overrides` win. */
  options(overrides?: Partial<IndexerOptions>): IndexerOptions;
};

/**
 * Registers before/after hooks in the calling `describe` that start the chain and database and tear them down.
 * The returned object is filled in by the time the suite's own `before` hooks run.
 */
export function useBenchIndexerFixture(): BenchIndexerFixture {
  const fixture = {
    options(overrides: Partial<IndexerOptions> = {}): IndexerOptions {
      return {
        db: fixture.db,
        rpcUrls: [fixture.tc.rpcUrl],
        chainId: 31337,
        factory: NO_FACTORY,
        extraContracts: [fixture.token],
        startBlock: 0n,
        confirmations: 0,
        finalityDepth: 64,
        pollIntervalMs: 10,
        maxBlockRange: 1000,
        writerLock: false,
        logger: pino({ level: "silent" }),
        ...overrides,
      };
    },
  } as BenchIndexerFixture;

  before(async function () {
    [fixture.tc, fixture.database] = await Promise.all([startTestChain(), createTestDatabase()]);
    fixture.db = createPool(fixture.database.url);
    fixture.token = await deployBenchToken(fixture.tc);
  });

  after(async function () {
    await fixture.db?.end();
    await fixture.database?.drop();
    await fixture.tc?.stop();
  });

  return fixture;
}
