import { expect } from "chai";
import type pg from "pg";
import { getAddress, zeroAddress, zeroHash, type Abi, type Address } from "viem";
import type { z } from "zod";
import {
  getCollection,
  getEdition,
  listDrops,
  listEditions,
  type CatalogDeps,
} from "../../../server/catalog/editions.ts";
import { encodeCursor } from "../../../server/catalog/cursor.ts";
import {
  getHoldings,
  listCollectionActivity,
  listEditionActivity,
  listEditionHolders,
  listWalletActivity,
} from "../../../server/catalog/ownership.ts";
import {
  activityListSchema,
  collectionAnswerSchema,
  editionAnswerSchema,
  editionListSchema,
  holderListSchema,
  holdingListSchema,
} from "../../../server/catalog/schemas.ts";
import { signMintVoucher } from "../../../server/chain/mint-voucher.ts";
import type { PlatformDeployment } from "../../../server/chain/deploy.ts";
import { createPool } from "../../../server/database/pool.ts";
import type { Indexer } from "../../../server/indexer/indexer.ts";
import { holders, type TestChain } from "../../../server/testing/chain.ts";
import { useCollectionIndexerFixture } from "../../../server/testing/collection-fixture.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";

/** Every answer is checked against its declared schema, as the routes will be. */
function checked<S extends z.ZodType>(schema: S, answer: unknown): z.infer<S> {
  const parsed = schema.safeParse(answer);
  if (!parsed.success) throw new Error(`answer does not match its schema: ${parsed.error.message}`);
  return parsed.data;
}

/** Walks a list to its end, `between` running after each page (to insert rows while it walks). */
async function walk<T>(
  read: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>,
  between?: () => Promise<void>,
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await read(cursor);
    pages.push(page.items);
    if (!page.nextCursor) return pages;
    cursor = page.nextCursor;
    await between?.();
    if (pages.length > 200) throw new Error("list does not end");
  }
}

async function rejects(promise: Promise<unknown>, code: string, status: number): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as { code?: string }).code).to.equal(code);
    expect((error as { status?: number }).status).to.equal(status);
    return;
  }
  throw new Error(`expected a ${code} error`);
}

