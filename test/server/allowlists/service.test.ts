import { expect } from "chai";
import { network } from "hardhat";
import type pg from "pg";
import { getAddress, zeroAddress, type Address } from "viem";
import { AllowlistEntryNotFound, AllowlistNotFound, AllowlistRowsInvalid } from "../../../server/allowlists/errors.ts";
import { createAllowlistBodySchema } from "../../../server/allowlists/schemas.ts";
import {
  createAllowlist,
  getAllowlist,
  getAllowlistProof,
  listAllowlists,
  type CreateAllowlistParameters,
} from "../../../server/allowlists/service.ts";
import { createPool } from "../../../server/database/pool.ts";
import { HttpProblem } from "../../../server/http/problem.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";
import { deployDrop, phase } from "../../contracts/fixture.ts";

const { viem } = await network.create();

const CHAIN_ID = 31337;
const COLLECTION = getAddress("0x00000000000000000000000000000000000c0111");
const PARTNER = getAddress("0x0000000000000000000000000000000000000aa1");
const ALWAYS = { start: 0, end: 2 ** 32 - 1, price: 0n, walletLimit: 0 };
const filler = (n: number) =>
  Array.from({ length: n }, (_, i) => `0x${(0xf000 + i).toString(16).padStart(40, "0")},${1 + (i % 3)}`);

function upload(over: Partial<CreateAllowlistParameters> = {}): CreateAllowlistParameters {
  return {
    chainId: CHAIN_ID,
    collection: COLLECTION,
    partnerAddress: PARTNER,
    edition: 1n,
    phase: 1,
    sale: ALWAYS,
    format: "csv",
    content: filler(10).join("\n"),
    ...over,
  };
}

