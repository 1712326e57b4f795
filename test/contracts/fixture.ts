/**
 * Shared setup of the contract tests (no tests here; importing it has no side effects).
 */
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { parseEther, parseEventLogs, zeroAddress, zeroHash, type Address, type Hex } from "viem";

export const PRICE = parseEther("0.01");
export const FEE_BPS = 500;
export const ALWAYS = { start: 0, end: 2 ** 32 - 1 } as const;
export const MAX_U32 = 2 ** 32 - 1;

export type EditionSettings = {
  maxSupply: number;
  referralBps: number;
  soulbound: boolean;
  redeemable: boolean;
  royaltyReceiver: Address;
  royaltyBps: bigint;
  uri: string;
};
export type Phase = { start: number; end: number; price: bigint; walletLimit: number; merkleRoot: Hex };

export function editionSettings(over: Partial<EditionSettings> = {}): EditionSettings {
  return {
    maxSupply: 100,
    referralBps: 0,
    soulbound: false,
    redeemable: false,
    royaltyReceiver: zeroAddress,
    royaltyBps: 0n,
    uri: "ipfs://edition.json",
    ...over,
  };
}

export function phase(over: Partial<Phase> = {}): Phase {
  return { ...ALWAYS, price: PRICE, walletLimit: 0, merkleRoot: zeroHash, ...over };
}

/**
 * A platform (factory: admin, fee recipient and voucher signer = `platform`, fee 5%) and one collection owned by
 * `partner` with a default royalty of 5% to the partner.
 */
export async function deployDrop(viem: HardhatViemHelpers) {
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [platform, partner, alice, bob, carol, dave, signer, feeSink] = wallets;
  if (!platform || !partner || !alice || !bob || !carol || !dave || !signer || !feeSink) {
    throw new Error("need 8 accounts");
  }
  const partnerAddress = partner.account.address;
  const factory = await viem.deployContract("EditionFactory", [
    platform.account.address,
    feeSink.account.address,
    FEE_BPS,
    signer.account.address,
  ]);
  const hash = await factory.write.createCollection(
    ["ipfs://collection.json", partner.account.address, 500n, BigInt(FEE_BPS)],
    {
      account: partner.account,
    },
  );
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  const [created] = parseEventLogs({ abi: factory.abi, logs: receipt.logs, eventName: "CollectionCreated" });
  const address = created!.args.collection;
  const collection = await viem.getContractAt("Collection", address, { client: { wallet: partner } });
  const as = (wallet: typeof partner) => viem.getContractAt("Collection", address, { client: { wallet } });

  /** Creates an edition as the partner; returns its id. */
  async function createEdition(settings: Partial<EditionSettings> = {}, phases: Phase[] = [phase()]) {
    const { result } = await collection.simulate.createEdition([editionSettings(settings), phases], {
      account: partnerAddress,
    });
    await collection.write.createEdition([editionSettings(settings), phases]);
    return result;
  }

  return {
    publicClient,
    factory,
    collection,
    as,
    createEdition,
    platform,
    partner,
    alice,
    bob,
    carol,
    dave,
    signer,
    feeSink,
    wallets,
  };
}
