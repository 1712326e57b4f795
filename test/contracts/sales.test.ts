import { expect } from "chai";
import { network } from "hardhat";
import { decodeFunctionResult, encodeFunctionData, getAddress, parseEventLogs, zeroAddress, type Address } from "viem";
import { buildAllowlist } from "../../server/chain/allowlist.ts";
import { deployDrop, phase, PRICE } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const fixture = () => deployDrop(viem);

describe("Collection: sales", () => {
  describe("mint (public phases)", () => {
    it("mints to the recipient for the exact price, emitting TransferSingle and Minted", async () => {
      const { collection, createEdition, alice, bob, publicClient } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition();
      // Bob pays, Alice receives.
      const hash = await collection.write.mint([id, alice.account.address, 2n, 0n, zeroAddress], {
        account: bob.account,
        value: 2n * PRICE,
      });
      await viem.assertions.emitWithArgs(Promise.resolve(hash), collection, "TransferSingle", [
        getAddress(bob.account.address),
        zeroAddress,
        getAddress(alice.account.address),
        id,
        2n,
      ]);
      await viem.assertions.emitWithArgs(Promise.resolve(hash), collection, "Minted", [
        id,
        getAddress(alice.account.address),
        zeroAddress,
        getAddress(bob.account.address),
        0n,
        2n,
        2n * PRICE,
      ]);
      expect(await collection.read.balanceOf([alice.account.address, id])).to.equal(2n);
      expect((await collection.read.edition([id])).minted).to.equal(2n);
      expect(await collection.read.mintedInPhase([id, 0n, alice.account.address])).to.equal(2n);
      expect(await collection.read.mintedInPhase([id, 0n, bob.account.address])).to.equal(0n);
      expect(await publicClient.getBalance({ address: collection.address })).to.equal(2n * PRICE);
    });

    it("requires the exact payment", async () => {
      const { collection, createEdition, alice } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition();
      for (const value of [0n, PRICE - 1n, PRICE + 1n]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          collection.write.mint([id, alice.account.address, 1n, 0n, zeroAddress], { account: alice.account, value }),
          collection,
          "WrongPayment",
          [PRICE, value],
        );
      }
    });

    it("mints free editions for no payment", async () => {
      const { collection, createEdition, alice } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({}, [phase({ price: 0n })]);
      await collection.write.mint([id, alice.account.address, 1n, 0n, zeroAddress], { account: alice.account });
      expect(await collection.read.balanceOf([alice.account.address, id])).to.equal(1n);
    });

    it("sells only inside the phase window [start, end)", async () => {
      const { collection, createEdition, alice } = await networkHelpers.loadFixture(fixture);
      const now = await networkHelpers.time.latest();
      const start = now + 100;
      const end = now + 200;
      const id = await createEdition({}, [phase({ start, end })]);
      const mint = () =>
        collection.write.mint([id, alice.account.address, 1n, 0n, zeroAddress], {
          account: alice.account,
          value: PRICE,
        });
      await networkHelpers.time.setNextBlockTimestamp(start - 1);
      await viem.assertions.revertWithCustomErrorWithArgs(mint(), collection, "PhaseNotActive", [
        id,
        0n,
        BigInt(start),
        BigInt(end),
        BigInt(start - 1),
      ]);
      await networkHelpers.time.setNextBlockTimestamp(start);
      await mint();
      await networkHelpers.time.setNextBlockTimestamp(end - 1);
      await mint();
      await networkHelpers.time.setNextBlockTimestamp(end);
      await viem.assertions.revertWithCustomErrorWithArgs(mint(), collection, "PhaseNotActive", [
        id,
        0n,
        BigInt(start),
        BigInt(end),
        BigInt(end),
      ]);
      // An unset phase is never active.
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([id, alice.account.address, 1n, 3n, zeroAddress], { account: alice.account, value: 0n }),
        collection,
        "PhaseNotActive",
        [id, 3n, 0n, 0n, (t: bigint) => t >= BigInt(end)],
      );
    });

    it("never exceeds max supply", async () => {
      const { collection, createEdition, alice, bob } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({ maxSupply: 3 });
      await collection.write.mint([id, alice.account.address, 2n, 0n, zeroAddress], {
        account: alice.account,
        value: 2n * PRICE,
      });
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([id, bob.account.address, 2n, 0n, zeroAddress], {
          account: bob.account,
          value: 2n * PRICE,
        }),
        collection,
        "ExceedsMaxSupply",
        [id, 3n, 2n, 2n],
      );
      // A huge quantity cannot overflow its way past the check.
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([id, bob.account.address, 2n ** 255n, 0n, zeroAddress], { account: bob.account }),
        collection,
        "ExceedsMaxSupply",
        [id, 3n, 2n, 2n ** 255n],
      );
      await collection.write.mint([id, bob.account.address, 1n, 0n, zeroAddress], {
        account: bob.account,
        value: PRICE,
      });
      expect((await collection.read.edition([id])).minted).to.equal(3n);
    });

    it("rejects zero quantity, a zero recipient, unknown editions and phases, paused editions, allowlist phases", async () => {
      const { collection, createEdition, alice } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({}, [
        phase(),
        phase({ merkleRoot: buildAllowlist([{ account: alice.account.address, maxQuantity: 1n }]).root }),
      ]);
      const as = { account: alice.account } as const;
      await viem.assertions.revertWithCustomError(
        collection.write.mint([id, alice.account.address, 0n, 0n, zeroAddress], as),
        collection,
        "ZeroQuantity",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([id, zeroAddress, 1n, 0n, zeroAddress], { ...as, value: PRICE }),
        collection,
        "ERC1155InvalidReceiver",
        [zeroAddress],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([9n, alice.account.address, 1n, 0n, zeroAddress], as),
        collection,
        "UnknownEdition",
        [9n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([id, alice.account.address, 1n, 7n, zeroAddress], as),
        collection,
        "UnknownPhase",
        [id, 7n, 7n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([id, alice.account.address, 1n, 1n, zeroAddress], { ...as, value: PRICE }),
        collection,
        "AllowlistProofRequired",
        [id, 1n],
      );
      await collection.write.setEditionPaused([id, true]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([id, alice.account.address, 1n, 0n, zeroAddress], { ...as, value: PRICE }),
        collection,
        "EditionPaused",
        [id],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.read.mintedInPhase([id, 7n, alice.account.address]),
        collection,
        "UnknownPhase",
        [id, 7n, 7n],
      );
    });

    it("limits what a wallet receives per phase, whoever pays, and counts phases separately", async () => {
      const { collection, createEdition, alice, bob, carol } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({}, [phase({ walletLimit: 2 }), phase({ walletLimit: 1, price: 1n })]);
      await collection.write.mint([id, alice.account.address, 1n, 0n, zeroAddress], {
        account: alice.account,
        value: PRICE,
      });
      await collection.write.mint([id, alice.account.address, 1n, 0n, zeroAddress], {
        account: bob.account,
        value: PRICE,
      });
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([id, alice.account.address, 1n, 0n, zeroAddress], {
          account: carol.account,
          value: PRICE,
        }),
        collection,
        "ExceedsWalletLimit",
        [id, 2n, 2n, 1n],
      );
      // Another phase has its own counter.
      await collection.write.mint([id, alice.account.address, 1n, 1n, zeroAddress], {
        account: alice.account,
        value: 1n,
      });
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([id, alice.account.address, 1n, 1n, zeroAddress], { account: alice.account, value: 1n }),
        collection,
        "ExceedsWalletLimit",
        [id, 1n, 1n, 1n],
      );
      // Transfers move balances, not mint counters: giving tokens away does not reopen the limit.
      await collection.write.safeTransferFrom([alice.account.address, bob.account.address, id, 3n, "0x"], {
        account: alice.account,
      });
      expect(await collection.read.balanceOf([alice.account.address, id])).to.equal(0n);
      expect(await collection.read.mintedInPhase([id, 0n, alice.account.address])).to.equal(2n);
      expect(await collection.read.mintedInPhase([id, 1n, alice.account.address])).to.equal(1n);
      await viem.assertions.revertWithCustomError(
        collection.write.mint([id, alice.account.address, 1n, 0n, zeroAddress], {
          account: alice.account,
          value: PRICE,
        }),
        collection,
        "ExceedsWalletLimit",
      );
      expect(await collection.read.mintedInPhase([id, 0n, bob.account.address])).to.equal(0n);
      expect(await collection.read.balanceOf([bob.account.address, id])).to.equal(3n);
    });

    it("holds wallet limits against a helper contract that mints in a loop and from its receive hook", async () => {
      const { collection, createEdition, alice } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({}, [phase({ walletLimit: 2 })]);
      const helper = await viem.deployContract("ERC1155ReceiverMock");
      const mintData = encodeFunctionData({
        abi: collection.abi,
        functionName: "mint",
        args: [id, helper.address, 1n, 0n, zeroAddress],
      });
      // Re-enter once from onERC1155Received: 1 + 1 = 2 is fine…
      await helper.write.configure([3, collection.address, mintData, PRICE]);
      await helper.write.execute([collection.address, mintData, PRICE], { value: 2n * PRICE, account: alice.account });
      expect(await helper.read.reentrySucceeded()).to.equal(true);
      expect(await collection.read.balanceOf([helper.address, id])).to.equal(2n);
      // …a third, directly or re-entrantly, is refused.
      await viem.assertions.revertWithCustomErrorWithArgs(
        helper.write.execute([collection.address, mintData, PRICE], { value: PRICE, account: alice.account }),
        collection,
        "ExceedsWalletLimit",
        [id, 2n, 2n, 1n],
      );
    });

    it("checks ERC-1155 acceptance of contract recipients", async () => {
      const { collection, createEdition, alice } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition();
      const receiver = await viem.deployContract("ERC1155ReceiverMock");
      await receiver.write.configure([1, zeroAddress, "0x", 0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([id, receiver.address, 1n, 0n, zeroAddress], { account: alice.account, value: PRICE }),
        collection,
        "ERC1155InvalidReceiver",
        [getAddress(receiver.address)],
      );
      await receiver.write.configure([2, zeroAddress, "0x", 0n]);
      await viem.assertions.revertWithCustomError(
        collection.write.mint([id, receiver.address, 1n, 0n, zeroAddress], { account: alice.account, value: PRICE }),
        receiver,
        "Rejected",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([id, collection.address, 1n, 0n, zeroAddress], { account: alice.account, value: PRICE }),
        collection,
        "ERC1155InvalidReceiver",
        [getAddress(collection.address)],
      );
      await receiver.write.configure([0, zeroAddress, "0x", 0n]);
      await collection.write.mint([id, receiver.address, 1n, 0n, zeroAddress], {
        account: alice.account,
        value: PRICE,
      });
      expect(await collection.read.balanceOf([receiver.address, id])).to.equal(1n);
    });
  });

  describe("mintAllowlisted", () => {
    async function allowlistFixture() {
      const base = await deployDrop(viem);
      const { alice, bob, carol } = base;
      const list = buildAllowlist([
        { account: alice.account.address, maxQuantity: 3n },
        { account: bob.account.address, maxQuantity: 1n },
        { account: carol.account.address, maxQuantity: 5n },
      ]);
      // Phase 0 public, phase 1 allowlist with a wallet limit of 4.
      const id = await base.createEdition({}, [phase(), phase({ price: 1n, walletLimit: 4, merkleRoot: list.root })]);
      return { ...base, list, id };
    }
    const proof = (list: ReturnType<typeof buildAllowlist>, account: Address) => list.proofFor(account)!;

    it("mints to listed wallets up to their allowance, whoever pays", async () => {
      const { collection, list, id, alice, bob } = await networkHelpers.loadFixture(allowlistFixture);
      const { allowance, proof: p } = proof(list, alice.account.address);
      const hash = await collection.write.mintAllowlisted(
        [id, alice.account.address, 2n, 1n, zeroAddress, allowance, p],
        { account: bob.account, value: 2n },
      );
      await viem.assertions.emitWithArgs(Promise.resolve(hash), collection, "Minted", [
        id,
        getAddress(alice.account.address),
        zeroAddress,
        getAddress(bob.account.address),
        1n,
        2n,
        2n,
      ]);
      await collection.write.mintAllowlisted([id, alice.account.address, 1n, 1n, zeroAddress, allowance, p], {
        account: alice.account,
        value: 1n,
      });
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mintAllowlisted([id, alice.account.address, 1n, 1n, zeroAddress, allowance, p], {
          account: alice.account,
          value: 1n,
        }),
        collection,
        "ExceedsWalletLimit",
        [id, 3n, 3n, 1n],
      );
      expect(await collection.read.mintedInPhase([id, 1n, alice.account.address])).to.equal(3n);
    });

    it("caps a large allowance at the phase's wallet limit", async () => {
      const { collection, list, id, carol } = await networkHelpers.loadFixture(allowlistFixture);
      const { allowance, proof: p } = proof(list, carol.account.address);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mintAllowlisted([id, carol.account.address, 5n, 1n, zeroAddress, allowance, p], {
          account: carol.account,
          value: 5n,
        }),
        collection,
        "ExceedsWalletLimit",
        [id, 4n, 0n, 5n],
      );
      await collection.write.mintAllowlisted([id, carol.account.address, 4n, 1n, zeroAddress, allowance, p], {
        account: carol.account,
        value: 4n,
      });
    });

    it("rejects a wrong allowance, someone else's proof, an unlisted wallet and public phases", async () => {
      const { collection, list, id, alice, bob, dave } = await networkHelpers.loadFixture(allowlistFixture);
      const { proof: p } = proof(list, alice.account.address);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mintAllowlisted([id, alice.account.address, 1n, 1n, zeroAddress, 5n, p], {
          account: alice.account,
          value: 1n,
        }),
        collection,
        "NotAllowlisted",
        [id, 1n, getAddress(alice.account.address), 5n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mintAllowlisted([id, dave.account.address, 1n, 1n, zeroAddress, 3n, p], {
          account: dave.account,
          value: 1n,
        }),
        collection,
        "NotAllowlisted",
        [id, 1n, getAddress(dave.account.address), 3n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mintAllowlisted([id, bob.account.address, 1n, 1n, zeroAddress, 1n, []], {
          account: bob.account,
          value: 1n,
        }),
        collection,
        "NotAllowlisted",
        [id, 1n, getAddress(bob.account.address), 1n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mintAllowlisted([id, alice.account.address, 1n, 0n, zeroAddress, 3n, p], {
          account: alice.account,
          value: PRICE,
        }),
        collection,
        "NotAnAllowlistPhase",
        [id, 0n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mintAllowlisted([id, alice.account.address, 1n, 9n, zeroAddress, 3n, p], {
          account: alice.account,
        }),
        collection,
        "UnknownPhase",
        [id, 9n, 7n],
      );
    });

    it("works as phase 0 too, and matches trees built by @openzeppelin/merkle-tree for many wallets", async () => {
      const { collection, createEdition, wallets } = await networkHelpers.loadFixture(fixture);
      const entries = wallets.map((w, i) => ({ account: w.account.address, maxQuantity: BigInt(i + 1) }));
      const list = buildAllowlist(entries);
      const id = await createEdition({}, [phase({ price: 0n, merkleRoot: list.root })]);
      for (const w of wallets.slice(0, 6)) {
        const { allowance, proof: p } = list.proofFor(w.account.address)!;
        await collection.write.mintAllowlisted([id, w.account.address, allowance, 0n, zeroAddress, allowance, p], {
          account: w.account,
        });
        expect(await collection.read.balanceOf([w.account.address, id])).to.equal(allowance);
      }
    });
  });

  describe("referrals", () => {
    it("credits the referrer its share of the amount paid and reports it", async () => {
      const { collection, createEdition, alice, bob, carol, publicClient } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({ referralBps: 1234 });
      const hash = await collection.write.mint([id, alice.account.address, 3n, 0n, carol.account.address], {
        account: bob.account,
        value: 3n * PRICE,
      });
      const reward = (3n * PRICE * 1234n) / 10_000n;
      await viem.assertions.emitWithArgs(Promise.resolve(hash), collection, "ReferralCredited", [
        getAddress(carol.account.address),
        id,
        reward,
      ]);
      await viem.assertions.emitWithArgs(Promise.resolve(hash), collection, "Minted", [
        id,
        getAddress(alice.account.address),
        getAddress(carol.account.address),
        getAddress(bob.account.address),
        0n,
        3n,
        3n * PRICE,
      ]);
      expect(await collection.read.referralBalance([carol.account.address])).to.equal(reward);
      expect(await collection.read.referralTotals()).to.deep.equal([reward, 0n]);
      const logs = parseEventLogs({
        abi: collection.abi,
        logs: (await publicClient.waitForTransactionReceipt({ hash })).logs,
      });
      expect(logs.map((l) => l.eventName)).to.deep.equal(["ReferralCredited", "TransferSingle", "Minted"]);
    });

    it("records the referrer without a reward when the edition offers none, or the sale is free", async () => {
      const { collection, createEdition, alice, carol, publicClient } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition();
      const hash = await collection.write.mint([id, alice.account.address, 1n, 0n, carol.account.address], {
        account: alice.account,
        value: PRICE,
      });
      const logs = parseEventLogs({
        abi: collection.abi,
        logs: (await publicClient.waitForTransactionReceipt({ hash })).logs,
      });
      expect(logs.map((l) => l.eventName)).to.deep.equal(["TransferSingle", "Minted"]);
      const free = await createEdition({ referralBps: 5000 }, [phase({ price: 0n })]);
      await collection.write.mint([free, alice.account.address, 1n, 0n, carol.account.address], {
        account: alice.account,
      });
      expect(await collection.read.referralBalance([carol.account.address])).to.equal(0n);
    });

    it("refuses self-referral by the recipient or the buyer", async () => {
      const { collection, createEdition, alice, bob } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({ referralBps: 100 });
      for (const referrer of [alice.account.address, bob.account.address]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          collection.write.mint([id, alice.account.address, 1n, 0n, referrer], { account: bob.account, value: PRICE }),
          collection,
          "SelfReferral",
          [getAddress(referrer)],
        );
      }
    });

    it("refuses referrers that could never withdraw: the collection itself, its factory and the implementation", async () => {
      const { collection, factory, createEdition, alice } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({ referralBps: 1000 });
      for (const referrer of [collection.address, factory.address, await factory.read.implementation()]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          collection.write.mint([id, alice.account.address, 1n, 0n, referrer], {
            account: alice.account,
            value: PRICE,
          }),
          collection,
          "InvalidReferrer",
          [getAddress(referrer)],
        );
      }
      // Zero still means "no referrer": nothing is credited, and the sale's whole share goes to the partner.
      await collection.write.mint([id, alice.account.address, 1n, 0n, zeroAddress], {
        account: alice.account,
        value: PRICE,
      });
      expect(await collection.read.referralTotals()).to.deep.equal([0n, 0n]);
      expect(await collection.read.referralBalance([zeroAddress])).to.equal(0n);
    });

    it("lets a referrer withdraw its credit to an address of its choice (e.g. a contract that cannot take ether)", async () => {
      const { collection, createEdition, alice, dave, publicClient } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({ referralBps: 1000 });
      const referrer = await viem.deployContract("EtherReceiverMock");
      await referrer.write.configure([1, zeroAddress, "0x"]); // rejects ether
      await collection.write.mint([id, alice.account.address, 2n, 0n, referrer.address], {
        account: alice.account,
        value: 2n * PRICE,
      });
      const reward = (2n * PRICE * 1000n) / 10_000n;
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.withdrawReferralRewards([referrer.address]),
        collection,
        "WithdrawalFailed",
        [getAddress(referrer.address), reward],
      );
      // Only the referrer itself chooses where its credit goes.
      await viem.assertions.revertWithCustomError(
        collection.write.withdrawReferralRewardsTo([dave.account.address], { account: dave.account }),
        collection,
        "NothingToWithdraw",
      );
      const before = await publicClient.getBalance({ address: dave.account.address });
      const data = encodeFunctionData({
        abi: collection.abi,
        functionName: "withdrawReferralRewardsTo",
        args: [dave.account.address],
      });
      await viem.assertions.emitWithArgs(
        referrer.write.execute([collection.address, data]),
        collection,
        "ReferralWithdrawal",
        [getAddress(referrer.address), getAddress(dave.account.address), reward],
      );
      expect(await publicClient.getBalance({ address: dave.account.address })).to.equal(before + reward);
      expect(await collection.read.referralBalance([referrer.address])).to.equal(0n);
      expect(await collection.read.referralTotals()).to.deep.equal([reward, reward]);
      const toZero = encodeFunctionData({
        abi: collection.abi,
        functionName: "withdrawReferralRewardsTo",
        args: [zeroAddress],
      });
      await viem.assertions.revertWithCustomErrorWithArgs(
        referrer.write.execute([collection.address, toZero]),
        collection,
        "InvalidRecipient",
        [zeroAddress],
      );
    });
  });

  describe("airdrop", () => {
    it("mints to many recipients within max supply, ignoring phases and pauses", async () => {
      const { collection, createEdition, partner, alice, bob } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({ maxSupply: 5 }, []);
      await collection.write.pause();
      const tx = collection.write.airdrop([id, [alice.account.address, bob.account.address], [2n, 3n]]);
      await viem.assertions.emitWithArgs(tx, collection, "Airdropped", [
        id,
        getAddress(partner.account.address),
        2n,
        5n,
      ]);
      await viem.assertions.emitWithArgs(tx, collection, "TransferSingle", [
        getAddress(partner.account.address),
        zeroAddress,
        getAddress(bob.account.address),
        id,
        3n,
      ]);
      expect(
        await collection.read.balanceOfBatch([
          [alice.account.address, bob.account.address],
          [id, id],
        ]),
      ).to.deep.equal([2n, 3n]);
      expect((await collection.read.edition([id])).minted).to.equal(5n);
      // Airdrops do not count against phase limits.
      expect(await collection.read.mintedInPhase([id, 0n, alice.account.address])).to.equal(0n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.airdrop([id, [alice.account.address], [1n]]),
        collection,
        "ExceedsMaxSupply",
        [id, 5n, 5n, 1n],
      );
    });

    it("rejects mismatched arrays, zero quantities, zero recipients and non-receivers", async () => {
      const { collection, createEdition, alice } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({ maxSupply: 5 }, []);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.airdrop([id, [alice.account.address], []]),
        collection,
        "LengthMismatch",
        [1n, 0n],
      );
      await viem.assertions.revertWithCustomError(
        collection.write.airdrop([id, [alice.account.address], [0n]]),
        collection,
        "ZeroQuantity",
      );
      await viem.assertions.revertWithCustomError(collection.write.airdrop([id, [], []]), collection, "ZeroQuantity");
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.airdrop([id, [zeroAddress], [1n]]),
        collection,
        "ERC1155InvalidReceiver",
        [zeroAddress],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.airdrop([id, [alice.account.address], [2n ** 255n]]),
        collection,
        "ExceedsMaxSupply",
        [id, 5n, 0n, 2n ** 255n],
      );
      // Quantities whose sum would overflow are refused with the same error, not a panic.
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.airdrop([id, [alice.account.address, alice.account.address], [2n ** 255n, 2n ** 255n]]),
        collection,
        "ExceedsMaxSupply",
        [id, 5n, 0n, 2n ** 255n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.airdrop([id, [collection.address], [1n]]),
        collection,
        "ERC1155InvalidReceiver",
        [getAddress(collection.address)],
      );
    });

    it("books supply per recipient: a receiver hook sees the supply of the balances credited so far", async () => {
      const { collection, createEdition, alice } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({ maxSupply: 10 });
      const receiver = await viem.deployContract("ERC1155ReceiverMock");
      // The second recipient's hook reads the edition: alice's 2 and its own 3 are minted, carol's 4 not yet.
      const read = encodeFunctionData({ abi: collection.abi, functionName: "edition", args: [id] });
      await receiver.write.configure([3, collection.address, read, 0n]);
      const carol = "0x000000000000000000000000000000000000ca01";
      await collection.write.airdrop([id, [alice.account.address, receiver.address, carol], [2n, 3n, 4n]]);
      expect(await receiver.read.reentrySucceeded()).to.equal(true);
      const seen = decodeFunctionResult({
        abi: collection.abi,
        functionName: "edition",
        data: await receiver.read.reentryResult(),
      });
      expect(seen.minted).to.equal(5n);
      expect((await collection.read.edition([id])).minted).to.equal(9n);
    });

    it("a re-entrant mint from a receiver hook cannot push an airdrop past max supply", async () => {
      const { collection, createEdition, alice } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({ maxSupply: 2 });
      const receiver = await viem.deployContract("ERC1155ReceiverMock");
      const mintData = encodeFunctionData({
        abi: collection.abi,
        functionName: "mint",
        args: [id, receiver.address, 1n, 0n, zeroAddress],
      });
      await receiver.write.configure([3, collection.address, mintData, PRICE]);
      await alice.sendTransaction({ to: receiver.address, value: PRICE });
      // The hook's mint takes the last token, so the airdrop's second share no longer fits: all of it reverts.
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.airdrop([id, [receiver.address, alice.account.address], [1n, 1n]]),
        collection,
        "ExceedsMaxSupply",
        [id, 2n, 2n, 1n],
      );
      expect((await collection.read.edition([id])).minted).to.equal(0n);
      // Without the re-entrant mint the same airdrop fits exactly.
      await receiver.write.configure([0, zeroAddress, "0x", 0n]);
      await collection.write.airdrop([id, [receiver.address, alice.account.address], [1n, 1n]]);
      expect((await collection.read.edition([id])).minted).to.equal(2n);
    });
  });
});
