import { expect } from "chai";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { crc32, inflateSync } from "node:zlib";
import type pg from "pg";
import { getContract } from "viem";
import { loadArtifact } from "../../../server/chain/artifacts.ts";
import { demoWallets, seedDemo } from "../../../server/chain/demo-seed.ts";
import { createPool } from "../../../server/database/pool.ts";
import { serveImage } from "../../../server/media/service.ts";
import { seedDemoMetadata } from "../../../server/metadata/demo.ts";
import {
  collectionMetadataUri,
  editionMetadataUri,
  resolveEditionMetadata,
  serveMetadataFile,
} from "../../../server/metadata/service.ts";
import { deployTestPlatform, startTestChain, type TestChain } from "../../../server/testing/chain.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";

/** Checks a PNG the way a decoder would: signature, every chunk's CRC, IHDR, and the inflated image size. */
function decodePng(bytes: Buffer): { width: number; height: number } {
  expect([...bytes.subarray(0, 8)]).to.deep.equal([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  for (;;) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString("ascii", offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    expect(bytes.readUInt32BE(offset + 8 + length), `CRC of ${type}`).to.equal(
      crc32(bytes.subarray(offset + 4, offset + 8 + length)),
    );
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([data[8], data[9]]).to.deep.equal([8, 2]);
    }
    if (type === "IDAT") idat.push(data);
    offset += 12 + length;
    if (type === "IEND") break;
  }
  expect(inflateSync(Buffer.concat(idat)).length).to.equal(height * (1 + width * 3));
  return { width, height };
}

describe("metadata: the demo's metadata and images", () => {
  let tc: TestChain;
  let db: TestDatabase;
  let pool: pg.Pool;
  let dataDir: string;
  before(async () => {
    [tc, db, dataDir] = await Promise.all([
      startTestChain(),
      createTestDatabase(),
      mkdtemp(path.join(os.tmpdir(), "perkmint-demo-media-")),
    ]);
    pool = createPool(db.url);
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
    await tc?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("gives the seeded editions real metadata and images, served by the platform from their on-chain URIs", async () => {
    const publicUrl = "http://127.0.0.1:3000";
    const deployment = await deployTestPlatform(tc);
    const wallets = demoWallets(tc.chain, tc.rpcUrl);
    const seed = await seedDemo(tc.publicClient, wallets, deployment.factory);
    const chainId = await tc.publicClient.getChainId();
    const result = await seedDemoMetadata(
      { db: pool, dataDir, publicUrl },
      {
        chainId,
        seed,
        partnerAddress: wallets.partner.account.address,
        onChain: { publicClient: tc.publicClient, partner: wallets.partner },
      },
    );
    expect(result.editions.map((e) => e.metadata.name)).to.deep.equal(seed.editions.map((e) => e.name));
    expect(result.collection.metadata).to.include({
      seller_fee_basis_points: 500,
      fee_recipient: wallets.partner.account.address,
    });

    const { abi } = await loadArtifact("Collection");
    const collection = getContract({ address: seed.collection, abi, client: tc.publicClient });
    expect(await collection.read.contractURI()).to.equal(collectionMetadataUri(publicUrl, chainId, seed.collection));
    expect(
      (
        await serveMetadataFile(
          { db: pool, publicUrl },
          { chainId, collection: seed.collection, file: "contract.json" },
        )
      ).name,
    ).to.equal("Perkmint Demo Studio");
    for (const edition of seed.editions) {
      const onChainUri = await collection.read.uri([edition.id]);
      expect(onChainUri).to.equal(editionMetadataUri(publicUrl, chainId, seed.collection));
      const resolved = await resolveEditionMetadata(
        { db: pool, publicUrl },
        { chainId, collection: seed.collection, tokenId: edition.id, onChainUri },
      );
      expect(resolved.servedByPlatform).to.equal(true);
      expect(resolved.metadata?.name).to.equal(edition.name);
      const image = resolved.metadata!.image!;
      expect(image.startsWith(`${publicUrl}/media/`)).to.equal(true);
      const served = await serveImage({ dataDir }, image.slice(`${publicUrl}/media/`.length));
      expect(served.contentType).to.equal("image/png");
      expect(decodePng(await readFile(served.path))).to.deep.equal({ width: 64, height: 64 });
    }
    // Seeding again changes nothing on disk: the images are the same bytes.
    const again = await seedDemoMetadata(
      { db: pool, dataDir, publicUrl },
      { chainId, seed, partnerAddress: wallets.partner.account.address },
    );
    expect(again.images.every((i) => !i.created)).to.equal(true);
  });
});
