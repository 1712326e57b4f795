import {
  createWalletClient,
  getContract,
  http,
  parseEther,
  parseEventLogs,
  zeroAddress,
  zeroHash,
  type Account,
  type Address,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { loadArtifact } from "./artifacts.ts";

/**
 * Hardhat's public development mnemonic: its accounts are funded on every local Hardhat chain. Never use them
 * anywhere else: their keys are public.
 */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

export const demoAccounts = {
  operator: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 }),
  partner: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 1 }),
  alice: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 2 }),
  bob: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 3 }),
  carol: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 4 }),
};

export function walletFor(account: Account, chain: Chain, rpcUrl: string): WalletClient<Transport, Chain, Account> {
  return createWalletClient({ account, chain, transport: http(rpcUrl) });
}

export type DemoSeed = {
  collection: Address;
  editions: { id: bigint; name: string; price: bigint; maxSupply: bigint }[];
};

type Wallet = WalletClient<Transport, Chain, Account>;
export type DemoWallets = { partner: Wallet; alice: Wallet; bob: Wallet };

/** The demo wallets on a chain reached over HTTP (`npm run dev`). */
export function demoWallets(chain: Chain, rpcUrl: string): DemoWallets {
  return {
    partner: walletFor(demoAccounts.partner, chain, rpcUrl),
    alice: walletFor(demoAccounts.alice, chain, rpcUrl),
    bob: walletFor(demoAccounts.bob, chain, rpcUrl),
  };
}

/**
 * Seeds a demo partner collection with two editions and a few mints from demo wallets, waiting for each receipt.
 */
export async function seedDemo(
  publicClient: PublicClient,
  wallets: DemoWallets,
  factoryAddress: Address,
): Promise<DemoSeed> {
  const factoryArtifact = await loadArtifact("EditionFactory");
  const collectionArtifact = await loadArtifact("Collection");
  const partner = wallets.partner;
  const wait = async (hash: `0x${string}`) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`Seed transaction ${hash} reverted`);
    return receipt;
  };

  const factory = getContract({
    address: factoryAddress,
    abi: factoryArtifact.abi,
    client: { public: publicClient, wallet: partner },
  });
  // The partner accepts the fee it sees now: a fee change landing before its transaction makes it revert.
  const fee = await factory.read.platformFeeBps();
  const created = await wait(
    await factory.write.createCollection([
      "ipfs://perkmint-demo/collection.json",
      partner.account.address,
      500n,
      BigInt(fee),
    ]),
  );
  const [event] = parseEventLogs({ abi: factoryArtifact.abi, logs: created.logs, eventName: "CollectionCreated" });
  if (!event) throw new Error("createCollection emitted no CollectionCreated event");
  const collectionAddress = event.args.collection;

  const editions = [
    { id: 1n, name: "Founders Pass", price: parseEther("0.01"), maxSupply: 100n },
    { id: 2n, name: "Studio Sketch", price: parseEther("0.002"), maxSupply: 500n },
  ];
  const asPartner = getContract({
    address: collectionAddress,
    abi: collectionArtifact.abi,
    client: { public: publicClient, wallet: partner },
  });
  for (const e of editions) {
    const settings = {
      maxSupply: Number(e.maxSupply),
      referralBps: 0,
      soulbound: false,
      redeemable: false,
      royaltyReceiver: zeroAddress,
      royaltyBps: 0n,
      uri: `ipfs://perkmint-demo/${e.id}.json`,
    };
    // One public phase (index 0), open from now on, without a wallet limit.
    const publicSale = { start: 0, end: 2 ** 32 - 1, price: e.price, walletLimit: 0, merkleRoot: zeroHash };
    await wait(await asPartner.write.createEdition([settings, [publicSale]]));
  }

  const mints: [Wallet, bigint, bigint][] = [
    [wallets.alice, 1n, 1n],
    [wallets.alice, 2n, 3n],
    [wallets.bob, 1n, 2n],
  ];
  for (const [wallet, id, quantity] of mints) {
    await mintEdition(publicClient, wallet, collectionAddress, id, quantity, editions.find((e) => e.id === id)!.price);
  }
  return { collection: collectionAddress, editions };
}

/** Mints `quantity` of edition `id` to the wallet's own account, paying the exact price; waits for the receipt. */
export async function mintEdition(
  publicClient: PublicClient,
  wallet: Wallet,
  collection: Address,
  id: bigint,
  quantity: bigint,
  unitPrice: bigint,
) {
  const collectionArtifact = await loadArtifact("Collection");
  const asCollector = getContract({
    address: collection,
    abi: collectionArtifact.abi,
    client: { public: publicClient, wallet },
  });
  // Phase 0 (the public sale), no referrer.
  const hash = await asCollector.write.mint([id, wallet.account.address, quantity, 0n, zeroAddress], {
    value: unitPrice * quantity,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`Mint transaction ${hash} reverted`);
  return receipt;
}
