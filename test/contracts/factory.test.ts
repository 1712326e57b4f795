import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, keccak256, parseEther, parseEventLogs, toBytes, zeroAddress } from "viem";
import { deployDrop, FEE_BPS } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const fixture = () => deployDrop(viem);
const VOUCHER_SIGNER_ROLE = keccak256(toBytes("VOUCHER_SIGNER_ROLE"));
const DEFAULT_ADMIN_ROLE = `0x${"0".repeat(64)}` as const;

describe("EditionFactory", () => {
  describe("constructor", () => {
    it("deploys the implementation, grants the admin and voucher signer, sets the fee and recipient", async () => {
      const { factory, platform, signer, feeSink } = await networkHelpers.loadFixture(fixture);
      const implementation = await factory.read.implementation();
      const impl = await viem.getContractAt("Collection", implementation);
      expect(getAddress(await impl.read.factory())).to.equal(getAddress(factory.address));
      expect(await factory.read.hasRole([DEFAULT_ADMIN_ROLE, platform.account.address])).to.equal(true);
      expect(await factory.read.hasRole([VOUCHER_SIGNER_ROLE, signer.account.address])).to.equal(true);
      expect(await factory.read.platformFeeBps()).to.equal(FEE_BPS);
      expect(getAddress(await factory.read.feeRecipient())).to.equal(getAddress(feeSink.account.address));
    });

    it("emits the initial fee and recipient", async () => {
      const { platform } = await networkHelpers.loadFixture(fixture);
      const factory = await viem.deployContract("EditionFactory", [
        platform.account.address,
        platform.account.address,
        100,
        zeroAddress,
      ]);
      const events = await factory.getEvents.PlatformFeeUpdated();
      expect(events[0]?.args).to.deep.equal({ previousFeeBps: 0n, newFeeBps: 100n });
      expect(await factory.read.hasRole([VOUCHER_SIGNER_ROLE, zeroAddress])).to.equal(false);
    });

    it("rejects a zero admin, a zero fee recipient and a fee above 10%", async () => {
      const { platform } = await networkHelpers.loadFixture(fixture);
      const a = platform.account.address;
      const probe = await viem.deployContract("EditionFactory", [a, a, 0, zeroAddress]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("EditionFactory", [zeroAddress, a, 0, zeroAddress]),
        probe,
        "InvalidAdmin",
        [zeroAddress],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("EditionFactory", [a, zeroAddress, 0, zeroAddress]),
        probe,
        "InvalidFeeRecipient",
        [zeroAddress],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("EditionFactory", [a, a, 1001, zeroAddress]),
        probe,
        "InvalidPlatformFee",
        [1001n, 1000n],
      );
    });
  });

  describe("createCollection", () => {
    it("clones the implementation (ERC-1167), initialises it for the caller and emits CollectionCreated", async () => {
      const { factory, publicClient, alice } = await networkHelpers.loadFixture(fixture);
      const hash = await factory.write.createCollection(["ipfs://alice.json", zeroAddress, 0n, BigInt(FEE_BPS)], {
        account: alice.account,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      const [event] = parseEventLogs({ abi: factory.abi, logs: receipt.logs, eventName: "CollectionCreated" });
      expect(getAddress(event!.args.owner)).to.equal(getAddress(alice.account.address));
      expect(event!.args.contractURI).to.equal("ipfs://alice.json");
      expect(event!.args.platformFeeBps).to.equal(BigInt(FEE_BPS));
      const address = event!.args.collection;
      const code = await publicClient.getCode({ address });
      const implementation = (await factory.read.implementation()).slice(2).toLowerCase();
      expect(code).to.equal(`0x363d3d373d3d3d363d73${implementation}5af43d82803e903d91602b57fd5bf3`);
      const collection = await viem.getContractAt("Collection", address);
      expect(getAddress(await collection.read.owner())).to.equal(getAddress(alice.account.address));
      expect(await collection.read.hasRole([DEFAULT_ADMIN_ROLE, alice.account.address])).to.equal(true);
      expect(await collection.read.contractURI()).to.equal("ipfs://alice.json");
      expect(await collection.read.platformFeeBps()).to.equal(BigInt(FEE_BPS));
      expect(await collection.read.royaltyInfo([1n, 10_000n])).to.deep.equal([zeroAddress, 0n]);
      await viem.assertions.emitWithArgs(Promise.resolve(hash), collection, "OwnershipTransferred", [
        zeroAddress,
        getAddress(alice.account.address),
      ]);
    });

    it("sets the default royalty and emits DefaultRoyaltyUpdated", async () => {
      const { collection, partner } = await networkHelpers.loadFixture(fixture);
      expect(await collection.read.royaltyInfo([1n, parseEther("1")])).to.deep.equal([
        getAddress(partner.account.address),
        parseEther("0.05"),
      ]);
    });

    it("cannot be initialised twice, nor by anyone but the factory, and the implementation is locked", async () => {
      const { factory, collection, alice } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.initialize([alice.account.address, "x", zeroAddress, 0n, 0], { account: alice.account }),
        collection,
        "NotFactory",
        [getAddress(alice.account.address)],
      );
      await networkHelpers.impersonateAccount(factory.address);
      await networkHelpers.setBalance(factory.address, parseEther("1"));
      await viem.assertions.revertWithCustomError(
        collection.write.initialize([alice.account.address, "x", zeroAddress, 0n, 0], { account: factory.address }),
        collection,
        "AlreadyInitialized",
      );
      const implementation = await viem.getContractAt("Collection", await factory.read.implementation());
      await viem.assertions.revertWithCustomError(
        implementation.write.initialize([alice.account.address, "x", zeroAddress, 0n, 0], { account: factory.address }),
        implementation,
        "AlreadyInitialized",
      );
      await networkHelpers.stopImpersonatingAccount(factory.address);
    });

    it("validates the owner and the fee at initialisation", async () => {
      const { factory, platform, publicClient } = await networkHelpers.loadFixture(fixture);
      // A bare ERC-1167 clone that the factory has not initialised, to reach initialize's own checks.
      const implementation = (await factory.read.implementation()).slice(2).toLowerCase();
      const runtime = `363d3d373d3d3d363d73${implementation}5af43d82803e903d91602b57fd5bf3`;
      const hash = await platform.sendTransaction({ data: `0x3d602d80600a3d3981f3${runtime}` });
      const { contractAddress } = await publicClient.waitForTransactionReceipt({ hash });
      const clone = await viem.getContractAt("Collection", contractAddress!);
      await networkHelpers.impersonateAccount(factory.address);
      await networkHelpers.setBalance(factory.address, parseEther("1"));
      const asFactory = { account: factory.address } as const;
      await viem.assertions.revertWithCustomErrorWithArgs(
        clone.write.initialize([zeroAddress, "", zeroAddress, 0n, 0], asFactory),
        clone,
        "InvalidOwner",
        [zeroAddress],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        clone.write.initialize([platform.account.address, "", zeroAddress, 0n, 1001], asFactory),
        clone,
        "InvalidPlatformFee",
        [1001n, 1000n],
      );
      await viem.assertions.emitWithArgs(
        clone.write.initialize([platform.account.address, "", platform.account.address, 250n, 1000], asFactory),
        clone,
        "DefaultRoyaltyUpdated",
        [getAddress(platform.account.address), 250n],
      );
      await networkHelpers.stopImpersonatingAccount(factory.address);
      expect(await clone.read.platformFeeBps()).to.equal(1000n);
      expect(await clone.read.contractURI()).to.equal("");
    });

    it("refuses a platform fee above the highest the creator accepts", async () => {
      const { factory, platform, alice, publicClient } = await networkHelpers.loadFixture(fixture);
      // A fee change lands before the creator's transaction.
      await factory.write.setPlatformFee([800], { account: platform.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        factory.write.createCollection(["", zeroAddress, 0n, BigInt(FEE_BPS)], { account: alice.account }),
        factory,
        "PlatformFeeAboveMax",
        [800n, BigInt(FEE_BPS)],
      );
      const hash = await factory.write.createCollection(["", zeroAddress, 0n, 800n], { account: alice.account });
      const [event] = parseEventLogs({
        abi: factory.abi,
        logs: (await publicClient.waitForTransactionReceipt({ hash })).logs,
        eventName: "CollectionCreated",
      });
      expect(event!.args.platformFeeBps).to.equal(800n);
      // Accepting more than the fee takes the fee, not the maximum.
      await factory.write.setPlatformFee([100], { account: platform.account });
      const second = await factory.write.createCollection(["", zeroAddress, 0n, 1000n], { account: alice.account });
      const [created] = parseEventLogs({
        abi: factory.abi,
        logs: (await publicClient.waitForTransactionReceipt({ hash: second })).logs,
        eventName: "CollectionCreated",
      });
      expect(created!.args.platformFeeBps).to.equal(100n);
    });

    it("rejects an invalid default royalty", async () => {
      const { factory, alice, collection } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        factory.write.createCollection(["", alice.account.address, 10_001n, BigInt(FEE_BPS)], {
          account: alice.account,
        }),
        collection,
        "ERC2981InvalidDefaultRoyalty",
        [10_001n, 10_000n],
      );
    });
  });

  describe("platform settings", () => {
    it("lets the admin set the fee (≤ 10%) for new collections only, with an event", async () => {
      const { factory, collection, platform, alice, publicClient } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.emitWithArgs(
        factory.write.setPlatformFee([1000], { account: platform.account }),
        factory,
        "PlatformFeeUpdated",
        [BigInt(FEE_BPS), 1000n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        factory.write.setPlatformFee([1001], { account: platform.account }),
        factory,
        "InvalidPlatformFee",
        [1001n, 1000n],
      );
      expect(await collection.read.platformFeeBps()).to.equal(BigInt(FEE_BPS));
      const hash = await factory.write.createCollection(["", zeroAddress, 0n, 1000n], { account: alice.account });
      const [event] = parseEventLogs({
        abi: factory.abi,
        logs: (await publicClient.waitForTransactionReceipt({ hash })).logs,
        eventName: "CollectionCreated",
      });
      const second = await viem.getContractAt("Collection", event!.args.collection);
      expect(await second.read.platformFeeBps()).to.equal(1000n);
    });

    it("lets the admin set the fee recipient, never to zero", async () => {
      const { factory, platform, alice } = await networkHelpers.loadFixture(fixture);
      const previous = await factory.read.feeRecipient();
      await viem.assertions.emitWithArgs(
        factory.write.setFeeRecipient([alice.account.address], { account: platform.account }),
        factory,
        "FeeRecipientUpdated",
        [getAddress(previous), getAddress(alice.account.address)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        factory.write.setFeeRecipient([zeroAddress], { account: platform.account }),
        factory,
        "InvalidFeeRecipient",
        [zeroAddress],
      );
    });

    it("refuses settings changes from anyone but the admin", async () => {
      const { factory, alice } = await networkHelpers.loadFixture(fixture);
      for (const call of [
        () => factory.write.setPlatformFee([0], { account: alice.account }),
        () => factory.write.setFeeRecipient([alice.account.address], { account: alice.account }),
        () => factory.write.grantRole([VOUCHER_SIGNER_ROLE, alice.account.address], { account: alice.account }),
      ]) {
        await viem.assertions.revertWithCustomErrorWithArgs(call(), factory, "AccessControlUnauthorizedAccount", [
          getAddress(alice.account.address),
          DEFAULT_ADMIN_ROLE,
        ]);
      }
    });

    it("exposes the fee cap and role constants", async () => {
      const { factory } = await networkHelpers.loadFixture(fixture);
      expect(await factory.read.MAX_PLATFORM_FEE_BPS()).to.equal(1000);
      expect(await factory.read.VOUCHER_SIGNER_ROLE()).to.equal(VOUCHER_SIGNER_ROLE);
    });
  });
});
