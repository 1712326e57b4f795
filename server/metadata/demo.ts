import type pg from "pg";
import {
  getContract,
  type Account,
  type Address,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { loadArtifact } from "../chain/artifacts.ts";
import type { DemoSeed } from "../chain/demo-seed.ts";
import { encodePng } from "../media/png.ts";
import { storeImage, type StoredImage } from "../media/service.ts";
import {
  collectionMetadataUri,
  editionMetadataUri,
  setCollectionMetadata,
  setEditionMetadata,
  type StoredCollectionMetadata,
  type StoredEditionMetadata,
} from "./service.ts";
import { collectionMetadataSchema, editionMetadataSchema, type EditionMetadata } from "./schemas.ts";

/** The demo's pictures, drawn in code (64×64 PNGs, a few hundred bytes each): a gold medallion and a blue sketch grid. */
export function demoImages(): { pass: Buffer; sketch: Buffer; logo: Buffer } {
  const pass = encodePng(64, 64, (x, y) => {
    const d = Math.hypot(x - 31.5, y - 31.5);
    if (d < 18) return [240, 190, 60];
    if (d < 22) return [180, 130, 30];
    return [30 + y, 20 + y, 60 + y];
  });
  const sketch = encodePng(64, 64, (x, y) =>
    x % 8 === 0 || y % 8 === 0 ? [40, 90, 200] : x === y || x === 63 - y ? [20, 30, 60] : [235, 240, 250],
  );
  const logo = encodePng(64, 64, (x, y) =>
    Math.abs(x - 32) + Math.abs(y - 32) < 20 ? [20, 160, 120] : [250, 250, 245],
  );
  return { pass, sketch, logo };
}

const DESCRIPTIONS: Record<string, { description: string; attributes: EditionMetadata["attributes"] }> = {
  "Founders Pass": {
    description: "The first hundred supporters of the Perkmint demo studio. Holders get early access to every drop.",
    attributes: [
      { trait_type: "Tier", value: "Founder" },
      { trait_type: "Perks", value: 3, display_type: "number" },
    ],
  },
  "Studio Sketch": {
    description: "A numbered sketch from the demo studio's notebook, in an edition of five hundred.",
    attributes: [
      { trait_type: "Medium", value: "Ink" },
      { trait_type: "Series", value: 1, display_type: "number" },
    ],
  },
};

export type SeedDemoMetadataParameters = {
  chainId: number;
  seed: DemoSeed;
  partnerAddress: Address;
  /**
   * When given, the partner's wallet also points the demo's on-chain URIs at the platform (`setURI` per edition,
   * `setContractURI`), so the JSON served here is what wallets and marketplaces read. Without it the editions keep
   * the URIs they were created with (and the resolver says the platform does not serve them).
   */
  onChain?: { publicClient: PublicClient; partner: WalletClient<Transport, Chain, Account> };
};

/**
 * Gives `npm run dev`'s demo collection (server/chain/demo-seed.ts) real metadata and images through the metadata
 * and media services: an image per edition and a logo, each edition's EIP-1155 JSON and the collection's
 * contractURI JSON (5% royalty to the partner, as the demo collection is created with).
 */
export async function seedDemoMetadata(
  deps: { db: pg.Pool; dataDir: string; publicUrl: string },
  input: SeedDemoMetadataParameters,
): Promise<{ collection: StoredCollectionMetadata; editions: StoredEditionMetadata[]; images: StoredImage[] }> {
  const media = { dataDir: deps.dataDir, publicUrl: deps.publicUrl };
  const drawn = demoImages();
  const logo = await storeImage(media, drawn.logo);
  const images: StoredImage[] = [logo];
  const collection = await setCollectionMetadata(deps, {
    chainId: input.chainId,
    collection: input.seed.collection,
    partnerAddress: input.partnerAddress,
    metadata: collectionMetadataSchema.parse({
      name: "Perkmint Demo Studio",
      description: "A demo partner collection seeded by `npm run dev`.",
      image: logo.url,
      external_link: deps.publicUrl,
      seller_fee_basis_points: 500,
      fee_recipient: input.partnerAddress,
    }),
  });
  const editions: StoredEditionMetadata[] = [];
  for (const [i, edition] of input.seed.editions.entries()) {
    const image = await storeImage(media, i % 2 === 0 ? drawn.pass : drawn.sketch);
    images.push(image);
    const text = DESCRIPTIONS[edition.name] ?? {
      description: `Edition ${edition.id} of the demo studio.`,
      attributes: [],
    };
    editions.push(
      await setEditionMetadata(
        { ...deps, isUriFrozen: () => Promise.resolve(false) },
        {
          chainId: input.chainId,
          collection: input.seed.collection,
          tokenId: edition.id,
          partnerAddress: input.partnerAddress,
          metadata: editionMetadataSchema.parse({
            name: edition.name,
            description: text.description,
            image: image.url,
            external_url: deps.publicUrl,
            attributes: text.attributes,
            properties: { maxSupply: Number(edition.maxSupply) },
          }),
        },
      ),
    );
  }
  if (input.onChain) {
    const { abi } = await loadArtifact("Collection");
    const { publicClient, partner } = input.onChain;
    const contract = getContract({
      address: input.seed.collection,
      abi,
      client: { public: publicClient, wallet: partner },
    });
    const wait = async (hash: `0x${string}`) => {
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`Demo metadata transaction ${hash} reverted`);
    };
    const template = editionMetadataUri(deps.publicUrl, input.chainId, input.seed.collection);
    for (const edition of input.seed.editions) {
      if ((await contract.read.edition([edition.id])).uriFrozen) continue;
      await wait(await contract.write.setURI([edition.id, template]));
    }
    await wait(
      await contract.write.setContractURI([
        collectionMetadataUri(deps.publicUrl, input.chainId, input.seed.collection),
      ]),
    );
  }
  return { collection, editions, images };
}