describe("allowlists: service (PostgreSQL)", () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  before(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url);
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  const count = async (table: string) =>
    Number((await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]!.n);

  it("stores nothing when any row is bad, and reports every bad row", async () => {
    const before = [await count("allowlist"), await count("allowlist_entry")];
    const content = ["address,maxQuantity", ...filler(500), "0xnope,1", `0x${"f0".repeat(20)},0`].join("\n");
    let error: unknown;
    await createAllowlist({ db: pool }, upload({ content })).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(AllowlistRowsInvalid);
    expect((error as AllowlistRowsInvalid).rows.map((r) => [r.line, r.code])).to.deep.equal([
      [502, "bad_address"],
      [503, "bad_quantity"],
    ]);
    expect([await count("allowlist"), await count("allowlist_entry")]).to.deep.equal(before);
  });

  it("rolls the whole list back when storing its rows fails half-way", async () => {
    const before = [await count("allowlist"), await count("allowlist_entry")];
    const poison = `0x${"0d".repeat(20)}`;
    await pool.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.address = '${poison}' THEN RAISE EXCEPTION 'poisoned row'; END IF; RETURN NEW; END $$`);
    await pool.query(
      `CREATE TRIGGER refuse_poison BEFORE INSERT ON allowlist_entry FOR EACH ROW EXECUTE FUNCTION refuse_poison()`,
    );
    try {
      let error: unknown;
      await createAllowlist({ db: pool }, upload({ content: [...filler(3000), `${poison},1`].join("\n") })).catch(
        (e: unknown) => (error = e),
      );
      expect(String(error)).to.include("poisoned row");
      expect([await count("allowlist"), await count("allowlist_entry")]).to.deep.equal(before);
    } finally {
      await pool.query(`DROP TRIGGER refuse_poison ON allowlist_entry; DROP FUNCTION refuse_poison()`);
    }
  });

  it("answers the root, the setPhase call, and each wallet's proof in any address case", async () => {
    const listed = getAddress("0x52908400098527886e0f7030069857d2e4169ee7");
    const created = await createAllowlist(
      { db: pool },
      upload({
        name: "Early supporters",
        sale: { start: 100, end: 200, price: 5n, walletLimit: 2 },
        content: [`${listed},7`, ...filler(1000)].join("\n"),
      }),
    );
    expect(created).to.include({
      chainId: CHAIN_ID,
      collection: COLLECTION,
      edition: "1",
      phase: 1,
      name: "Early supporters",
      entryCount: 1001,
      createdBy: PARTNER,
    });
    expect(created.totalQuantity).to.equal(String(7 + filler(1000).reduce((s, l) => s + Number(l.split(",")[1]), 0)));
    expect(created.setPhase.args).to.deep.equal([
      "1",
      1,
      { start: 100, end: 200, price: "5", walletLimit: 2, merkleRoot: created.root },
    ]);
    expect(new Date(created.createdAt).toISOString()).to.equal(created.createdAt);
    expect(await getAllowlist({ db: pool }, { chainId: CHAIN_ID, allowlistId: created.id })).to.deep.equal(created);

    for (const address of [listed, listed.toLowerCase() as Address]) {
      const proof = await getAllowlistProof({ db: pool }, { chainId: CHAIN_ID, allowlistId: created.id, address });
      expect(proof).to.include({ address: listed, allowance: "7", limit: "2", root: created.root });
      expect(proof.proof).to.have.length(10); // 1,001 leaves: 10 levels below the root
    }
    const unlisted = getAddress(`0x${"ee".repeat(20)}`);
    let error: unknown;
    await getAllowlistProof({ db: pool }, { chainId: CHAIN_ID, allowlistId: created.id, address: unlisted }).catch(
      (e: unknown) => (error = e),
    );
    expect(error).to.be.instanceOf(AllowlistEntryNotFound);
    for (const [chainId, allowlistId] of [
      [CHAIN_ID, "00000000-0000-4000-8000-000000000000"],
      [CHAIN_ID, "not-a-uuid"],
      [1, created.id],
    ] as const) {
      error = undefined;
      await getAllowlistProof({ db: pool }, { chainId, allowlistId, address: listed }).catch(
        (e: unknown) => (error = e),
      );
      expect(error, allowlistId).to.be.instanceOf(AllowlistNotFound);
      error = undefined;
      await getAllowlist({ db: pool }, { chainId, allowlistId }).catch((e: unknown) => (error = e));
      expect(error, allowlistId).to.be.instanceOf(AllowlistNotFound);
    }
  });

  it("lists a collection's allowlists newest first, page by page, without gaps or duplicates", async () => {
    const collection = getAddress("0x00000000000000000000000000000000000c0222");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createAllowlist({ db: pool }, upload({ collection, phase: i }))).id);
    const seen: { id: string; createdAt: string }[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await listAllowlists({ db: pool }, { chainId: CHAIN_ID, collection, limit: 2, cursor });
      seen.push(...page.items.map((a) => ({ id: a.id, createdAt: a.createdAt })));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen.map((a) => a.id).sort()).to.deep.equal([...ids].sort());
    // Newest first; lists made in the same millisecond by id, descending.
    const key = (a: { id: string; createdAt: string }) => `${a.createdAt}|${a.id}`;
    expect(seen.map(key)).to.deep.equal(seen.map(key).sort().reverse());
    let error: unknown;
    await listAllowlists({ db: pool }, { chainId: CHAIN_ID, collection, limit: 2, cursor: "bm9wZQ" }).catch(
      (e: unknown) => (error = e),
    );
    expect(error).to.be.instanceOf(HttpProblem);
  });

  it("validates the upload body at the boundary (phase window, price width, phase index)", () => {
    const body = {
      edition: "1",
      phase: 1,
      sale: { start: 10, end: 20, price: "1", walletLimit: 0 },
      format: "csv",
      content: "x",
    };
    expect(createAllowlistBodySchema.safeParse(body).success).to.equal(true);
    for (const bad of [
      { ...body, sale: { ...body.sale, end: 5 } },
      { ...body, sale: { ...body.sale, price: (2n ** 80n).toString() } },
      { ...body, sale: { ...body.sale, walletLimit: 2 ** 24 } },
      { ...body, phase: 7 },
      { ...body, edition: "0" },
      { ...body, format: "xml" },
    ]) {
      expect(createAllowlistBodySchema.safeParse(bad).success, JSON.stringify(bad)).to.equal(false);
    }
  });

  it("mints on-chain with a served proof; an unlisted wallet and a wrong allowance are refused", async () => {
    const { collection, createEdition, partner, alice, bob, carol, publicClient } = await deployDrop(viem);
    const id = await createEdition({}, [phase()]);
    const created = await createAllowlist(
      { db: pool },
      upload({
        chainId: await publicClient.getChainId(),
        collection: collection.address,
        partnerAddress: partner.account.address,
        edition: id,
        phase: 1,
        sale: { start: 0, end: 2 ** 32 - 1, price: 1000n, walletLimit: 0 },
        format: "json",
        content: JSON.stringify([
          { address: alice.account.address, maxQuantity: "3" },
          [bob.account.address.toLowerCase(), 1],
          ...filler(200).map((l) => l.split(",")),
        ]),
      }),
    );
    // The partner sends the setPhase call exactly as served.
    const hash = await partner.sendTransaction({ to: created.setPhase.to, data: created.setPhase.data });
    expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
    const onChain = await collection.read.phase([id, 1n]);
    expect(onChain.merkleRoot).to.equal(created.root);
    expect(onChain.price).to.equal(1000n);

    const served = await getAllowlistProof(
      { db: pool },
      { chainId: created.chainId, allowlistId: created.id, address: alice.account.address },
    );
    const mint = (to: Address, quantity: bigint, allowance: bigint, proof: `0x${string}`[]) =>
      collection.write.mintAllowlisted([id, to, quantity, 1n, zeroAddress, allowance, proof], {
        account: alice.account,
        value: 1000n * quantity,
      });
    await mint(alice.account.address, 2n, BigInt(served.allowance), served.proof);
    expect(await collection.read.balanceOf([alice.account.address, id])).to.equal(2n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      mint(alice.account.address, 2n, 3n, served.proof),
      collection,
      "ExceedsWalletLimit",
      [id, 3n, 2n, 2n],
    );
    // A claimed allowance other than the leaf's does not verify.
    await viem.assertions.revertWithCustomErrorWithArgs(
      mint(alice.account.address, 1n, 4n, served.proof),
      collection,
      "NotAllowlisted",
      [id, 1n, getAddress(alice.account.address), 4n],
    );
    // Carol is not listed: no proof is served, and Alice's proof does not work for her.
    let error: unknown;
    await getAllowlistProof(
      { db: pool },
      { chainId: created.chainId, allowlistId: created.id, address: carol.account.address },
    ).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(AllowlistEntryNotFound);
    await viem.assertions.revertWithCustomErrorWithArgs(
      mint(carol.account.address, 1n, 3n, served.proof),
      collection,
      "NotAllowlisted",
      [id, 1n, getAddress(carol.account.address), 3n],
    );
    // Bob (uploaded lowercase, as a JSON pair with a number) mints his one with his own served proof.
    const bobs = await getAllowlistProof(
      { db: pool },
      { chainId: created.chainId, allowlistId: created.id, address: bob.account.address },
    );
    await mint(bob.account.address, 1n, BigInt(bobs.allowance), bobs.proof);
    expect(await collection.read.balanceOf([bob.account.address, id])).to.equal(1n);
  });
});
