import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Address, Hex } from "viem";

/** One allowlist entry: `account` may receive up to `maxQuantity` tokens in the phase. */
export type AllowlistEntry = { account: Address; maxQuantity: bigint };

/** The leaf encoding the Collection contract verifies: StandardMerkleTree over `(address, uint256)`. */
export const allowlistLeafEncoding = ["address", "uint256"] as const;

/** Builds the allowlist tree of a phase; its `root` goes into the phase's `merkleRoot`. */
export function buildAllowlist(entries: readonly AllowlistEntry[]) {
  const tree = StandardMerkleTree.of(
    entries.map((e) => [e.account, e.maxQuantity.toString()]),
    [...allowlistLeafEncoding],
  );
  return {
    root: tree.root as Hex,
    tree,
    /** The proof for `account` with its allowance, or undefined if it is not on the list. */
    proofFor(account: Address): { allowance: bigint; proof: Hex[] } | undefined {
      for (const [i, [leafAccount, maxQuantity]] of tree.entries()) {
        if (String(leafAccount).toLowerCase() === account.toLowerCase()) {
          return { allowance: BigInt(maxQuantity as string), proof: tree.getProof(i) as Hex[] };
        }
      }
      return undefined;
    },
  };
}