describe("catalog: collections, editions, drops, holders, holdings and activity from the index", function () {
  const fixture = useCollectionIndexerFixture();
  let tc: TestChain;
  let platform: PlatformDeployment;
  let factoryAbi: Abi;
  let collectionAbi: Abi;
  let indexer: Indexer;
  let deps: CatalogDeps;
  let c1: Address;
  let c2: Address;
  let me: Address;
  let now: number;
  let blockBeforeTransfers: bigint;
  const wallets = holders(12);
  const [alice, bob] = wallets as [Address, Address];

  const send = (to: Address, functionName: string, args: unknown[], value = 0n) =>
    fixture.send(to, functionName, args, value);
  const index = () => fixture.index(indexer);
  const phase = (start: number, end: number, price: bigint) => ({
    start,
    end,
    price,
    walletLimit: 0,
    merkleRoot: zeroHash,
  });
  const edition = (maxSupply: number, uri: string, redeemable = false) => ({
    maxSupply,
    referralBps: 1000,
    soulbound: false,
    redeemable,
    royaltyReceiver: zeroAddress,
    royaltyBps: 0n,
    uri,
  });
  const createCollection = () => fixture.createCollection("ipfs://collection", alice, 500n);

  before(async function () {
    ({ tc, platform, factoryAbi, collectionAbi } = fixture);
    me = fixture.from();
    deps = { db: fixture.db, chainId: 31337 };
    indexer = fixture.indexer({ maxBlockRange: 20, fetchConcurrency: 2 });

    c1 = await createCollection();
    c2 = await createCollection();
    now = Number((await tc.publicClient.getBlock()).timestamp);
    // c1: #1 open now (and a later phase), #2 upcoming only, #3 no phase, #4 open now and redeemable.
    await send(c1, "createEdition", [
      edition(1000, "ipfs://e/1"),
      [phase(now - 100, now + 10_000, 10n ** 15n), phase(now + 20_000, now + 30_000, 2n)],
    ]);
    await send(c1, "createEdition", [edition(10, "ipfs://e/2"), [phase(now + 5_000, now + 6_000, 0n)]]);
    await send(c1, "createEdition", [edition(10, "ipfs://e/3"), []]);
    await send(c1, "createEdition", [edition(100, "ipfs://e/4", true), [phase(now - 50, now + 10_000, 0n)]]);
    await send(c2, "createEdition", [edition(5, "ipfs://f/1"), [phase(now - 200, now + 100_000, 1n)]]);
    for (let i = 5; i <= 9; i++) await send(c1, "createEdition", [edition(1, `ipfs://e/${i}`), []]);
    // Holders of #1 with ties: 3, 3, 3, 2, 2, 1, ...
    await send(c1, "airdrop", [1n, wallets, wallets.map((_, i) => BigInt([3, 3, 3, 2, 2, 1][i] ?? 1))]);
    await send(c1, "mint", [1n, me, 2n, 0n, alice], 2n * 10n ** 15n);
    await send(c1, "mint", [4n, me, 3n, 0n, zeroAddress]);
    // A voucher mint (the platform's voucher signer is the deployer here).
    const signerEpoch = (await tc.publicClient.readContract({
      address: platform.factory,
      abi: factoryAbi,
      functionName: "voucherSignerEpoch",
      args: [me],
    })) as bigint;
    const voucher = {
      recipient: me,
      edition: 4n,
      quantity: 1n,
      price: 0n,
      id: 7n,
      deadline: BigInt(now + 100_000),
      signerEpoch,
    };
    const signature = await signMintVoucher(tc.wallet, { collection: c1, chainId: 31337, voucher });
    await send(c1, "mintWithVoucher", [voucher, 31337n, signature]);
    await index();
    blockBeforeTransfers = await tc.publicClient.getBlockNumber();
    await send(c1, "safeTransferFrom", [me, bob, 1n, 1n, "0x"]);
    await send(c1, "burn", [me, 1n, 1n]);
    await send(c1, "redeem", [me, 4n, 1n, `0x${"11".repeat(32)}`]);
    await index();
  });

  it("answers a collection with its owner, contract URI, default royalty and created block; an unknown one is not_found", async function () {
    const answer = checked(collectionAnswerSchema, await getCollection(deps, c1.toLowerCase()));
    expect(answer).to.include({
      address: c1,
      owner: getAddress(me),
      contractUri: "ipfs://collection",
      paused: false,
      editionCount: 9,
    });
    expect(answer.defaultRoyalty).to.deep.equal({ receiver: alice, bps: 500 });
    expect(BigInt(answer.asOfBlock!) > BigInt(answer.createdBlock)).to.equal(true);
    await rejects(getCollection(deps, bob), "not_found", 404);
  });

  it("answers an edition with supply, supply left, the phase open now and the next one by the head's block time", async function () {
    const e1 = checked(editionAnswerSchema, await getEdition(deps, c1, 1n));
    const minted = 3 * 3 + 2 * 2 + 7 + 2;
    expect(e1).to.include({
      tokenId: "1",
      uri: "ipfs://e/1",
      uriFrozen: false,
      maxSupply: "1000",
      minted: String(minted),
      burned: "1",
    });
    expect(e1.supplyLeft).to.equal(String(1000 - minted));
    expect(e1.supply).to.equal(String(minted - 1));
    expect(e1.royalty).to.deep.equal({ receiver: alice, bps: 500, source: "collection" });
    expect(e1.currentPhase?.index).to.equal(0);
    expect(e1.nextPhase?.index).to.equal(1);
    expect(e1.currentPhase?.price).to.equal(String(10n ** 15n));
    const headTime = Date.parse(e1.headTime!);
    expect(Date.parse(e1.currentPhase!.start)).to.be.at.most(headTime);
    const e2 = checked(editionAnswerSchema, await getEdition(deps, c1, 2n));
    expect(e2.currentPhase).to.equal(null);
    expect(e2.nextPhase?.start).to.equal(new Date((now + 5_000) * 1000).toISOString());
    await rejects(getEdition(deps, c1, 99n), "not_found", 404);
    await rejects(getEdition(deps, bob, 1n), "not_found", 404);
  });

  it("lists a collection's editions by token id to the end, one page at a time; refuses bad cursors and limits", async function () {
    const pages = await walk(async (cursor) =>
      checked(editionListSchema, await listEditions(deps, c1, { limit: 2, cursor })),
    );
    expect(pages.flat().map((e) => e.tokenId)).to.deep.equal(["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(pages.length).to.equal(5);
    // Editions created while the list is walked appear once, at the end, and nothing is skipped.
    await send(c2, "createEdition", [edition(1, "ipfs://f/2"), []]);
    await index();
    let created = 1;
    const growing = await walk(
      async (cursor) => checked(editionListSchema, await listEditions(deps, c2, { limit: 1, cursor })),
      async () => {
        if (created++ >= 4) return;
        await send(c2, "createEdition", [edition(1, `ipfs://f/${created + 1}`), []]);
        await index();
      },
    );
    expect(growing.flat().map((e) => e.tokenId)).to.deep.equal(["1", "2", "3", "4", "5"]);
    await rejects(listEditions(deps, c1, { cursor: "not a cursor!" }), "invalid_cursor", 400);
    await rejects(listEditions(deps, c1, { cursor: encodeCursor([`1${"0".repeat(80)}`]) }), "invalid_cursor", 400);
    await rejects(listEditions(deps, c1, { cursor: encodeCursor(["-1"]) }), "invalid_cursor", 400);
    await rejects(listEditions(deps, c1, { limit: 501 }), "invalid_cursor", 400);
    await rejects(listEditions(deps, bob), "not_found", 404);
  });

  it("lists drops across collections, open now first, then upcoming, soonest first; editions without a live phase are left out", async function () {
    const pages = await walk(async (cursor) => checked(editionListSchema, await listDrops(deps, { limit: 1, cursor })));
    const keys = pages.flat().map((e) => `${e.collection}#${e.tokenId}`);
    expect(keys).to.deep.equal([`${c2}#1`, `${c1}#1`, `${c1}#4`, `${c1}#2`]);
    await rejects(
      listDrops(deps, { cursor: encodeCursor([String(2 ** 40), c1.toLowerCase(), "1"]) }),
      "invalid_cursor",
      400,
    );
  });

  it("lists an edition's holders largest first, to the end without duplicates or gaps while holders are added", async function () {
    const all = checked(holderListSchema, await listEditionHolders(deps, c1, 1n, { limit: 500 })).items;
    const amounts = all.map((h) => BigInt(h.amount));
    expect(amounts).to.deep.equal([...amounts].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)));
    for (let i = 1; i < all.length; i++)
      if (all[i]!.amount === all[i - 1]!.amount)
        expect(all[i]!.owner.toLowerCase() > all[i - 1]!.owner.toLowerCase()).to.equal(true);
    const extra = holders(40).slice(20);
    let added = 0;
    const pages = await walk(
      async (cursor) => checked(holderListSchema, await listEditionHolders(deps, c1, 1n, { limit: 2, cursor })),
      async () => {
        if (added >= extra.length) return;
        // New holders of amount 1 (behind the cursor or ahead of it): neither duplicates nor hides anyone.
        await send(c1, "airdrop", [1n, extra.slice(added, added + 4), [1n, 1n, 1n, 1n]]);
        added += 4;
        await index();
      },
    );
    const owners = pages.flat().map((h) => h.owner);
    expect(new Set(owners).size).to.equal(owners.length);
    expect(owners).to.include.members(all.map((h) => h.owner));
    await rejects(listEditionHolders(deps, c1, 99n), "not_found", 404);
    await rejects(listEditionHolders(deps, c1, 1n, { cursor: encodeCursor(["1", "0xnope"]) }), "invalid_cursor", 400);
  });

  it("answers activity with mints (price paid, referrer), transfers, burns and redemptions, newest first, to the end while rows are added", async function () {
    const first = checked(activityListSchema, await listWalletActivity(deps, me, { limit: 500 })).items;
    const kinds = first.map((a) => a.kind);
    expect(kinds.slice(0, 5)).to.deep.equal(["redemption", "burn", "transfer", "voucher_mint", "mint"]);
    const voucherMint = first.find((a) => a.kind === "voucher_mint")!;
    expect(voucherMint).to.include({ tokenId: "4", amount: "1", paid: "0", referrer: null });
    const sale = first.find((a) => a.kind === "mint" && a.tokenId === "1")!;
    expect(sale).to.include({
      paid: String(2n * 10n ** 15n),
      referrer: alice,
      phase: "0",
      amount: "2",
      to: getAddress(me),
    });
    const pages = await walk(
      async (cursor) => checked(activityListSchema, await listWalletActivity(deps, me, { limit: 1, cursor })),
      async () => {
        await send(c1, "safeTransferFrom", [me, alice, 4n, 1n, "0x"]).catch(() => {});
        await index();
      },
    );
    // New rows land above the first page: the walk sees exactly the rows that existed when it started.
    expect(pages.flat().map((a) => `${a.txHash}:${a.logIndex}:${a.batchIndex}`)).to.deep.equal(
      first.map((a) => `${a.txHash}:${a.logIndex}:${a.batchIndex}`),
    );
    const edition = checked(activityListSchema, await listEditionActivity(deps, c1, 4n)).items;
    expect(edition.every((a) => a.tokenId === "4")).to.equal(true);
    expect(edition.map((a) => a.kind)).to.include.members(["mint", "voucher_mint", "redemption", "transfer"]);
    const collection = checked(activityListSchema, await listCollectionActivity(deps, c1, { limit: 500 })).items;
    expect(collection.filter((a) => a.kind === "mint" && a.paid === null).length).to.be.greaterThan(0); // airdrops
    await rejects(listCollectionActivity(deps, bob), "not_found", 404);
    await rejects(listEditionActivity(deps, c1, 99n), "not_found", 404);
    await rejects(listWalletActivity(deps, me, { cursor: encodeCursor(["1", 2 ** 31, 0]) }), "invalid_cursor", 400);
  });

  it("answers holdings now and as of a past block, equal to balanceOf at that block; a block outside the index is refused", async function () {
    const nowHoldings = checked(holdingListSchema, await getHoldings(deps, me));
    const past = checked(holdingListSchema, await getHoldings(deps, me, { asOfBlock: blockBeforeTransfers }));
    expect(past.asOfBlock).to.equal(blockBeforeTransfers.toString());
    for (const [answer, blockNumber] of [
      [nowHoldings, BigInt(nowHoldings.asOfBlock!)],
      [past, blockBeforeTransfers],
    ] as const) {
      for (const id of [1n, 4n]) {
        const balance = (await tc.publicClient.readContract({
          address: c1,
          abi: collectionAbi,
          functionName: "balanceOf",
          args: [me, id],
          blockNumber,
        })) as bigint;
        const held = answer.items.find((h) => h.collection === c1 && h.tokenId === id.toString());
        expect(BigInt(held?.amount ?? 0), `edition ${id} at ${blockNumber}`).to.equal(balance);
      }
    }
    const pages = await walk(async (cursor) =>
      checked(holdingListSchema, await getHoldings(deps, alice, { limit: 1, cursor, asOfBlock: blockBeforeTransfers })),
    );
    expect(pages.flat().length).to.be.greaterThan(0);
    const head = BigInt(nowHoldings.asOfBlock!);
    await rejects(getHoldings(deps, me, { asOfBlock: head + 1n }), "block_out_of_range", 422);
    await rejects(
      getHoldings({ ...deps, startBlock: platform.startBlock }, me, { asOfBlock: platform.startBlock - 1n }),
      "block_out_of_range",
      422,
    );
    await rejects(getHoldings(deps, me, { asOfBlock: 2n ** 64n }), "block_out_of_range", 422);
  });
});

