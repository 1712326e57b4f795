import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { buildAllowlistTree, proofIndexes, toStandardDump } from "../../../server/allowlists/merkle-tree.ts";
import { MAX_ALLOWANCE } from "../../../server/allowlists/parse.ts";
import { prng } from "../../../server/testing/chain.ts";

function randomEntries(seed: number, n: number) {
  const rand = prng(seed);
  const seen = new Set<string>();
  const entries: { account: string; maxQuantity: bigint }[] = [];
  while (entries.length < n) {
    const account = `0x${Array.from({ length: 40 }, () => "0123456789abcdef"[rand.int(0, 15)]).join("")}`;
    if (seen.has(account)) continue;
    seen.add(account);
    const maxQuantity = rand.next() < 0.05 ? MAX_ALLOWANCE : BigInt(rand.int(1, 1000));
    entries.push({ account, maxQuantity });
  }
  return entries;
}

describe("allowlists: Merkle tree", () => {
  it("equals @openzeppelin/merkle-tree's StandardMerkleTree node for node, with the same proofs", () => {
    for (const [seed, n] of [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
      [6, 17],
      [7, 64],
      [8, 333],
    ] as const) {
      const entries = randomEntries(seed, n);
      const ours = buildAllowlistTree(entries);
      const theirs = StandardMerkleTree.of(
        entries.map((e) => [e.account, e.maxQuantity.toString()]),
        ["address", "uint256"],
      );
      const dump = toStandardDump(ours, entries);
      expect(ours.root, `root of ${n}`).to.equal(theirs.root);
      expect(dump.tree, `nodes of ${n}`).to.deep.equal(theirs.dump().tree);
      expect(dump.values, `leaf positions of ${n}`).to.deep.equal(theirs.dump().values);
      entries.forEach((e, j) => {
        const proof = proofIndexes(ours.treeIndex[j]!).map((i) => dump.tree[i]!);
        expect(proof).to.deep.equal(theirs.getProof(j));
        expect(
          StandardMerkleTree.verify(ours.root, ["address", "uint256"], [e.account, e.maxQuantity.toString()], proof),
        ).to.equal(true);
      });
    }
  });

  it("gives a dump StandardMerkleTree.load accepts (it re-hashes and validates every node)", () => {
    const entries = randomEntries(9, 50);
    const loaded = StandardMerkleTree.load(
      toStandardDump(buildAllowlistTree(entries), entries) as Parameters<typeof StandardMerkleTree.load>[0],
    );
    expect(loaded.root).to.equal(buildAllowlistTree(entries).root);
  });

  it("refuses an empty list", () => {
    expect(() => buildAllowlistTree([])).to.throw("at least one leaf");
  });
});
