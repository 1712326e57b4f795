import { z } from "zod";
import { addressSchema } from "../http/schemas.ts";

/**
 * Off-chain metadata a partner sets, validated here (lengths, URLs, attribute shapes and counts) and stored as
 * given. Edition metadata follows EIP-1155's metadata JSON schema (name, description, image, properties) plus
 * the `attributes`/`external_url`/`animation_url`/`background_color` fields marketplaces read; collection metadata
 * is what `contractURI` (ERC-7572) points to, with the royalty fields marketplaces read.
 */

export const MAX_ATTRIBUTES = 50;
export const MAX_PROPERTIES = 50;

/** URL schemes metadata may point at: the web, IPFS and Arweave. Never javascript:, data: or file:. */
const URL_SCHEMES = ["https:", "http:", "ipfs:", "ar:"];

export const metadataUrlSchema = z
  .string()
  .max(2048)
  .refine((v) => {
    try {
      const url = new URL(v);
      return URL_SCHEMES.includes(url.protocol) && !/[\s<>"]/.test(v);
    } catch {
      return false;
    }
  }, "must be an absolute https://, http://, ipfs:// or ar:// URL")
  .meta({ id: "MetadataUrl" });

const shortText = (max: number) => z.string().trim().min(1).max(max);

export const metadataAttributeSchema = z
  .object({
    trait_type: shortText(100),
    value: z.union([z.string().max(500), z.number().finite(), z.boolean()]),
    display_type: z.enum(["number", "boost_number", "boost_percentage", "date"]).optional(),
  })
  .strict()
  .refine((a) => a.display_type === undefined || typeof a.value === "number", {
    message: "a display_type needs a numeric value",
    path: ["value"],
  })
  .meta({ id: "MetadataAttribute" });

const propertyValue = z.union([z.string().max(1000), z.number().finite(), z.boolean()]);

export const editionMetadataSchema = z
  .object({
    name: shortText(200),
    description: z.string().max(5000).optional(),
    image: metadataUrlSchema.optional(),
    external_url: metadataUrlSchema.optional(),
    animation_url: metadataUrlSchema.optional(),
    background_color: z
      .string()
      .regex(/^[0-9a-fA-F]{6}$/, "six hex digits, without #")
      .optional(),
    attributes: z.array(metadataAttributeSchema).max(MAX_ATTRIBUTES).optional(),
    properties: z
      .record(z.string().min(1).max(100), propertyValue)
      .refine((p) => Object.keys(p).length <= MAX_PROPERTIES, `at most ${MAX_PROPERTIES} properties`)
      .optional(),
  })
  .strict()
  .meta({ id: "EditionMetadata", description: "EIP-1155 metadata JSON of one edition" });
export type EditionMetadata = z.infer<typeof editionMetadataSchema>;

export const collectionMetadataSchema = z
  .object({
    name: shortText(200),
    description: z.string().max(5000).optional(),
    image: metadataUrlSchema.optional(),
    banner_image: metadataUrlSchema.optional(),
    external_link: metadataUrlSchema.optional(),
    seller_fee_basis_points: z.number().int().min(0).max(10_000).optional(),
    fee_recipient: addressSchema.optional(),
  })
  .strict()
  .refine((m) => (m.seller_fee_basis_points === undefined) === (m.fee_recipient === undefined), {
    message: "seller_fee_basis_points and fee_recipient go together",
    path: ["fee_recipient"],
  })
  .meta({ id: "CollectionMetadata", description: "contractURI metadata (ERC-7572) with royalty fields" });
export type CollectionMetadata = z.infer<typeof collectionMetadataSchema>;

/** What the resolver says about an edition's on-chain URI. */
export const resolvedMetadataSchema = z
  .object({
    uri: z.string().describe("the on-chain URI with {id} substituted (64 lowercase hex digits)"),
    servedByPlatform: z.boolean(),
    metadata: editionMetadataSchema.nullable().describe("null when the URI points elsewhere or nothing is set yet"),
  })
  .meta({ id: "ResolvedEditionMetadata" });

export const storedEditionMetadataSchema = z
  .object({
    chainId: z.number().int(),
    collection: z.string(),
    tokenId: z.string(),
    uri: z.string().describe("the platform URL serving this JSON"),
    metadata: editionMetadataSchema,
    updatedBy: z.string(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "StoredEditionMetadata" });

export const storedCollectionMetadataSchema = z
  .object({
    chainId: z.number().int(),
    collection: z.string(),
    uri: z.string(),
    metadata: collectionMetadataSchema,
    updatedBy: z.string(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "StoredCollectionMetadata" });

/** `/metadata/:chainId/:collection/:id.json` path parts, as the public route receives them. */
export const metadataPathParamsSchema = z.object({
  chainId: z.coerce.number().int().positive(),
  collection: addressSchema,
  id: z.string().max(80),
});
