/**
 * The `createEdition` call a partner sends to make an edition, prepared by the platform: validated against the
 * contract's own limits (so it does not revert on them), and with the edition's URI defaulting to the platform's
 * metadata URL (`{PUBLIC_URL}/metadata/{chainId}/{collection}/{id}.json`), which the partner's metadata then fills.
 * An edition whose URI points elsewhere (IPFS, the partner's server) keeps it: pass `uri`.
 */
import { encodeFunctionData, getAddress, parseAbi, zeroAddress, type Address } from "viem";
import { z } from "zod";
import { addressSchema } from "../http/schemas.ts";
import { editionMetadataUri } from "./service.ts";

const createEditionAbi = parseAbi([
  "struct EditionSettings { uint32 maxSupply; uint16 referralBps; bool soulbound; bool redeemable; address royaltyReceiver; uint96 royaltyBps; string uri; }",
  "struct Phase { uint32 start; uint32 end; uint80 price; uint24 walletLimit; bytes32 merkleRoot; }",
  "function createEdition(EditionSettings settings, Phase[] phases) returns (uint256)",
]);

const uint32 = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);

const phaseSchema = z
  .strictObject({
    start: uint32.describe("Unix seconds"),
    end: uint32.describe("Unix seconds"),
    price: z
      .string()
      .regex(/^(0|[1-9][0-9]{0,24})$/, "must be wei in decimal")
      .refine((v) => BigInt(v) < 2n ** 80n, "must fit in uint80")
      .describe("Wei per token"),
    walletLimit: z
      .number()
      .int()
      .min(0)
      .max(2 ** 24 - 1)
      .describe("0: no limit"),
    merkleRoot: z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, "must be 32 bytes of hex")
      .optional()
      .describe("An allowlist's root (POST …/allowlists gives it); omit for a public phase"),
  })
  .refine((p) => p.end >= p.start, { message: "must not be before start", path: ["end"] });

export const createEditionBodySchema = z.strictObject({
  maxSupply: z
    .number()
    .int()
    .min(1)
    .max(2 ** 32 - 1),
  referralBps: z.number().int().min(0).max(5000).default(0).describe("At most 5,000 (50%), the contract's limit"),
  soulbound: z.boolean().default(false),
  redeemable: z.boolean().default(false),
  royaltyReceiver: addressSchema.optional().describe("Omit: the collection's default royalty"),
  royaltyBps: z.number().int().min(0).max(10_000).default(0),
  uri: z
    .string()
    .url()
    .max(2000)
    .optional()
    .describe("The edition's metadata URI (omit: the platform's metadata URL, served from what you set here)"),
  phases: z.array(phaseSchema).max(7).default([]).describe("At most 7, the contract's limit"),
});

export const createEditionCallSchema = z
  .object({
    to: z.string().describe("the collection (EIP-55)"),
    functionName: z.literal("createEdition"),
    uri: z.string().describe("the URI the edition gets on-chain"),
    data: z.string().describe("the call ABI-encoded, for eth_sendTransaction from an edition admin"),
  })
  .meta({ id: "CreateEditionCall", description: "The transaction that creates the edition" });

export function prepareCreateEdition(
  deps: { publicUrl: string; chainId: number },
  collection: Address,
  body: z.infer<typeof createEditionBodySchema>,
) {
  const uri = body.uri ?? editionMetadataUri(deps.publicUrl, deps.chainId, collection);
  const data = encodeFunctionData({
    abi: createEditionAbi,
    functionName: "createEdition",
    args: [
      {
        maxSupply: body.maxSupply,
        referralBps: body.referralBps,
        soulbound: body.soulbound,
        redeemable: body.redeemable,
        royaltyReceiver: body.royaltyReceiver ?? zeroAddress,
        royaltyBps: BigInt(body.royaltyBps),
        uri,
      },
      body.phases.map((p) => ({
        start: p.start,
        end: p.end,
        price: BigInt(p.price),
        walletLimit: p.walletLimit,
        merkleRoot: (p.merkleRoot ?? `0x${"0".repeat(64)}`) as `0x${string}`,
      })),
    ],
  });
  return { to: getAddress(collection), functionName: "createEdition" as const, uri, data };
}
