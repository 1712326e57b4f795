import { createKeccak } from "hash-wasm";

/**
 * keccak-256 in WebAssembly (hash-wasm), for the allowlist hot paths: about ten times faster here than the
 * JavaScript keccak viem and @openzeppelin/merkle-tree use, which at 100,000 rows is the difference between
 * seconds and a fraction of one. One hasher, created once; every use is synchronous (init, update, digest), so
 * callers never interleave.
 */
export const keccak = await createKeccak(256);

/** The EIP-55 checksummed form of a 40-digit lowercase hex address (without 0x): what viem's getAddress returns. */
export function checksumHex(lowerHex: string): `0x${string}` {
  keccak.init();
  keccak.update(lowerHex);
  const hash = keccak.digest("hex");
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const c = lowerHex[i]!;
    out += c >= "a" && parseInt(hash[i]!, 16) >= 8 ? c.toUpperCase() : c;
  }
  return out as `0x${string}`;
}
