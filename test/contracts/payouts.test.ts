import { expect } from "chai";
import { network } from "hardhat";
import { encodeFunctionData, getAddress, parseEther, toFunctionSelector, zeroAddress } from "viem";
import { deployDrop, FEE_BPS, phase, PRICE } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();

async function payoutsFixture() {
  const base = await deployDrop(viem);
  const id = await base.createEdition({ referralBps: 1000 });
  return { ...base, id };
}

/** What every party can withdraw, and the contract's balance: they must always add up. */
async function books(base: Awaited<ReturnType<typeof payoutsFixture>>, referrers: `0x${string}`[]) {
  const { collection, publicClient } = base;
  const partner = await collection.read.partnerBalance();
  const platform = await collection.read.platformBalance();
  let referral = 0n;
  for (const r of referrers) referral += await collection.read.referralBalance([r]);
  const held = await publicClient.getBalance({ address: collection.address });
  expect(partner + platform + referral, "owed = held").to.equal(held);
  return { partner, platform, referral, held };
}

describe("Collection: payouts", () => {
  it("splits sales into platform fee, referral reward and partner share, conserving every wei", async () => {
    const base = await networkHelpers.loadFixture(payoutsFixture);
    const { collection, id, alice, bob, carol, dave } = base;
    await collection.write.mint([id, alice.account.address, 3n, 0n, carol.account.address], {
      account: alice.account,
      value: 3n * PRICE,
    });
    await collection.write.mint([id, bob.account.address, 1n, 0n, zeroAddress], { account: bob.account, value: PRICE });
    await collection.write.mint([id, bob.account.address, 2n, 0n, dave.account.address], {
      account: bob.account,
      value: 2n * PRICE,
    });
    const total = 6n * PRICE;
    expect(await collection.read.totalReceived()).to.equal(total);
    const platform = (total * BigInt(FEE_BPS)) / 10_000n;
    const carolReward = (3n * PRICE * 1000n) / 10_000n;
    const daveReward = (2n * PRICE * 1000n) / 10_000n;
    expect(await books(base, [carol.account.address, dave.account.address])).to.deep.equal({
      partner: total - platform - carolReward - daveReward,
      platform,
      referral: carolReward + daveReward,
      held: total,
    });
  });

  it("pays each party to its own address, whoever triggers it, leaving exactly zero", async () => {
    const base = await networkHelpers.loadFixture(payoutsFixture);
    const { collection, factory, id, alice, carol, partner, feeSink, platform: admin, bob, publicClient } = base;
    await collection.write.mint([id, alice.account.address, 7n, 0n, carol.account.address], {
      account: alice.account,
      value: 7n * PRICE,
    });
    const owed = await books(base, [carol.account.address]);

    await viem.assertions.balancesHaveChanged(collection.write.withdraw({ account: bob.account }), [
      { address: partner.account.address, amount: owed.partner },
      { address: collection.address, amount: -owed.partner },
    ]);
    const events = await collection.getEvents.PartnerWithdrawal();
    expect(events[0]?.args).to.deep.equal({ recipient: getAddress(partner.account.address), amount: owed.partner });

    // The platform's fees go to the factory's current fee recipient.
    await factory.write.setFeeRecipient([admin.account.address], { account: admin.account });
    await viem.assertions.emitWithArgs(
      collection.write.withdrawPlatformFees({ account: bob.account }),
      collection,
      "PlatformWithdrawal",
      [getAddress(admin.account.address), owed.platform],
    );
    expect(await publicClient.getBalance({ address: feeSink.account.address })).to.equal(parseEther("10000"));

    await viem.assertions.balancesHaveChanged(
      collection.write.withdrawReferralRewards([carol.account.address], { account: bob.account }),
      [{ address: carol.account.address, amount: owed.referral }],
    );
    await viem.assertions.emitWithArgs(
      collection.write.mint([id, alice.account.address, 1n, 0n, carol.account.address], {
        account: alice.account,
        value: PRICE,
      }),
      collection,
      "ReferralCredited",
      [getAddress(carol.account.address), id, PRICE / 10n],
    );
    await viem.assertions.emitWithArgs(
      collection.write.withdrawReferralRewards([carol.account.address]),
      collection,
      "ReferralWithdrawal",
      [getAddress(carol.account.address), getAddress(carol.account.address), PRICE / 10n],
    );
    expect(await collection.read.referralTotals()).to.deep.equal([
      owed.referral + PRICE / 10n,
      owed.referral + PRICE / 10n,
    ]);
    await collection.write.withdraw();
    await collection.write.withdrawPlatformFees();
    expect(await books(base, [carol.account.address])).to.deep.equal({
      partner: 0n,
      platform: 0n,
      referral: 0n,
      held: 0n,
    });
    expect(await collection.read.totalReceived()).to.equal(8n * PRICE);
  });

  it("loses and creates no wei under rounding: remainders go to the partner", async () => {
    const base = await networkHelpers.loadFixture(payoutsFixture);
    const { collection, createEdition, alice, carol } = base;
    const odd = await createEdition({ referralBps: 3333 }, [phase({ price: 7n })]);
    let total = 0n;
    let platformPaid = 0n;
    for (let i = 1n; i <= 5n; i++) {
      await collection.write.mint([odd, alice.account.address, i, 0n, carol.account.address], {
        account: alice.account,
        value: 7n * i,
      });
      total += 7n * i;
      expect(await collection.read.totalReceived()).to.equal(total);
      const { platform } = await books(base, [carol.account.address]);
      // The fee is taken on the running total, so per-sale rounding never accumulates.
      expect(platform + platformPaid).to.equal((total * BigInt(FEE_BPS)) / 10_000n);
      // Interleaved withdrawals change nothing.
      if (i === 2n) await collection.write.withdraw();
      if (i === 3n) {
        platformPaid += platform;
        await collection.write.withdrawPlatformFees();
      }
      if (i === 4n) await collection.write.withdrawReferralRewards([carol.account.address]);
    }
  });

  it("counts ether forced in without a sale (SELFDESTRUCT) and splits it like a sale", async () => {
    const base = await networkHelpers.loadFixture(payoutsFixture);
    const { collection, alice } = base;
    await viem.deployContract("ForceSend", [collection.address], { value: 1000n, client: { wallet: alice } });
    expect(await collection.read.totalReceived()).to.equal(1000n);
    expect(await books(base, [])).to.deep.equal({ partner: 950n, platform: 50n, referral: 0n, held: 1000n });
  });

  it("reverts with NothingToWithdraw when nothing is owed", async () => {
    const { collection, carol } = await networkHelpers.loadFixture(payoutsFixture);
    await viem.assertions.revertWithCustomError(collection.write.withdraw(), collection, "NothingToWithdraw");
    await viem.assertions.revertWithCustomError(
      collection.write.withdrawPlatformFees(),
      collection,
      "NothingToWithdraw",
    );
    await viem.assertions.revertWithCustomError(
      collection.write.withdrawReferralRewards([carol.account.address]),
      collection,
      "NothingToWithdraw",
    );
  });

  it("reverts with WithdrawalFailed when the recipient rejects ether, keeping what is owed", async () => {
    const base = await networkHelpers.loadFixture(payoutsFixture);
    const { collection, id, alice } = base;
    const payee = await viem.deployContract("EtherReceiverMock");
    await payee.write.configure([1, zeroAddress, "0x"]);
    await collection.write.setPayoutRecipient([payee.address]);
    await collection.write.mint([id, alice.account.address, 1n, 0n, payee.address], {
      account: alice.account,
      value: PRICE,
    });
    const owed = await books(base, [payee.address]);
    await viem.assertions.revertWithCustomErrorWithArgs(collection.write.withdraw(), collection, "WithdrawalFailed", [
      getAddress(payee.address),
      owed.partner,
    ]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      collection.write.withdrawReferralRewards([payee.address]),
      collection,
      "WithdrawalFailed",
      [getAddress(payee.address), owed.referral],
    );
    expect(await books(base, [payee.address])).to.deep.equal(owed);
    // Others are not held hostage.
    await collection.write.withdrawPlatformFees();
  });

  it("is safe against re-entrant withdrawals", async () => {
    const base = await networkHelpers.loadFixture(payoutsFixture);
    const { collection, id, alice } = base;
    const payee = await viem.deployContract("EtherReceiverMock");
    await collection.write.setPayoutRecipient([payee.address]);
    await collection.write.mint([id, alice.account.address, 2n, 0n, payee.address], {
      account: alice.account,
      value: 2n * PRICE,
    });
    const owed = await books(base, [payee.address]);
    // The payee re-enters the same withdrawal when paid: the guard refuses it, the outer call pays once.
    await payee.write.configure([
      2,
      collection.address,
      encodeFunctionData({ abi: collection.abi, functionName: "withdraw" }),
    ]);
    await collection.write.withdraw();
    expect(await payee.read.reentrySucceeded()).to.equal(false);
    // It was refused by the guard (ReentrancyGuardReentrantCall()), not by running out of funds.
    expect(await payee.read.reentryResult()).to.equal(toFunctionSelector("ReentrancyGuardReentrantCall()"));
    await payee.write.configure([
      2,
      collection.address,
      encodeFunctionData({ abi: collection.abi, functionName: "withdrawReferralRewards", args: [payee.address] }),
    ]);
    await collection.write.withdrawReferralRewards([payee.address]);
    expect(await payee.read.reentrySucceeded()).to.equal(false);
    const publicClient = base.publicClient;
    expect(await publicClient.getBalance({ address: payee.address })).to.equal(owed.partner + owed.referral);
    expect(await books(base, [payee.address])).to.deep.equal({
      partner: 0n,
      platform: owed.platform,
      referral: 0n,
      held: owed.platform,
    });
  });

  it("settles a referred sale whose referral share plus the fee reaches the whole price", async () => {
    const base = await networkHelpers.loadFixture(payoutsFixture);
    const { collection, createEdition, alice, carol } = base;
    // 50% referral + 5% fee: the partner still gets the remaining 45% and never goes negative.
    const id = await createEdition({ referralBps: 5000 }, [phase({ price: 1n })]);
    for (let i = 0; i < 5; i++) {
      await collection.write.mint([id, alice.account.address, 1n, 0n, carol.account.address], {
        account: alice.account,
        value: 1n,
      });
      await books(base, [carol.account.address]);
    }
  });
});
