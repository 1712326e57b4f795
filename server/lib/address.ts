import { getAddress } from "viem";

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/**
 * An address as EIP-55 and our API conventions accept it: 0x and 40 hex digits, all lower case, all upper case, or
 * mixed case carrying a valid EIP-55 checksum. (viem's strict isAddress also refuses all upper case.)
 */
export function isAcceptedAddress(value: string): boolean {
  if (!HEX_ADDRESS.test(value)) return false;
  const digits = value.slice(2);
  if (digits === digits.toLowerCase() || digits === digits.toUpperCase()) return true;
  return getAddress(value) === value;
}

export const ADDRESS_EXPECTED = "a 0x-prefixed 20-byte hex address (mixed case must be a valid EIP-55 checksum)";
