import { z } from "zod";
import { addressSchema, uintStringSchema } from "../http/schemas.ts";
import { MAX_ALLOWANCE } from "./parse.ts";

/**
 * The allowlist module's request and response schemas, named (`.meta({ id })`) for the OpenAPI document. Requests
 * parse into what ./service.ts takes (bigints, checksummed addresses); responses describe what it returns.
 */

const U32 = 2 ** 32 - 1;
const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/);

export const allowlistIdSchema = z.uuid().meta({ id: "AllowlistId", description: "An allowlist's id (UUID)" });

/** The sale phase the list is for, as `setPhase` takes it (the root is added by the server). */
export const allowlistPhaseSettingsSchema = z
  .object({
    start: z.number().int().min(0).max(U32).describe("first second of the phase (Unix time)"),
    end: z.number().int().min(0).max(U32).describe("first second after the phase; equal to start disables it"),
    price: uintStringSchema
      .refine((v) => v < 2n ** 80n, "must be below 2^80 wei")
      .describe("wei per token, decimal string"),
    walletLimit: z
      .number()
      .int()
      .min(0)
      .max(2 ** 24 - 1)
      .describe("most tokens one wallet may get in the phase; 0 = only the allowance limits it"),
  })
  .refine((s) => s.end >= s.start, { message: "end must not be before start", path: ["end"] })
  .meta({ id: "AllowlistPhaseSettings" });

export const createAllowlistBodySchema = z
  .object({
    edition: uintStringSchema.refine((v) => v > 0n, "edition ids start at 1").describe("token id, decimal string"),
    phase: z.number().int().min(0).max(6).describe("phase index 0–6"),
    sale: allowlistPhaseSettingsSchema,
    name: z.string().trim().min(1).max(100).optional(),
    format: z.enum(["csv", "json"]),
    content: z
      .string()
      .min(1)
      .max(32 * 1024 * 1024)
      .describe(
        'the list: CSV lines `address,maxQuantity` (optional header), or a JSON array of {"address","maxQuantity"} ' +
          `or [address, maxQuantity]; maxQuantity 1–${MAX_ALLOWANCE}`,
      ),
  })
  .meta({ id: "CreateAllowlist" });
export type CreateAllowlistBody = z.infer<typeof createAllowlistBodySchema>;

export const setPhaseCallSchema = z
  .object({
    to: z.string().describe("the collection (EIP-55)"),
    functionName: z.literal("setPhase"),
    args: z.tuple([
      z.string().describe("edition"),
      z.number().int().describe("phase index"),
      z.object({
        start: z.number().int(),
        end: z.number().int(),
        price: z.string(),
        walletLimit: z.number().int(),
        merkleRoot: hex32,
      }),
    ]),
    data: z.string().describe("the call ABI-encoded, for eth_sendTransaction"),
  })
  .meta({ id: "SetPhaseCall", description: "The transaction that puts this allowlist on-chain" });

export const allowlistSchema = z
  .object({
    id: z.string(),
    chainId: z.number().int(),
    collection: z.string().describe("EIP-55"),
    edition: z.string(),
    phase: z.number().int(),
    name: z.string().nullable(),
    root: hex32,
    entryCount: z.number().int(),
    totalQuantity: z.string().describe("sum of all allowances, decimal string"),
    createdBy: z.string().describe("EIP-55"),
    createdAt: z.iso.datetime(),
    setPhase: setPhaseCallSchema,
  })
  .meta({ id: "Allowlist" });

export const allowlistPageSchema = z
  .object({ items: z.array(allowlistSchema), nextCursor: z.string().nullable() })
  .meta({ id: "AllowlistPage", description: "Newest first (creation time, then id)" });

export const allowlistProofParamsSchema = z.object({ id: allowlistIdSchema, address: addressSchema });

export const allowlistProofSchema = z
  .object({
    allowlistId: z.string(),
    chainId: z.number().int(),
    collection: z.string(),
    edition: z.string(),
    phase: z.number().int(),
    root: hex32,
    address: z.string().describe("EIP-55"),
    allowance: z.string().describe("the leaf's maxQuantity: mintAllowlisted's `allowance` argument"),
    limit: z.string().describe("most the wallet may mint in the phase (allowance, or the wallet limit if lower)"),
    proof: z.array(hex32),
  })
  .meta({ id: "AllowlistProof" });

export const allowlistRowErrorSchema = z
  .object({
    line: z.number().int(),
    code: z.enum(["bad_row", "bad_address", "bad_checksum", "duplicate", "bad_quantity", "quantity_above_limit"]),
    reason: z.string(),
  })
  .meta({ id: "AllowlistRowError" });

/** listAllowlists' cursor: [createdAt ISO, id]. */
export const allowlistCursorSchema = z.tuple([z.iso.datetime(), z.uuid()]);
