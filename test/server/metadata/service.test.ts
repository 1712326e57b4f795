import { expect } from "chai";
import type pg from "pg";
import { getAddress, type Address } from "viem";
import { createPool } from "../../../server/database/pool.ts";
import {
  EditionUriFrozen,
  MetadataNotFound,
  MetadataPathInvalid,
  metadataProblem,
} from "../../../server/metadata/errors.ts";
import { collectionMetadataSchema, editionMetadataSchema } from "../../../server/metadata/schemas.ts";
import {
  collectionMetadataUri,
  editionMetadataUri,
  getCollectionMetadata,
  getEditionMetadata,
  parsePlatformMetadataUri,
  parseTokenIdSegment,
  resolveEditionMetadata,
  serveMetadataFile,
  setCollectionMetadata,
  setEditionMetadata,
  substituteTokenId,
  type MetadataServiceDeps,
} from "../../../server/metadata/service.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";

const PUBLIC_URL = "https://drops.example.com";
const CHAIN_ID = 31337;
const COLLECTION = getAddress("0x52908400098527886e0f7030069857d2e4169ee7");
const PARTNER = getAddress("0x0000000000000000000000000000000000000aa1");
const ID_HEX = "000000000000000000000000000000000000000000000000000000000000002a"; // 42

const metadata = editionMetadataSchema.parse({
  name: "Founders Pass",
  description: "First hundred supporters.",
  image: "https://drops.example.com/media/" + "ab".repeat(32) + ".png",
  attributes: [
    { trait_type: "Tier", value: "Founder" },
    { trait_type: "Perks", value: 3, display_type: "number" },
  ],
  properties: { edition: 42, transferable: true },
});

