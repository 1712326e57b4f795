import { getAddress, isAddress } from "viem";
import { z } from "zod";

/** An address in any case; mixed case must carry a valid EIP-55 checksum. Normalised to checksummed form. */
export const addressSchema = z
  .string()
  .refine((v) => isAddress(v, { strict: true }), {
    message: "must be a 0x-prefixed 20-byte hex address (mixed case must be a valid EIP-55 checksum)",
  })
  .transform((v) => getAddress(v));

/** A uint256 as a string of decimal digits. */
export const uintStringSchema = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,77})$/, "must be a decimal integer string")
  .transform((v) => BigInt(v))
  .refine((v) => v < 2n ** 256n, "must fit in uint256");