describe("catalog: before the indexer's first batch", function () {
  let database: TestDatabase;
  let db: pg.Pool;
  let deps: CatalogDeps;
  const wallet = getAddress("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc");
  const collection = getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3");

  before(async function () {
    database = await createTestDatabase();
    db = createPool(database.url);
    deps = { db, chainId: 31337 };
  });

  after(async function () {
    await db?.end();
    await database?.drop();
  });

  it("answers lists with no items at no block (asOfBlock null), as the API conventions say; no 5xx", async function () {
    expect(checked(editionListSchema, await listDrops(deps))).to.deep.equal({
      asOfBlock: null,
      headTime: null,
      items: [],
      nextCursor: null,
    });
    expect(checked(holdingListSchema, await getHoldings(deps, wallet))).to.deep.equal({
      address: wallet,
      asOfBlock: null,
      items: [],
      nextCursor: null,
    });
    expect(checked(activityListSchema, await listWalletActivity(deps, wallet))).to.deep.equal({
      asOfBlock: null,
      items: [],
      nextCursor: null,
    });
  });

  it("answers a named collection or edition not_found (404), and holdings as of a block block_out_of_range (422)", async function () {
    await rejects(getCollection(deps, collection), "not_found", 404);
    await rejects(listEditions(deps, collection), "not_found", 404);
    await rejects(getEdition(deps, collection, 1n), "not_found", 404);
    await rejects(listEditionHolders(deps, collection, 1n), "not_found", 404);
    await rejects(listCollectionActivity(deps, collection), "not_found", 404);
    await rejects(listEditionActivity(deps, collection, 1n), "not_found", 404);
    await rejects(getHoldings(deps, wallet, { asOfBlock: 0n }), "block_out_of_range", 422);
  });
});
