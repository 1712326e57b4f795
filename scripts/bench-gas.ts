/**
 * Gas benchmark of the drop contracts: `npm run bench:gas`.
 *
 * Runs every scenario of issue 3 on an in-process Hardhat chain and prints a table, then, as its LAST line, one
 * JSON object of `gasUsed` taken from the transaction receipts. Mints are of editions that already have holders,
 * paid in exact native currency by the recipient itself (see docs/contracts.md for the analysis of each figure).
 */
import { network } from "hardhat";
import { parseEther, parseEventLogs, zeroAddress, zeroHash, type Address, type Hex } from "viem";
import { buildAllowlist } from "../server/chain/allowlist.ts";
import { signMintVoucher } from "../server/chain/mint-voucher.ts";

const { viem } = await network.create();
const publicClient = await viem.getPublicClient();
const [platform, partner, seeder, ...collectors] = await viem.getWalletClients();
if (!platform || !partner || !seeder || collectors.length < 12) throw new Error("The bench needs 15 funded accounts.");
const next = (() => {
  let i = 0;
  return () => collectors[i++]!;
})();

const gas: Record<string, number> = {};
/** Calldata gas of each measured transaction (16 per non-zero byte, 4 per zero byte), for the floor analysis. */
const calldataGas: Record<string, number> = {};
async function measure(name: string, hash: Hex) {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${name}: transaction reverted`);
  gas[name] = Number(receipt.gasUsed);
  const { input } = await publicClient.getTransaction({ hash });
  const bytes = input.slice(2).match(/../g) ?? [];
  calldataGas[name] = bytes.reduce((sum, b) => sum + (b === "00" ? 4 : 16), 0);
  return receipt;
}
async function send(hash: Hex) {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
  return receipt;
}

const factory = await viem.deployContract("EditionFactory", [
  platform.account.address,
  platform.account.address,
  500,
  platform.account.address,
]);

const created = await measure(
  "createCollection",
  await factory.write.createCollection(
    [
      "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/collection.json",
      partner.account.address,
      500n,
      500n,
    ],
    { account: partner.account },
  ),
);
const [createdEvent] = parseEventLogs({ abi: factory.abi, logs: created.logs, eventName: "CollectionCreated" });
const collection = await viem.getContractAt("Collection", createdEvent!.args.collection, {
  client: { wallet: partner },
});
const asAccount = (w: typeof partner) => ({ account: w.account });

const price = parseEther("0.01");
const always = { start: 0, end: 2 ** 32 - 1 };
const settings = (over: Partial<{ referralBps: number; redeemable: boolean }> = {}) => ({
  maxSupply: 10_000,
  referralBps: over.referralBps ?? 0,
  soulbound: false,
  redeemable: over.redeemable ?? false,
  royaltyReceiver: zeroAddress,
  royaltyBps: 0n,
  uri: "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/1.json",
});
const publicPhase = (walletLimit: number) => ({ ...always, price, walletLimit, merkleRoot: zeroHash });

// Edition 1: public phase without a wallet limit.
await measure("createEdition", await collection.write.createEdition([settings(), [publicPhase(0)]]));
// Edition 2: public phase 0 with a wallet limit of 5, allowlist phase 1.
const allowlisted = [next(), next()];
const allowlist = buildAllowlist(allowlisted.map((w) => ({ account: w.account.address, maxQuantity: 3n })));
await send(
  await collection.write.createEdition([
    settings(),
    [publicPhase(5), { ...always, price, walletLimit: 0, merkleRoot: allowlist.root }],
  ]),
);
// Edition 3: referral reward 5%, redeemable.
await send(await collection.write.createEdition([settings({ referralBps: 500, redeemable: true }), [publicPhase(0)]]));

const mintTo = async (
  w: typeof partner,
  edition: bigint,
  phase: bigint,
  quantity: bigint,
  referrer: Address = zeroAddress,
) =>
  collection.write.mint([edition, w.account.address, quantity, phase, referrer], {
    ...asAccount(w),
    value: price * quantity,
  });

// Every edition already has a holder, and the referral total is non-zero (as on a live drop); the measured referred
// mint credits a referrer for the first time.
for (const edition of [1n, 2n, 3n]) await send(await mintTo(seeder, edition, 0n, 1n));
await send(await mintTo(seeder, 3n, 0n, 1n, partner.account.address));

await measure("publicMint1Uncapped", await mintTo(next(), 1n, 0n, 1n));
const limited = next();
await measure("publicMint1NewHolder", await mintTo(limited, 2n, 0n, 1n));
await measure("publicMint1ExistingHolder", await mintTo(limited, 2n, 0n, 1n));
await measure("publicMint5", await mintTo(next(), 1n, 0n, 5n));

const listed = allowlisted[0]!;
const { allowance, proof } = allowlist.proofFor(listed.account.address)!;
await measure(
  "allowlistMint1",
  await collection.write.mintAllowlisted([2n, listed.account.address, 1n, 1n, zeroAddress, allowance, proof], {
    ...asAccount(listed),
    value: price,
  }),
);

const chainId = await publicClient.getChainId();
const voucherBuyer = next();
const voucher = {
  recipient: voucherBuyer.account.address,
  edition: 1n,
  quantity: 1n,
  price: 0n,
  id: 1n,
  deadline: 2n ** 32n,
  signerEpoch: await factory.read.voucherSignerEpoch([platform.account.address]),
};
const signature = await signMintVoucher(platform, { collection: collection.address, chainId, voucher });
await measure(
  "voucherMint1",
  await collection.write.mintWithVoucher([voucher, BigInt(chainId), signature], asAccount(voucherBuyer)),
);

await measure("mintWithReferrer1", await mintTo(next(), 3n, 0n, 1n, seeder.account.address));

const receiver = next();
await measure(
  "transfer1",
  await collection.write.safeTransferFrom(
    [seeder.account.address, receiver.account.address, 1n, 1n, "0x"],
    asAccount(seeder),
  ),
);
await measure(
  "redeem1",
  await collection.write.redeem([seeder.account.address, 3n, 1n, `0x${"ab".repeat(32)}`], asAccount(seeder)),
);
await measure("withdraw", await collection.write.withdraw(asAccount(partner)));

const targets: Record<string, number> = {
  publicMint1Uncapped: 60_000,
  publicMint1NewHolder: 80_000,
  publicMint1ExistingHolder: 45_000,
  createCollection: 250_000,
};
console.log("scenario                     gasUsed  calldata     target");
for (const [name, used] of Object.entries(gas)) {
  const target = targets[name];
  const verdict =
    target === undefined ? "" : `${target.toLocaleString("en-US").padStart(8)} ${used <= target ? "ok" : "OVER"}`;
  const calldata = (calldataGas[name] ?? 0).toLocaleString("en-US");
  console.log(`${name.padEnd(28)} ${used.toLocaleString("en-US").padStart(8)}  ${calldata.padStart(8)}   ${verdict}`);
}
console.log(JSON.stringify(gas));
