import { getAddress } from "viem";
import { z } from "zod";
import { ADDRESS_EXPECTED, isAcceptedAddress } from "../lib/address.ts";

/**
 * An address in any case: all lower or all upper case as it is, mixed case only with a valid EIP-55 checksum.
 * Normalised to checksummed form.
 */
export const addressSchema = z
  .string()
  .refine((v) => isAcceptedAddress(v), { message: `must be ${ADDRESS_EXPECTED}` })
  .transform((v) => getAddress(v));

/** A uint256 as a string of decimal digits. */
export const uintStringSchema = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,77})$/, "must be a decimal integer string")
  .transform((v) => BigInt(v))
  .refine((v) => v < 2n ** 256n, "must fit in uint256");
