import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, keccak256, toBytes, zeroAddress } from "viem";
import {
  mintVoucherDomain,
  mintVoucherTypes,
  signMintVoucher,
  type MintVoucher,
} from "../../server/chain/mint-voucher.ts";
import { deployDrop, PRICE } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const VOUCHER_SIGNER_ROLE = keccak256(toBytes("VOUCHER_SIGNER_ROLE"));

async function voucherFixture() {
  const base = await deployDrop(viem);
  const id = await base.createEdition({ maxSupply: 10 }, []);
  const chainId = await base.publicClient.getChainId();
  const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
  const voucher = (over: Partial<MintVoucher> = {}): MintVoucher => ({
    recipient: base.alice.account.address,
    edition: id,
    quantity: 2n,
    price: 0n,
    id: 1n,
    deadline,
    signerEpoch: 1n,
    ...over,
  });
  const sign = (v: MintVoucher, signer = base.signer, onChain = chainId, collection = base.collection.address) =>
    signMintVoucher(signer, { collection, chainId: onChain, voucher: v });
  return { ...base, id, chainId, deadline, voucher, sign };
}

describe("Collection: vouchers", () => {
  it("mints to the voucher's recipient once, for its price, whoever submits it", async () => {
    const { collection, voucher, sign, chainId, id, alice, bob } = await networkHelpers.loadFixture(voucherFixture);
    const v = voucher({ price: 3n * PRICE, id: 77n });
    const signature = await sign(v);
    expect(await collection.read.isVoucherUsed([77n])).to.equal(false);
    const hash = await collection.write.mintWithVoucher([v, BigInt(chainId), signature], {
      account: bob.account,
      value: 3n * PRICE,
    });
    await viem.assertions.emitWithArgs(Promise.resolve(hash), collection, "VoucherUsed", [
      77n,
      id,
      getAddress(alice.account.address),
    ]);
    await viem.assertions.emitWithArgs(Promise.resolve(hash), collection, "Minted", [
      id,
      getAddress(alice.account.address),
      zeroAddress,
      getAddress(bob.account.address),
      2n ** 256n - 1n,
      2n,
      3n * PRICE,
    ]);
    await viem.assertions.emitWithArgs(Promise.resolve(hash), collection, "TransferSingle", [
      getAddress(bob.account.address),
      zeroAddress,
      getAddress(alice.account.address),
      id,
      2n,
    ]);
    expect(await collection.read.balanceOf([alice.account.address, id])).to.equal(2n);
    expect(await collection.read.isVoucherUsed([77n])).to.equal(true);
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([v, BigInt(chainId), signature], { account: bob.account, value: 3n * PRICE }),
      collection,
      "VoucherAlreadyUsed",
      [77n],
    );
  });

  it("accepts zero-price vouchers (points exchange) and ignores phases", async () => {
    const { collection, voucher, sign, chainId, id, alice } = await networkHelpers.loadFixture(voucherFixture);
    const v = voucher();
    await collection.write.mintWithVoucher([v, BigInt(chainId), await sign(v)], { account: alice.account });
    expect(await collection.read.balanceOf([alice.account.address, id])).to.equal(2n);
    expect(await collection.read.mintedInPhase([id, 0n, alice.account.address])).to.equal(0n);
  });

  it("rejects a voucher for another chain", async () => {
    const { collection, voucher, sign, chainId, alice } = await networkHelpers.loadFixture(voucherFixture);
    const v = voucher();
    const signature = await sign(v, undefined, 1);
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([v, 1n, signature], { account: alice.account }),
      collection,
      "VoucherWrongChain",
      [BigInt(chainId), 1n],
    );
    // Claiming this chain for a signature made for another one is a bad signature.
    await viem.assertions.revertWithCustomError(
      collection.write.mintWithVoucher([v, BigInt(chainId), signature], { account: alice.account }),
      collection,
      "InvalidVoucherSignature",
    );
  });

  it("rejects an expired voucher; the deadline second itself is still valid", async () => {
    const { collection, voucher, sign, chainId, deadline, alice } = await networkHelpers.loadFixture(voucherFixture);
    const v = voucher();
    const signature = await sign(v);
    await networkHelpers.time.setNextBlockTimestamp(deadline + 1n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([v, BigInt(chainId), signature], { account: alice.account }),
      collection,
      "VoucherExpired",
      [1n, deadline, deadline + 1n],
    );
    const w = voucher({ id: 2n, deadline: deadline + 10n });
    await networkHelpers.time.setNextBlockTimestamp(deadline + 10n);
    await collection.write.mintWithVoucher([w, BigInt(chainId), await sign(w)], { account: alice.account });
  });

  it("rejects signatures by non-signers, for another collection, over altered fields, and malformed ones", async () => {
    const { collection, factory, voucher, sign, chainId, alice, bob, partner, platform } =
      await networkHelpers.loadFixture(voucherFixture);
    const v = voucher();
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([v, BigInt(chainId), await sign(v, bob)], { account: alice.account }),
      collection,
      "InvalidVoucherSignature",
      [getAddress(bob.account.address)],
    );
    // The partner owns the collection but is not a platform voucher signer.
    await viem.assertions.revertWithCustomError(
      collection.write.mintWithVoucher([v, BigInt(chainId), await sign(v, partner)], { account: alice.account }),
      collection,
      "InvalidVoucherSignature",
    );
    await viem.assertions.revertWithCustomError(
      collection.write.mintWithVoucher([v, BigInt(chainId), await sign(v, undefined, chainId, factory.address)], {
        account: alice.account,
      }),
      collection,
      "InvalidVoucherSignature",
    );
    const signature = await sign(v);
    for (const altered of [
      voucher({ quantity: 3n }),
      voucher({ recipient: bob.account.address }),
      voucher({ price: 1n }),
    ]) {
      await viem.assertions.revertWithCustomError(
        collection.write.mintWithVoucher([altered, BigInt(chainId), signature], {
          account: alice.account,
          value: altered.price,
        }),
        collection,
        "InvalidVoucherSignature",
      );
    }
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([v, BigInt(chainId), "0x1234"], { account: alice.account }),
      collection,
      "InvalidVoucherSignature",
      [zeroAddress],
    );
    // A signer whose role is revoked can no longer issue vouchers; a newly granted one can.
    await factory.write.revokeRole([VOUCHER_SIGNER_ROLE, (await viem.getWalletClients())[6]!.account.address], {
      account: platform.account,
    });
    await viem.assertions.revertWithCustomError(
      collection.write.mintWithVoucher([v, BigInt(chainId), signature], { account: alice.account }),
      collection,
      "InvalidVoucherSignature",
    );
    await factory.write.grantRole([VOUCHER_SIGNER_ROLE, bob.account.address], { account: platform.account });
    await collection.write.mintWithVoucher([v, BigInt(chainId), await sign(v, bob)], { account: alice.account });
  });

  it("a voucher signed before its signer's role was revoked stays dead when the role is granted again", async () => {
    const { collection, factory, voucher, sign, chainId, signer, platform, alice, id } =
      await networkHelpers.loadFixture(voucherFixture);
    const s = signer.account.address;
    expect(await factory.read.voucherSignerEpoch([s])).to.equal(1n);
    const old = voucher({ id: 40n });
    const oldSignature = await sign(old);
    await factory.write.revokeRole([VOUCHER_SIGNER_ROLE, s], { account: platform.account });
    expect(await factory.read.voucherSignerEpoch([s])).to.equal(0n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([old, BigInt(chainId), oldSignature], { account: alice.account }),
      collection,
      "InvalidVoucherSignature",
      [getAddress(s)],
    );
    // The platform refunds the points of old vouchers, then grants the signer again.
    await factory.write.grantRole([VOUCHER_SIGNER_ROLE, s], { account: platform.account });
    expect(await factory.read.voucherSignerEpoch([s])).to.equal(2n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([old, BigInt(chainId), oldSignature], { account: alice.account }),
      collection,
      "VoucherSignerEpochEnded",
      [getAddress(s), 1n, 2n],
    );
    // A voucher claiming the new epoch needs a new signature; one signed now works.
    await viem.assertions.revertWithCustomError(
      collection.write.mintWithVoucher([{ ...old, signerEpoch: 2n }, BigInt(chainId), oldSignature], {
        account: alice.account,
      }),
      collection,
      "InvalidVoucherSignature",
    );
    const fresh = voucher({ id: 40n, signerEpoch: 2n });
    await collection.write.mintWithVoucher([fresh, BigInt(chainId), await sign(fresh)], { account: alice.account });
    expect(await collection.read.balanceOf([alice.account.address, id])).to.equal(2n);
    // Renouncing ends an epoch too.
    await factory.write.renounceRole([VOUCHER_SIGNER_ROLE, s], { account: signer.account });
    expect(await factory.read.voucherSignerEpoch([s])).to.equal(0n);
  });

  it("requires the exact price, and respects max supply, pauses and the recipient", async () => {
    const { collection, voucher, sign, chainId, id, alice } = await networkHelpers.loadFixture(voucherFixture);
    const priced = voucher({ price: 5n });
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([priced, BigInt(chainId), await sign(priced)], {
        account: alice.account,
        value: 4n,
      }),
      collection,
      "WrongPayment",
      [5n, 4n],
    );
    const big = voucher({ quantity: 11n, id: 2n });
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([big, BigInt(chainId), await sign(big)], { account: alice.account }),
      collection,
      "ExceedsMaxSupply",
      [id, 10n, 0n, 11n],
    );
    const none = voucher({ quantity: 0n, id: 3n });
    await viem.assertions.revertWithCustomError(
      collection.write.mintWithVoucher([none, BigInt(chainId), await sign(none)], { account: alice.account }),
      collection,
      "ZeroQuantity",
    );
    const nobody = voucher({ recipient: zeroAddress, id: 4n });
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([nobody, BigInt(chainId), await sign(nobody)], { account: alice.account }),
      collection,
      "ERC1155InvalidReceiver",
      [zeroAddress],
    );
    const unknown = voucher({ edition: 9n, id: 5n });
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([unknown, BigInt(chainId), await sign(unknown)], { account: alice.account }),
      collection,
      "UnknownEdition",
      [9n],
    );
    const v = voucher({ id: 6n });
    const signature = await sign(v);
    await collection.write.setEditionPaused([id, true]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([v, BigInt(chainId), signature], { account: alice.account }),
      collection,
      "EditionPaused",
      [id],
    );
    await collection.write.setEditionPaused([id, false]);
    await collection.write.pause();
    await viem.assertions.revertWithCustomError(
      collection.write.mintWithVoucher([v, BigInt(chainId), signature], { account: alice.account }),
      collection,
      "CollectionPaused",
    );
    await collection.write.unpause();
    // None of the failures above used the voucher.
    await collection.write.mintWithVoucher([v, BigInt(chainId), signature], { account: alice.account });
  });

  it("cancelVoucher makes a voucher unusable; only platform signers may cancel", async () => {
    const { collection, voucher, sign, chainId, signer, alice } = await networkHelpers.loadFixture(voucherFixture);
    const v = voucher({ id: 300n });
    const signature = await sign(v);
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.cancelVoucher([300n], { account: alice.account }),
      collection,
      "AccessControlUnauthorizedAccount",
      [getAddress(alice.account.address), VOUCHER_SIGNER_ROLE],
    );
    await viem.assertions.emitWithArgs(
      collection.write.cancelVoucher([300n], { account: signer.account }),
      collection,
      "VoucherCancelled",
      [300n, getAddress(signer.account.address)],
    );
    expect(await collection.read.isVoucherUsed([300n])).to.equal(true);
    expect(await collection.read.isVoucherUsed([301n])).to.equal(false);
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.cancelVoucher([300n], { account: signer.account }),
      collection,
      "VoucherAlreadyUsed",
      [300n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.mintWithVoucher([v, BigInt(chainId), signature], { account: alice.account }),
      collection,
      "VoucherAlreadyUsed",
      [300n],
    );
  });

  it("tracks ids across the whole uint256 range independently", async () => {
    const { collection, voucher, sign, chainId, alice } = await networkHelpers.loadFixture(voucherFixture);
    for (const id of [0n, 255n, 256n, 2n ** 256n - 1n]) {
      const v = voucher({ id, quantity: 1n });
      await collection.write.mintWithVoucher([v, BigInt(chainId), await sign(v)], { account: alice.account });
    }
    for (const id of [0n, 255n, 256n, 2n ** 256n - 1n])
      expect(await collection.read.isVoucherUsed([id])).to.equal(true);
    for (const id of [1n, 254n, 257n, 2n ** 256n - 2n])
      expect(await collection.read.isVoucherUsed([id])).to.equal(false);
  });

  it("publishes its EIP-712 domain (ERC-5267) and separator, matching viem's hashing", async () => {
    const { collection, chainId, voucher } = await networkHelpers.loadFixture(voucherFixture);
    const [fields, name, version, domainChainId, verifyingContract, salt, extensions] =
      await collection.read.eip712Domain();
    expect({
      fields,
      name,
      version,
      domainChainId,
      verifyingContract: getAddress(verifyingContract),
      salt,
      extensions,
    }).to.deep.equal({
      fields: "0x0f",
      name: "Perkmint Collection",
      version: "1",
      domainChainId: BigInt(chainId),
      verifyingContract: getAddress(collection.address),
      salt: `0x${"0".repeat(64)}`,
      extensions: [],
    });
    expect(mintVoucherDomain(collection.address, chainId)).to.deep.equal({
      name,
      version,
      chainId,
      verifyingContract: collection.address,
    });
    expect(await collection.read.DOMAIN_SEPARATOR()).to.equal(
      keccak256(
        `0x${[
          keccak256(toBytes("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")),
          keccak256(toBytes("Perkmint Collection")),
          keccak256(toBytes("1")),
          BigInt(chainId).toString(16).padStart(64, "0"),
          collection.address.slice(2).toLowerCase().padStart(64, "0"),
        ]
          .map((x) => x.replace(/^0x/, ""))
          .join("")}`,
      ),
    );
    expect(await collection.read.MINT_VOUCHER_TYPEHASH()).to.equal(
      keccak256(
        toBytes(
          "MintVoucher(address recipient,uint256 edition,uint256 quantity,uint256 price,uint256 id,uint256 deadline,uint256 signerEpoch)",
        ),
      ),
    );
    expect(mintVoucherTypes.MintVoucher.map((f) => f.name)).to.deep.equal(Object.keys(voucher()));
  });
});