describe("metadata: service (PostgreSQL)", () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const frozen = new Set<string>();
  let deps: MetadataServiceDeps;
  before(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url);
    deps = {
      db: pool,
      publicUrl: PUBLIC_URL,
      isUriFrozen: (chainId: number, collection: Address, tokenId: bigint) =>
        Promise.resolve(frozen.has(`${chainId}/${collection.toLowerCase()}/${tokenId}`)),
    };
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  it("builds the stable public URLs, substitutes {id} as EIP-1155 does, and reads hex or decimal ids", () => {
    const template = editionMetadataUri(PUBLIC_URL + "/", CHAIN_ID, COLLECTION);
    expect(template).to.equal(`${PUBLIC_URL}/metadata/31337/${COLLECTION.toLowerCase()}/{id}.json`);
    expect(substituteTokenId(template, 42n)).to.equal(
      `${PUBLIC_URL}/metadata/31337/${COLLECTION.toLowerCase()}/${ID_HEX}.json`,
    );
    expect(collectionMetadataUri(PUBLIC_URL, CHAIN_ID, COLLECTION)).to.equal(
      `${PUBLIC_URL}/metadata/31337/${COLLECTION.toLowerCase()}/contract.json`,
    );
    expect(parseTokenIdSegment(ID_HEX)).to.equal(42n);
    expect(parseTokenIdSegment(ID_HEX.toUpperCase())).to.equal(42n);
    expect(parseTokenIdSegment("42")).to.equal(42n);
    expect(parseTokenIdSegment("f".repeat(64))).to.equal(2n ** 256n - 1n);
    for (const bad of ["", "0x2a", "-1", "4.2", "2a", "9".repeat(79), (2n ** 256n).toString(), "f".repeat(63)]) {
      expect(() => parseTokenIdSegment(bad), bad).to.throw(MetadataPathInvalid);
    }
  });

  it("tells platform URLs from others", () => {
    const template = editionMetadataUri(PUBLIC_URL, CHAIN_ID, COLLECTION);
    expect(parsePlatformMetadataUri(PUBLIC_URL, template, 7n)).to.deep.equal({
      kind: "edition",
      chainId: CHAIN_ID,
      collection: COLLECTION,
      tokenId: 7n,
    });
    expect(
      parsePlatformMetadataUri(PUBLIC_URL, template.replace(COLLECTION.toLowerCase(), COLLECTION).replace("{id}", "7")),
    ).to.deep.equal({
      kind: "edition",
      chainId: CHAIN_ID,
      collection: COLLECTION,
      tokenId: 7n,
    });
    expect(parsePlatformMetadataUri(PUBLIC_URL, collectionMetadataUri(PUBLIC_URL, CHAIN_ID, COLLECTION))).to.deep.equal(
      {
        kind: "collection",
        chainId: CHAIN_ID,
        collection: COLLECTION,
      },
    );
    for (const other of [
      "ipfs://bafy/1.json",
      "https://partner.example.com/metadata/31337/" + COLLECTION + "/1.json",
      "https://drops.example.com.evil.com/metadata/31337/" + COLLECTION + "/1.json",
      PUBLIC_URL + "/metadata/31337/0x123/1.json",
      PUBLIC_URL + "/metadata/31337/" + COLLECTION + "/1.json?x=1",
    ]) {
      expect(parsePlatformMetadataUri(PUBLIC_URL, other, 1n), other).to.equal(undefined);
    }
  });

  it("stores, replaces and serves an edition's metadata at its public URL (hex or decimal id)", async () => {
    const stored = await setEditionMetadata(deps, {
      chainId: CHAIN_ID,
      collection: COLLECTION,
      tokenId: 42n,
      partnerAddress: PARTNER,
      metadata,
    });
    expect(stored).to.include({ chainId: CHAIN_ID, collection: COLLECTION, tokenId: "42", updatedBy: PARTNER });
    expect(stored.uri).to.equal(`${PUBLIC_URL}/metadata/31337/${COLLECTION.toLowerCase()}/${ID_HEX}.json`);
    expect(stored.metadata).to.deep.equal(metadata);
    const renamed = { ...metadata, name: "Founders Pass (v2)" };
    await setEditionMetadata(deps, {
      chainId: CHAIN_ID,
      collection: COLLECTION,
      tokenId: 42n,
      partnerAddress: PARTNER,
      metadata: renamed,
    });
    expect(
      (await getEditionMetadata(deps, { chainId: CHAIN_ID, collection: COLLECTION, tokenId: 42n })).metadata,
    ).to.deep.equal(renamed);
    for (const file of [`${ID_HEX}.json`, "42.json"]) {
      expect(await serveMetadataFile(deps, { chainId: CHAIN_ID, collection: COLLECTION, file })).to.deep.equal(renamed);
    }
    let error: unknown;
    await serveMetadataFile(deps, { chainId: CHAIN_ID, collection: COLLECTION, file: "43.json" }).catch(
      (e: unknown) => (error = e),
    );
    expect(error).to.be.instanceOf(MetadataNotFound);
    error = undefined;
    await serveMetadataFile(deps, { chainId: CHAIN_ID, collection: COLLECTION, file: "x.json" }).catch(
      (e: unknown) => (error = e),
    );
    expect(error).to.be.instanceOf(MetadataPathInvalid);
  });

  it("refuses changes to an edition whose URI is frozen on-chain, and leaves its metadata as it was", async () => {
    await setEditionMetadata(deps, {
      chainId: CHAIN_ID,
      collection: COLLECTION,
      tokenId: 5n,
      partnerAddress: PARTNER,
      metadata,
    });
    frozen.add(`${CHAIN_ID}/${COLLECTION.toLowerCase()}/5`);
    let error: unknown;
    await setEditionMetadata(deps, {
      chainId: CHAIN_ID,
      collection: COLLECTION,
      tokenId: 5n,
      partnerAddress: PARTNER,
      metadata: { ...metadata, name: "changed" },
    }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(EditionUriFrozen);
    expect((error as EditionUriFrozen).status).to.equal(409);
    expect(
      (await getEditionMetadata(deps, { chainId: CHAIN_ID, collection: COLLECTION, tokenId: 5n })).metadata.name,
    ).to.equal("Founders Pass");
    // Other editions of the collection are unaffected.
    await setEditionMetadata(deps, {
      chainId: CHAIN_ID,
      collection: COLLECTION,
      tokenId: 6n,
      partnerAddress: PARTNER,
      metadata,
    });
  });

  it("resolves an edition's on-chain URI: the platform's is served, any other is reported and not served", async () => {
    const template = editionMetadataUri(PUBLIC_URL, CHAIN_ID, COLLECTION);
    const ours = await resolveEditionMetadata(deps, {
      chainId: CHAIN_ID,
      collection: COLLECTION,
      tokenId: 42n,
      onChainUri: template,
    });
    expect(ours).to.deep.include({ uri: substituteTokenId(template, 42n), servedByPlatform: true });
    expect(ours.metadata?.name).to.equal("Founders Pass (v2)");
    const notYet = await resolveEditionMetadata(deps, {
      chainId: CHAIN_ID,
      collection: COLLECTION,
      tokenId: 99n,
      onChainUri: template,
    });
    expect(notYet).to.deep.equal({ uri: substituteTokenId(template, 99n), servedByPlatform: true, metadata: null });
    const ipfs = await resolveEditionMetadata(deps, {
      chainId: CHAIN_ID,
      collection: COLLECTION,
      tokenId: 42n,
      onChainUri: "ipfs://bafy/{id}.json",
    });
    expect(ipfs).to.deep.equal({ uri: `ipfs://bafy/${ID_HEX}.json`, servedByPlatform: false, metadata: null });
  });

  it("stores and serves collection (contractURI) metadata with royalty fields", async () => {
    const input = collectionMetadataSchema.parse({
      name: "Demo Studio",
      description: "Drops.",
      image: "ipfs://bafy/logo.png",
      external_link: "https://studio.example.com",
      seller_fee_basis_points: 500,
      fee_recipient: PARTNER.toLowerCase(),
    });
    expect(input.fee_recipient).to.equal(PARTNER);
    const stored = await setCollectionMetadata(deps, {
      chainId: CHAIN_ID,
      collection: COLLECTION,
      partnerAddress: PARTNER,
      metadata: input,
    });
    expect(stored.uri).to.equal(collectionMetadataUri(PUBLIC_URL, CHAIN_ID, COLLECTION));
    expect(
      await serveMetadataFile(deps, { chainId: CHAIN_ID, collection: COLLECTION, file: "contract.json" }),
    ).to.deep.equal(input);
    let error: unknown;
    await getCollectionMetadata(deps, { chainId: 1, collection: COLLECTION }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(MetadataNotFound);
  });

  it("validates metadata at the boundary: lengths, URLs, attribute shapes and counts", () => {
    const ok = { name: "x" };
    expect(editionMetadataSchema.safeParse(ok).success).to.equal(true);
    const bad: unknown[] = [
      {},
      { name: "" },
      { name: "x".repeat(201) },
      { name: "x", description: "d".repeat(5001) },
      { name: "x", image: "javascript:alert(1)" },
      { name: "x", image: "data:image/png;base64,AAAA" },
      { name: "x", image: "/relative.png" },
      { name: "x", image: "https://x.example/" + "a".repeat(2100) },
      { name: "x", attributes: [{ trait_type: "t" }] },
      { name: "x", attributes: [{ trait_type: "t", value: { nested: true } }] },
      { name: "x", attributes: [{ trait_type: "t", value: "s", display_type: "number" }] },
      { name: "x", attributes: Array.from({ length: 51 }, (_, i) => ({ trait_type: `t${i}`, value: i })) },
      { name: "x", properties: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`p${i}`, i])) },
      { name: "x", background_color: "#ffffff" },
      { name: "x", unknown: 1 },
    ];
    for (const b of bad)
      expect(editionMetadataSchema.safeParse(b).success, JSON.stringify(b).slice(0, 80)).to.equal(false);
    for (const b of [
      { name: "c", seller_fee_basis_points: 10_001, fee_recipient: PARTNER },
      { name: "c", seller_fee_basis_points: 500 },
      { name: "c", seller_fee_basis_points: 500, fee_recipient: "0xAbC0000000000000000000000000000000000001" },
      { name: "c", external_link: "ftp://x.example" },
    ]) {
      expect(collectionMetadataSchema.safeParse(b).success, JSON.stringify(b)).to.equal(false);
    }
  });

  it("maps its errors to problem+json statuses: frozen 409, unknown 404, bad id 400", () => {
    expect(metadataProblem(new EditionUriFrozen(1, COLLECTION, 1n))?.status).to.equal(409);
    expect(metadataProblem(new MetadataNotFound("x"))?.status).to.equal(404);
    expect(metadataProblem(new MetadataPathInvalid("x"))?.status).to.equal(400);
    expect(metadataProblem(new Error("other"))).to.equal(undefined);
  });
});
