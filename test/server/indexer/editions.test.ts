import { expect } from "chai";
import type pg from "pg";
import { zeroAddress, zeroHash, type Abi, type Address, type Hex } from "viem";
import type { Indexer } from "../../../server/indexer/indexer.ts";
import { rebuildProjections } from "../../../server/indexer/store.ts";
import { holders, projectionsSnapshot, type TestChain } from "../../../server/testing/chain.ts";
import { useCollectionIndexerFixture } from "../../../server/testing/collection-fixture.ts";

type Phase = { start: number; end: number; price: bigint; walletLimit: number; merkleRoot: Hex };
type EditionInfo = {
  minted: bigint;
  maxSupply: bigint;
  referralBps: bigint;
  paused: boolean;
  soulbound: boolean;
  redeemable: boolean;
  uriFrozen: boolean;
};

const ROOT: Hex = `0x${"ab".repeat(32)}`;

describe("indexer: the edition projection equals the contracts' own views", function () {
  const fixture = useCollectionIndexerFixture();
  let tc: TestChain;
  let db: pg.Pool;
  let collectionAbi: Abi;
  let indexer: Indexer;
  const [alice, bob, carol] = holders(3) as [Address, Address, Address];

  before(function () {
    ({ tc, db, collectionAbi } = fixture);
    indexer = fixture.indexer({ maxBlockRange: 3, fetchConcurrency: 2 });
  });

  const send = (to: Address, functionName: string, args: unknown[]) => fixture.send(to, functionName, args);
  const read = <T>(address: Address, functionName: string, args: unknown[] = []) =>
    tc.publicClient.readContract({ address, abi: collectionAbi, functionName, args }) as Promise<T>;
  const index = () => fixture.index(indexer);
  const createCollection = (royaltyReceiver: Address, royaltyBps: bigint) =>
    fixture.createCollection("ipfs://c", royaltyReceiver, royaltyBps);

  const createEdition = (
    c: Address,
    settings: Partial<{
      maxSupply: number;
      referralBps: number;
      soulbound: boolean;
      redeemable: boolean;
      royaltyReceiver: Address;
      royaltyBps: bigint;
      uri: string;
    }>,
    phases: Phase[],
  ) =>
    send(c, "createEdition", [
      {
        maxSupply: 100,
        referralBps: 0,
        soulbound: false,
        redeemable: false,
        royaltyReceiver: zeroAddress,
        royaltyBps: 0n,
        uri: "",
        ...settings,
      },
      phases,
    ]);

  /** Every difference between the projection of `c` and the contract's views (edition, phase, uri, royaltyInfo, owner, paused). */
  async function differences(c: Address): Promise<string[]> {
    const out: string[] = [];
    const key = c.toLowerCase();
    const { rows: collections } = await db.query<{
      owner: string;
      paused: boolean;
      default_royalty_receiver: string | null;
      default_royalty_bps: number;
    }>("SELECT owner, paused, default_royalty_receiver, default_royalty_bps FROM collection WHERE address = $1", [key]);
    const stored = collections[0];
    if (!stored) return [`collection ${c} not indexed`];
    const owner = await read<Address>(c, "owner");
    if (stored.owner !== owner.toLowerCase()) out.push(`owner ${stored.owner} != ${owner}`);
    const paused = await read<boolean>(c, "paused");
    if (stored.paused !== paused) out.push(`paused ${stored.paused} != ${paused}`);
    const count = await read<bigint>(c, "editionCount");
    const { rows: editions } = await db.query<{
      token_id: string;
      max_supply: string;
      referral_bps: number;
      paused: boolean;
      soulbound: boolean;
      redeemable: boolean;
      uri: string;
      uri_frozen: boolean;
      royalty_receiver: string | null;
      royalty_bps: number | null;
      minted: string | null;
    }>(
      `SELECT e.token_id::text, e.max_supply::text, e.referral_bps, e.paused, e.soulbound, e.redeemable, e.uri, e.uri_frozen,
              e.royalty_receiver, e.royalty_bps, s.minted::text
       FROM edition e LEFT JOIN token_supply s USING (chain_id, collection, token_id) WHERE e.collection = $1 ORDER BY e.token_id`,
      [key],
    );
    if (BigInt(editions.length) !== count) out.push(`${editions.length} editions stored, ${count} on chain`);
    for (const e of editions) {
      const id = BigInt(e.token_id);
      const info = await read<EditionInfo>(c, "edition", [id]);
      const projected = {
        minted: BigInt(e.minted ?? 0),
        maxSupply: BigInt(e.max_supply),
        referralBps: BigInt(e.referral_bps),
        paused: e.paused,
        soulbound: e.soulbound,
        redeemable: e.redeemable,
        uriFrozen: e.uri_frozen,
      };
      for (const [field, value] of Object.entries(info)) {
        if (projected[field as keyof EditionInfo] !== value)
          out.push(`edition ${id}.${field}: ${String(projected[field as keyof EditionInfo])} != ${String(value)}`);
      }
      const uri = await read<string>(c, "uri", [id]);
      if (e.uri !== uri) out.push(`edition ${id}.uri: ${e.uri} != ${uri}`);
      // The effective royalty: the edition's own, else the collection default (ERC-2981 on 10,000 wei = bps).
      const [receiver, amount] = await read<[Address, bigint]>(c, "royaltyInfo", [id, 10_000n]);
      const effectiveReceiver = e.royalty_receiver ?? stored.default_royalty_receiver ?? zeroAddress.toLowerCase();
      const effectiveBps = e.royalty_receiver ? e.royalty_bps : stored.default_royalty_bps;
      if (effectiveReceiver !== receiver.toLowerCase() || BigInt(effectiveBps ?? 0) !== amount) {
        out.push(`edition ${id} royalty: ${effectiveReceiver}/${effectiveBps} != ${receiver}/${amount}`);
      }
      const { rows: phases } = await db.query<{
        phase: number;
        s: string;
        e: string;
        price: string;
        wallet_limit: string;
        merkle_root: string;
        allowlist: boolean;
      }>(
        `SELECT phase, extract(epoch FROM starts_at)::bigint::text AS s, extract(epoch FROM ends_at)::bigint::text AS e, price::text,
                wallet_limit::text, merkle_root, allowlist
         FROM edition_phase WHERE collection = $1 AND token_id = $2`,
        [key, e.token_id],
      );
      const byIndex = new Map(phases.map((p) => [p.phase, p]));
      for (let i = 0; i < 7; i++) {
        const onChain = await read<Phase>(c, "phase", [id, BigInt(i)]);
        const p = byIndex.get(i);
        const projectedPhase = p
          ? {
              start: Number(p.s),
              end: Number(p.e),
              price: BigInt(p.price),
              walletLimit: Number(p.wallet_limit),
              merkleRoot: p.merkle_root,
            }
          : { start: 0, end: 0, price: 0n, walletLimit: 0, merkleRoot: zeroHash };
        if (
          JSON.stringify(projectedPhase, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) !==
          JSON.stringify(onChain, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))
        ) {
          out.push(
            `edition ${id} phase ${i}: ${JSON.stringify(projectedPhase, (_k, v: unknown) => String(v))} != ${JSON.stringify(onChain, (_k, v: unknown) => String(v))}`,
          );
        }
        if (p && p.allowlist !== (p.merkle_root !== zeroHash))
          out.push(`edition ${id} phase ${i}: allowlist flag wrong`);
      }
    }
    return out;
  }

  let c1: Address;
  let c2: Address;

  it("after creation and every kind of configuration, equals edition(), phase(), uri(), royaltyInfo(), owner(), paused()", async function () {
    await tc.mine(2);
    c1 = await createCollection(alice, 500n);
    c2 = await createCollection(zeroAddress, 0n);
    const now = Number((await tc.publicClient.getBlock()).timestamp);
    await createEdition(c1, { maxSupply: 50, referralBps: 300, redeemable: true, uri: "ipfs://one/1.json" }, [
      { start: now, end: now + 3600, price: 10n ** 15n, walletLimit: 5, merkleRoot: zeroHash },
      { start: now + 3600, end: now + 7200, price: 2n * 10n ** 15n, walletLimit: 0, merkleRoot: ROOT },
    ]);
    await createEdition(c1, { soulbound: true, royaltyReceiver: bob, royaltyBps: 750n }, []);
    await createEdition(c2, { maxSupply: 10 }, [
      { start: now, end: now + 100, price: 0n, walletLimit: 1, merkleRoot: zeroHash },
    ]);
    await index();
    expect(await differences(c1)).to.deep.equal([]);
    expect(await differences(c2)).to.deep.equal([]);

    // One setting at a time, each in its own block, with transfers between them.
    await send(c1, "airdrop", [1n, [alice, bob], [3n, 4n]]);
    await send(c1, "setPhase", [
      1n,
      0n,
      { start: now + 10, end: now + 20, price: 5n, walletLimit: 2, merkleRoot: ROOT },
    ]);
    await send(c1, "setPhase", [
      2n,
      3n,
      { start: now, end: now + 99, price: 7n, walletLimit: 0, merkleRoot: zeroHash },
    ]);
    await send(c1, "setMaxSupply", [1n, 40n]);
    await send(c1, "setReferralBps", [1n, 0n]);
    await send(c1, "setRedeemable", [1n, false]);
    await send(c1, "setEditionPaused", [2n, true]);
    await send(c1, "setURI", [2n, "ipfs://two/2.json"]);
    await send(c1, "freezeURI", [2n]);
    await send(c1, "setEditionRoyalty", [1n, carol, 250n]);
    await send(c1, "setEditionRoyalty", [2n, zeroAddress, 0n]);
    await send(c1, "setDefaultRoyalty", [bob, 100n]);
    await send(c2, "pause", []);
    await send(c2, "setDefaultRoyalty", [carol, 50n]);
    await send(c2, "transferOwnership", [bob]);
    await index();
    expect(await differences(c1)).to.deep.equal([]);
    expect(await differences(c2)).to.deep.equal([]);
    const { rows } = await db.query<{ owner: string; paused: boolean; pause_applied_through: string }>(
      "SELECT owner, paused, pause_applied_through::text FROM collection WHERE address = $1",
      [c2.toLowerCase()],
    );
    expect(rows[0]).to.deep.equal({ owner: bob.toLowerCase(), paused: true, pause_applied_through: "1" });
  });

  it("a reorg that removes PhaseUpdated and OwnershipTransferred restores the previous values", async function () {
    const before = await projectionsSnapshot(db);
    const snapshot = await tc.snapshot();
    const now = Number((await tc.publicClient.getBlock()).timestamp);
    await send(c1, "setPhase", [1n, 0n, { start: now, end: now + 5, price: 1n, walletLimit: 9, merkleRoot: zeroHash }]);
    await send(c1, "setDefaultRoyalty", [zeroAddress, 0n]);
    await send(c1, "pause", []);
    await createEdition(c1, { maxSupply: 3, uri: "ipfs://gone" }, [
      { start: now, end: now + 5, price: 1n, walletLimit: 0, merkleRoot: zeroHash },
    ]);
    await send(c1, "transferOwnership", [carol]);
    await index();
    expect(await differences(c1)).to.deep.equal([]);
    expect(
      (
        await db.query("SELECT 1 FROM collection WHERE address = $1 AND owner = $2", [
          c1.toLowerCase(),
          carol.toLowerCase(),
        ])
      ).rowCount,
    ).to.equal(1);

    // The other branch: longer, with none of those events, so the indexer must roll them back.
    await tc.revert(snapshot);
    await tc.mine(8);
    await index();
    expect(await differences(c1)).to.deep.equal([]);
    const after = await projectionsSnapshot(db);
    for (const table of ["collection", "edition", "edition_phase"])
      expect(after[table], table).to.deep.equal(before[table]);

    // A pause undone by an unpause on this branch, then rebuild from the raw events equals the forward path.
    await send(c1, "pause", []);
    await send(c1, "unpause", []);
    await send(c1, "setEditionPaused", [2n, false]);
    await send(c1, "setPhase", [2n, 6n, { start: now, end: now + 1000, price: 3n, walletLimit: 1, merkleRoot: ROOT }]);
    await index();
    expect(await differences(c1)).to.deep.equal([]);
    expect(await differences(c2)).to.deep.equal([]);
    const forward = await projectionsSnapshot(db);
    await rebuildProjections(db, 31337);
    expect(await projectionsSnapshot(db)).to.deep.equal(forward);
  });
});
