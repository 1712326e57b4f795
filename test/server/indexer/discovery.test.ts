import { expect } from "chai";
import pino from "pino";
import type pg from "pg";
import { encodeFunctionData, getContractAddress, zeroAddress, type Address, type Hex } from "viem";
import { loadArtifact } from "../../../server/chain/artifacts.ts";
import type { PlatformDeployment } from "../../../server/chain/deploy.ts";
import { createPool } from "../../../server/database/pool.ts";
import { Indexer } from "../../../server/indexer/indexer.ts";
import {
  compareWithChain,
  deployTestPlatform,
  holders,
  startTestChain,
  type TestChain,
} from "../../../server/testing/chain.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";

describe("indexer: collections discovered from the factory, including mid-range and mid-block", function () {
  let tc: TestChain;
  let database: TestDatabase;
  let db: pg.Pool;
  let platform: PlatformDeployment;
  const [alice, bob, carol] = holders(3) as [Address, Address, Address];

  before(async function () {
    [tc, database] = await Promise.all([startTestChain(), createTestDatabase()]);
    db = createPool(database.url);
    platform = await deployTestPlatform(tc);
  });

  after(async function () {
    await db?.end();
    await database?.drop();
    await tc?.stop();
  });

  it("indexes every event of a collection from its creation block on, even when created in a range fetched in parallel", async function () {
    const factory = await loadArtifact("EditionFactory");
    const collection = await loadArtifact("Collection");
    const from = tc.wallet.account.address;
    const send = (to: Address, data: Hex) => tc.rpc<Hex>("eth_sendTransaction", [{ from, to, data, gas: "0x7a1200" }]);
    const createCollection = (uri: string) =>
      send(
        platform.factory,
        encodeFunctionData({ abi: factory.abi, functionName: "createCollection", args: [uri, from, 0n, 1000n] }),
      );
    const createEdition = (c: Address) =>
      send(
        c,
        encodeFunctionData({
          abi: collection.abi,
          functionName: "createEdition",
          args: [
            {
              maxSupply: 1000,
              referralBps: 0,
              soulbound: false,
              redeemable: false,
              royaltyReceiver: zeroAddress,
              royaltyBps: 0n,
              uri: "ipfs://x/1.json",
            },
            [],
          ],
        }),
      );
    const airdrop = (c: Address, to: Address[], quantities: bigint[]) =>
      send(c, encodeFunctionData({ abi: collection.abi, functionName: "airdrop", args: [1n, to, quantities] }));
    const nextCollection = async () =>
      getContractAddress({
        from: platform.factory,
        nonce: BigInt(await tc.publicClient.getTransactionCount({ address: platform.factory, blockTag: "pending" })),
      });

    await tc.mine(3);
    // Collection 1: created, then its edition and an airdrop in the next blocks.
    const c1 = await nextCollection();
    await createCollection("ipfs://one");
    await createEdition(c1);
    await airdrop(c1, [alice, bob], [2n, 3n]);
    await tc.mine(4);
    // Collection 2: created, edition created and airdropped in the SAME block.
    await tc.setAutomine(false);
    const c2 = await nextCollection();
    await createCollection("ipfs://two");
    await createEdition(c2);
    await airdrop(c2, [carol, alice], [7n, 1n]);
    await tc.mine(1);
    await tc.setAutomine(true);
    await tc.mine(3);
    await airdrop(c2, [bob], [4n]);
    await airdrop(c1, [carol], [5n]);

    // Ranges of 2 blocks, 3 fetched ahead: the ranges after a creation were asked for without the new address.
    const indexer = new Indexer({
      db,
      rpcUrls: [tc.rpcUrl],
      chainId: 31337,
      factory: platform.factory,
      startBlock: platform.startBlock,
      confirmations: 0,
      finalityDepth: 64,
      pollIntervalMs: 10,
      maxBlockRange: 2,
      fetchConcurrency: 3,
      writerLock: false,
      logger: pino({ level: "silent" }),
    });
    while ((await indexer.step()) > 0);

    const { rows } = await db.query<{ address: string }>("SELECT address FROM collection ORDER BY created_block");
    expect(rows.map((r) => r.address)).to.deep.equal([c1.toLowerCase(), c2.toLowerCase()]);
    for (const c of [c1, c2]) expect(await compareWithChain(db, tc, c, [alice, bob, carol], 1)).to.deep.equal([]);
    // Custom events land in the raw table generically, named and decoded from the artifact ABI.
    const events = await db.query<{ name: string; n: string }>(
      "SELECT name, count(*)::text AS n FROM chain_event WHERE address = $1 GROUP BY name ORDER BY name",
      [c2.toLowerCase()],
    );
    const names = events.rows.map((r) => r.name);
    expect(names).to.include.members(["EditionCreated", "TransferSingle"]);
    const created = await db.query<{ args: Record<string, unknown> }>(
      "SELECT args FROM chain_event WHERE name = 'CollectionCreated' ORDER BY block_number",
    );
    expect(created.rows[1]!.args).to.include({ collection: c2.toLowerCase(), contractURI: "ipfs://two" });
  });
});
