import { expect } from "chai";
import type pg from "pg";
import { zeroAddress, type Address } from "viem";
import type { PlatformDeployment } from "../../../server/chain/deploy.ts";
import { compareWithChain, holders, type TestChain } from "../../../server/testing/chain.ts";
import { useCollectionIndexerFixture } from "../../../server/testing/collection-fixture.ts";

describe("indexer: collections discovered from the factory, including mid-range and mid-block", function () {
  const fixture = useCollectionIndexerFixture();
  let tc: TestChain;
  let db: pg.Pool;
  let platform: PlatformDeployment;
  const [alice, bob, carol] = holders(3) as [Address, Address, Address];

  before(function () {
    ({ tc, db, platform } = fixture);
  });

  it("indexes every event of a collection from its creation block on, even when created in a range fetched in parallel", async function () {
    const from = fixture.from();
    // Sent without waiting for a receipt: one part of this test mines several of them in one block.
    const createCollection = (uri: string) =>
      fixture.submit(platform.factory, "createCollection", [uri, from, 0n, 1000n]);
    const createEdition = (c: Address) =>
      fixture.submit(c, "createEdition", [
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
      ]);
    const airdrop = (c: Address, to: Address[], quantities: bigint[]) =>
      fixture.submit(c, "airdrop", [1n, to, quantities]);
    const nextCollection = () => fixture.nextCollection();

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
    const indexer = fixture.indexer({ maxBlockRange: 2, fetchConcurrency: 3 });
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
