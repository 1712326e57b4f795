import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, parseEventLogs, zeroAddress } from "viem";
import { deployDrop, phase, PRICE } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();

async function tokensFixture() {
  const base = await deployDrop(viem);
  const { collection, alice } = base;
  const plain = await base.createEdition({ redeemable: true });
  const soulbound = await base.createEdition({ soulbound: true, redeemable: true });
  const other = await base.createEdition({}, [phase({ price: 0n })]);
  for (const id of [plain, soulbound]) {
    await collection.write.mint([id, alice.account.address, 5n, 0n, zeroAddress], {
      account: alice.account,
      value: 5n * PRICE,
    });
  }
  await collection.write.mint([other, alice.account.address, 5n, 0n, zeroAddress], { account: alice.account });
  return { ...base, plain, soulbound, other };
}
const REF = `0x${"ab".repeat(32)}` as const;

describe("Collection: transfers, soulbound, redeem and burn", () => {
  describe("ERC-1155 transfers", () => {
    it("safeTransferFrom moves balances and emits TransferSingle", async () => {
      const { collection, plain, alice, bob } = await networkHelpers.loadFixture(tokensFixture);
      await viem.assertions.emitWithArgs(
        collection.write.safeTransferFrom([alice.account.address, bob.account.address, plain, 2n, "0x"], {
          account: alice.account,
        }),
        collection,
        "TransferSingle",
        [
          getAddress(alice.account.address),
          getAddress(alice.account.address),
          getAddress(bob.account.address),
          plain,
          2n,
        ],
      );
      expect(
        await collection.read.balanceOfBatch([
          [alice.account.address, bob.account.address],
          [plain, plain],
        ]),
      ).to.deep.equal([3n, 2n]);
      // To oneself: no change.
      await collection.write.safeTransferFrom([alice.account.address, alice.account.address, plain, 3n, "0x"], {
        account: alice.account,
      });
      expect(await collection.read.balanceOf([alice.account.address, plain])).to.equal(3n);
    });

    it("safeBatchTransferFrom moves several ids and emits TransferBatch", async () => {
      const { collection, plain, other, alice, bob } = await networkHelpers.loadFixture(tokensFixture);
      await viem.assertions.emitWithArgs(
        collection.write.safeBatchTransferFrom(
          [alice.account.address, bob.account.address, [plain, other, plain], [1n, 2n, 1n], "0x"],
          {
            account: alice.account,
          },
        ),
        collection,
        "TransferBatch",
        [
          getAddress(alice.account.address),
          getAddress(alice.account.address),
          getAddress(bob.account.address),
          [plain, other, plain],
          [1n, 2n, 1n],
        ],
      );
      expect(
        await collection.read.balanceOfBatch([
          [bob.account.address, bob.account.address],
          [plain, other],
        ]),
      ).to.deep.equal([2n, 2n]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.safeBatchTransferFrom([alice.account.address, bob.account.address, [plain], [1n, 1n], "0x"], {
          account: alice.account,
        }),
        collection,
        "ERC1155InvalidArrayLength",
        [1n, 2n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.safeBatchTransferFrom([alice.account.address, zeroAddress, [plain], [1n], "0x"], {
          account: alice.account,
        }),
        collection,
        "ERC1155InvalidReceiver",
        [zeroAddress],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.read.balanceOfBatch([[alice.account.address], [plain, other]]),
        collection,
        "ERC1155InvalidArrayLength",
        [2n, 1n],
      );
    });

    it("safeBatchTransferFrom of one id emits TransferSingle and calls the batch hook, as OpenZeppelin 5's ERC1155", async () => {
      const { collection, publicClient, plain, other, alice } = await networkHelpers.loadFixture(tokensFixture);
      // The reference: OpenZeppelin's own ERC1155 (BenchToken), holding the same ids for alice.
      const oz = await viem.deployContract("BenchToken");
      const a = alice.account.address;
      await oz.write.run([
        [
          { from: zeroAddress, to: a, id: plain, amount: 5n },
          { from: zeroAddress, to: a, id: other, amount: 5n },
        ],
      ]);
      const transferEvents = async (
        token: { address: `0x${string}`; abi: typeof collection.abi },
        hash: `0x${string}`,
      ) => {
        const { logs } = await publicClient.waitForTransactionReceipt({ hash });
        return parseEventLogs({
          abi: collection.abi,
          logs: logs.filter((l) => l.address.toLowerCase() === token.address.toLowerCase()),
        }).map((l) => ({
          eventName: l.eventName,
          args: l.args,
        }));
      };
      for (const [ids, values] of [
        [[plain], [2n]],
        [
          [plain, other],
          [1n, 1n],
        ],
        [[], []],
      ] as [bigint[], bigint[]][]) {
        const seen = [];
        for (const token of [oz, collection] as const) {
          const receiver = await viem.deployContract("ERC1155ReceiverMock");
          const hash = await viem
            .getContractAt("Collection", token.address, { client: { wallet: alice } })
            .then((t) => t.write.safeBatchTransferFrom([a, receiver.address, ids, values, "0x"]));
          seen.push({
            events: await transferEvents({ address: token.address, abi: collection.abi }, hash),
            hooks: [await receiver.read.singleHookCalls(), await receiver.read.batchHookCalls()],
            to: receiver.address,
          });
        }
        const [ozSeen, ours] = seen;
        // Same events with the same arguments (the receivers differ: compare with each one's own).
        const normalise = (s: typeof ozSeen) =>
          JSON.stringify(s!.events, (_, v) =>
            typeof v === "bigint"
              ? v.toString()
              : typeof v === "string" && v.toLowerCase() === s!.to.toLowerCase()
                ? "receiver"
                : v,
          );
        expect(normalise(ours), `ids ${ids.join(",")}`).to.equal(normalise(ozSeen));
        expect(ours!.hooks, `hooks for ids ${ids.join(",")}`).to.deep.equal(ozSeen!.hooks);
        expect(ours!.events[0]!.eventName).to.equal(ids.length === 1 ? "TransferSingle" : "TransferBatch");
      }
    });

    it("requires the holder or an approved operator, and enough balance", async () => {
      const { collection, plain, alice, bob, carol } = await networkHelpers.loadFixture(tokensFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.safeTransferFrom([alice.account.address, bob.account.address, plain, 1n, "0x"], {
          account: bob.account,
        }),
        collection,
        "ERC1155MissingApprovalForAll",
        [getAddress(bob.account.address), getAddress(alice.account.address)],
      );
      await viem.assertions.emitWithArgs(
        collection.write.setApprovalForAll([bob.account.address, true], { account: alice.account }),
        collection,
        "ApprovalForAll",
        [getAddress(alice.account.address), getAddress(bob.account.address), true],
      );
      expect(await collection.read.isApprovedForAll([alice.account.address, bob.account.address])).to.equal(true);
      await collection.write.safeTransferFrom([alice.account.address, carol.account.address, plain, 1n, "0x"], {
        account: bob.account,
      });
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.safeTransferFrom([alice.account.address, carol.account.address, plain, 5n, "0x"], {
          account: bob.account,
        }),
        collection,
        "ERC1155InsufficientBalance",
        [getAddress(alice.account.address), 4n, 5n, plain],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.safeTransferFrom([alice.account.address, zeroAddress, plain, 1n, "0x"], {
          account: alice.account,
        }),
        collection,
        "ERC1155InvalidReceiver",
        [zeroAddress],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.setApprovalForAll([zeroAddress, true], { account: alice.account }),
        collection,
        "ERC1155InvalidOperator",
        [zeroAddress],
      );
      await collection.write.setApprovalForAll([bob.account.address, false], { account: alice.account });
      await viem.assertions.revertWithCustomError(
        collection.write.safeTransferFrom([alice.account.address, carol.account.address, plain, 1n, "0x"], {
          account: bob.account,
        }),
        collection,
        "ERC1155MissingApprovalForAll",
      );
    });

    it("calls the receiver hooks of contract recipients", async () => {
      const { collection, plain, other, alice } = await networkHelpers.loadFixture(tokensFixture);
      const receiver = await viem.deployContract("ERC1155ReceiverMock");
      await collection.write.safeTransferFrom([alice.account.address, receiver.address, plain, 1n, "0x"], {
        account: alice.account,
      });
      await collection.write.safeBatchTransferFrom(
        [alice.account.address, receiver.address, [plain, other], [1n, 1n], "0x"],
        { account: alice.account },
      );
      expect(await collection.read.balanceOf([receiver.address, plain])).to.equal(2n);
      await receiver.write.configure([1, zeroAddress, "0x", 0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.safeBatchTransferFrom([alice.account.address, receiver.address, [plain], [1n], "0x"], {
          account: alice.account,
        }),
        collection,
        "ERC1155InvalidReceiver",
        [getAddress(receiver.address)],
      );
    });
  });

  describe("soulbound editions (ERC-5633)", () => {
    it("can be minted and burned but never transferred, singly or in a batch", async () => {
      const { collection, soulbound, plain, alice, bob } = await networkHelpers.loadFixture(tokensFixture);
      expect(await collection.read.isSoulbound([soulbound])).to.equal(true);
      expect(await collection.read.isSoulbound([plain])).to.equal(false);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.safeTransferFrom([alice.account.address, bob.account.address, soulbound, 1n, "0x"], {
          account: alice.account,
        }),
        collection,
        "Soulbound",
        [soulbound],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.safeBatchTransferFrom(
          [alice.account.address, bob.account.address, [plain, soulbound], [1n, 1n], "0x"],
          { account: alice.account },
        ),
        collection,
        "Soulbound",
        [soulbound],
      );
      await collection.write.burn([alice.account.address, soulbound, 1n], { account: alice.account });
      expect(await collection.read.balanceOf([alice.account.address, soulbound])).to.equal(4n);
    });
  });

  describe("redeem", () => {
    it("burns with a reference and emits Redeemed and TransferSingle to zero", async () => {
      const { collection, plain, alice, bob } = await networkHelpers.loadFixture(tokensFixture);
      const tx = collection.write.redeem([alice.account.address, plain, 2n, REF], { account: alice.account });
      await viem.assertions.emitWithArgs(tx, collection, "Redeemed", [
        plain,
        getAddress(alice.account.address),
        REF,
        getAddress(alice.account.address),
        2n,
      ]);
      await viem.assertions.emitWithArgs(tx, collection, "TransferSingle", [
        getAddress(alice.account.address),
        getAddress(alice.account.address),
        zeroAddress,
        plain,
        2n,
      ]);
      expect(await collection.read.balanceOf([alice.account.address, plain])).to.equal(3n);
      // Burned tokens do not free supply.
      expect((await collection.read.edition([plain])).minted).to.equal(5n);
      // An operator the holder approved for redemption (e.g. a redemption desk) may redeem for the holder.
      await collection.write.setApprovalForRedemption([bob.account.address, true], { account: alice.account });
      await viem.assertions.emitWithArgs(
        collection.write.redeem([alice.account.address, plain, 1n, REF], { account: bob.account }),
        collection,
        "Redeemed",
        [plain, getAddress(alice.account.address), REF, getAddress(bob.account.address), 1n],
      );
    });

    it("is the holder's own act: an operator approved for all cannot redeem, only one approved for redemption", async () => {
      const { collection, plain, soulbound, alice, bob } = await networkHelpers.loadFixture(tokensFixture);
      // A marketplace approved to trade alice's tokens.
      await collection.write.setApprovalForAll([bob.account.address, true], { account: alice.account });
      for (const id of [plain, soulbound]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          collection.write.redeem([alice.account.address, id, 1n, REF], { account: bob.account }),
          collection,
          "RedemptionNotApproved",
          [getAddress(bob.account.address), getAddress(alice.account.address)],
        );
      }
      expect(await collection.read.balanceOf([alice.account.address, soulbound])).to.equal(5n);
      // A redemption approval is its own, given and withdrawn with an event, and needs no approval for all.
      await collection.write.setApprovalForAll([bob.account.address, false], { account: alice.account });
      await viem.assertions.emitWithArgs(
        collection.write.setApprovalForRedemption([bob.account.address, true], { account: alice.account }),
        collection,
        "ApprovalForRedemption",
        [getAddress(alice.account.address), getAddress(bob.account.address), true],
      );
      expect(await collection.read.isApprovedForRedemption([alice.account.address, bob.account.address])).to.equal(
        true,
      );
      await collection.write.redeem([alice.account.address, soulbound, 1n, REF], { account: bob.account });
      expect(await collection.read.balanceOf([alice.account.address, soulbound])).to.equal(4n);
      // It does not let the operator move the tokens.
      await viem.assertions.revertWithCustomError(
        collection.write.safeTransferFrom([alice.account.address, bob.account.address, plain, 1n, "0x"], {
          account: bob.account,
        }),
        collection,
        "ERC1155MissingApprovalForAll",
      );
      await collection.write.setApprovalForRedemption([bob.account.address, false], { account: alice.account });
      await viem.assertions.revertWithCustomError(
        collection.write.redeem([alice.account.address, plain, 1n, REF], { account: bob.account }),
        collection,
        "RedemptionNotApproved",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.setApprovalForRedemption([zeroAddress, true], { account: alice.account }),
        collection,
        "ERC1155InvalidOperator",
        [zeroAddress],
      );
    });

    it("works for soulbound editions", async () => {
      const { collection, soulbound, alice } = await networkHelpers.loadFixture(tokensFixture);
      await collection.write.redeem([alice.account.address, soulbound, 5n, REF], { account: alice.account });
      expect(await collection.read.balanceOf([alice.account.address, soulbound])).to.equal(0n);
    });

    it("rejects non-redeemable and paused editions, other people's tokens, zero and excessive quantities", async () => {
      const { collection, plain, other, alice, bob } = await networkHelpers.loadFixture(tokensFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.redeem([alice.account.address, other, 1n, REF], { account: alice.account }),
        collection,
        "NotRedeemable",
        [other],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.redeem([alice.account.address, plain, 1n, REF], { account: bob.account }),
        collection,
        "RedemptionNotApproved",
        [getAddress(bob.account.address), getAddress(alice.account.address)],
      );
      await viem.assertions.revertWithCustomError(
        collection.write.redeem([alice.account.address, plain, 0n, REF], { account: alice.account }),
        collection,
        "ZeroQuantity",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.redeem([alice.account.address, plain, 6n, REF], { account: alice.account }),
        collection,
        "ERC1155InsufficientBalance",
        [getAddress(alice.account.address), 5n, 6n, plain],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.redeem([alice.account.address, 9n, 1n, REF], { account: alice.account }),
        collection,
        "UnknownEdition",
        [9n],
      );
      await collection.write.setEditionPaused([plain, true]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.redeem([alice.account.address, plain, 1n, REF], { account: alice.account }),
        collection,
        "EditionPaused",
        [plain],
      );
      await collection.write.setEditionPaused([plain, false]);
      await collection.write.pause();
      await viem.assertions.revertWithCustomError(
        collection.write.redeem([alice.account.address, plain, 1n, REF], { account: alice.account }),
        collection,
        "CollectionPaused",
      );
    });
  });

  describe("burn", () => {
    it("lets the holder or an operator burn, with TransferSingle to zero, even while paused", async () => {
      const { collection, other, alice, bob } = await networkHelpers.loadFixture(tokensFixture);
      await collection.write.pause();
      await viem.assertions.emitWithArgs(
        collection.write.burn([alice.account.address, other, 2n], { account: alice.account }),
        collection,
        "TransferSingle",
        [getAddress(alice.account.address), getAddress(alice.account.address), zeroAddress, other, 2n],
      );
      await viem.assertions.revertWithCustomError(
        collection.write.burn([alice.account.address, other, 1n], { account: bob.account }),
        collection,
        "ERC1155MissingApprovalForAll",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.burn([alice.account.address, other, 4n], { account: alice.account }),
        collection,
        "ERC1155InsufficientBalance",
        [getAddress(alice.account.address), 3n, 4n, other],
      );
      expect(await collection.read.balanceOf([alice.account.address, other])).to.equal(3n);
    });
  });
});
