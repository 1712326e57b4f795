import type pg from "pg";
import { z } from "zod";
import { defineRoute, type RouteDeclaration } from "../http/route.ts";
import { addressSchema, uintStringSchema } from "../http/schemas.ts";
import { MAX_IMAGE_BYTES, mediaProblem, serveImage, storeImage } from "../media/service.ts";
import { mediaNameParamsSchema, storedImageSchema } from "../media/schemas.ts";
import { createEditionBodySchema, createEditionCallSchema, prepareCreateEdition } from "./edition-call.ts";
import { metadataProblem } from "./errors.ts";
import {
  collectionMetadataSchema,
  editionMetadataSchema,
  metadataPathParamsSchema,
  storedCollectionMetadataSchema,
  storedEditionMetadataSchema,
} from "./schemas.ts";
import { serveMetadataFile, setCollectionMetadata, setEditionMetadata, type MetadataServiceDeps } from "./service.ts";

async function answering<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw metadataProblem(error) ?? mediaProblem(error) ?? error;
  }
}

const collectionParams = z.object({ address: addressSchema.describe("the collection's address") });
const editionParams = collectionParams.extend({
  tokenId: uintStringSchema.describe("the edition's token id, decimal"),
});

/**
 * Off-chain metadata and media: partners set their editions' and collection's metadata and upload images; the
 * platform serves the metadata at the URL editions use as their on-chain URI, and the images, forever cacheable.
 */
export function metadataRoutes(deps: {
  db: pg.Pool;
  chainId: number;
  publicUrl: string;
  dataDir: string;
}): RouteDeclaration[] {
  const metadataDeps: MetadataServiceDeps = {
    db: deps.db,
    publicUrl: deps.publicUrl,
    // The indexer's edition projection knows whether the URI is frozen on-chain (freezeURI).
    async isUriFrozen(chainId, collection, tokenId) {
      const { rows } = await deps.db.query<{ uri_frozen: boolean }>(
        "SELECT uri_frozen FROM edition WHERE chain_id = $1 AND collection = $2 AND token_id = $3",
        [chainId, collection.toLowerCase(), tokenId.toString()],
      );
      return rows[0]?.uri_frozen ?? false;
    },
  };
  const media = { dataDir: deps.dataDir, publicUrl: deps.publicUrl };
  return [
    defineRoute({
      method: "post",
      path: "/v1/collections/{address}/editions/prepare",
      summary:
        "Prepare the createEdition transaction for a new edition, its URI the platform's metadata URL unless given",
      description:
        "Nothing is written: the answer is the call to send from an edition admin. Its settings are checked against the contract's limits (max supply, referral share, royalty, at most 7 phases, each ending after it starts).",
      tags: ["metadata"],
      role: "partner",
      partnerOf: ({ params }) => params.address.toLowerCase(),
      params: collectionParams,
      body: createEditionBodySchema,
      responses: { 200: { description: "The call to send", schema: createEditionCallSchema } },
      handler: ({ params, body }) => ({
        body: prepareCreateEdition({ publicUrl: deps.publicUrl, chainId: deps.chainId }, params.address, body),
      }),
    }),
    defineRoute({
      method: "put",
      path: "/v1/collections/{address}/editions/{tokenId}/metadata",
      summary: "Set an edition's ERC-1155 metadata (refused with 409 once its URI is frozen on-chain)",
      tags: ["metadata"],
      role: "partner",
      partnerOf: ({ params }) => params.address.toLowerCase(),
      writes: true,
      params: editionParams,
      body: editionMetadataSchema,
      responses: {
        200: { description: "The stored metadata and the URL serving it", schema: storedEditionMetadataSchema },
      },
      errors: [409],
      handler: async ({ params, body, caller }) => ({
        body: await answering(() =>
          setEditionMetadata(metadataDeps, {
            chainId: deps.chainId,
            collection: params.address,
            tokenId: params.tokenId,
            partnerAddress: caller!.address,
            metadata: body,
          }),
        ),
      }),
    }),
    defineRoute({
      method: "put",
      path: "/v1/collections/{address}/metadata",
      summary: "Set the collection's contract-level metadata (contractURI)",
      tags: ["metadata"],
      role: "partner",
      partnerOf: ({ params }) => params.address.toLowerCase(),
      writes: true,
      params: collectionParams,
      body: collectionMetadataSchema,
      responses: {
        200: { description: "The stored metadata and the URL serving it", schema: storedCollectionMetadataSchema },
      },
      handler: async ({ params, body, caller }) => ({
        body: await answering(() =>
          setCollectionMetadata(metadataDeps, {
            chainId: deps.chainId,
            collection: params.address,
            partnerAddress: caller!.address,
            metadata: body,
          }),
        ),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/metadata/{chainId}/{collection}/{id}",
      summary:
        "An edition's metadata JSON (`{id}` as 64 hex digits, as EIP-1155 substitutes it, or decimal; `.json` optional), or `contract.json`",
      tags: ["metadata"],
      role: "public",
      params: metadataPathParamsSchema,
      responses: {
        200: {
          description: "EIP-1155 metadata JSON",
          schema: z.union([editionMetadataSchema, collectionMetadataSchema]),
        },
      },
      errors: [404],
      handler: async ({ params }) => ({
        body: await answering(() =>
          serveMetadataFile(metadataDeps, { chainId: params.chainId, collection: params.collection, file: params.id }),
        ),
      }),
    }),
    defineRoute({
      method: "post",
      path: "/v1/collections/{address}/media",
      summary: "Upload an image (PNG, JPEG, WebP or GIF, at most 10 MB; typed by its bytes, SVG refused)",
      tags: ["metadata"],
      role: "partner",
      partnerOf: ({ params }) => params.address.toLowerCase(),
      writes: true,
      params: collectionParams,
      rawBody: { limitBytes: MAX_IMAGE_BYTES, mediaTypes: ["image/png", "image/jpeg", "image/webp", "image/gif"] },
      responses: {
        201: {
          description: "Stored (content-addressed: the same bytes again store nothing new)",
          schema: storedImageSchema,
        },
      },
      handler: async ({ rawBody }) => {
        const stored = await answering(() => storeImage(media, rawBody ?? Buffer.alloc(0)));
        return { status: 201, body: stored };
      },
    }),
    defineRoute({
      method: "get",
      path: "/media/{name}",
      summary: "An uploaded image, with its real content type, cacheable forever",
      tags: ["metadata"],
      role: "public",
      params: mediaNameParamsSchema,
      responses: {
        200: {
          description: "The image's bytes",
          schema: z.string().meta({ format: "binary" }),
          contentType: "image/*",
        },
      },
      errors: [404],
      async handler({ params, res }) {
        const image = await answering(() => serveImage(media, params.name));
        res.status(200).type(image.contentType).set(image.headers).sendFile(image.path, { dotfiles: "allow" }); // the data folder is often a dot-folder (.perkmint)
      },
    }),
  ];
}
