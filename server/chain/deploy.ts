import {
  getAddress,
  type Account,
  type Address,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { loadArtifact } from "./artifacts.ts";

export type PlatformDeployment = {
  chainId: number;
  factory: Address;
  collectionImplementation: Address;
  /** Block of the factory's deployment: the indexer starts here. */
  startBlock: bigint;
};

/** Platform settings the factory is deployed with. Every address defaults to the deploying account. */
export type PlatformSettings = {
  /** Platform admin (DEFAULT_ADMIN_ROLE on the factory): sets the fee and recipient, grants voucher signers. */
  admin?: Address;
  /** Receives platform fees. */
  feeRecipient?: Address;
  /** Fee new collections take on every sale, in basis points (0–1000). Default 0. */
  platformFeeBps?: number;
  /** Initial voucher signer (VOUCHER_SIGNER_ROLE on the factory); `null` for none. */
  voucherSigner?: Address | null;
};

type Clients = {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain, Account>;
};

const zeroAddress: Address = "0x0000000000000000000000000000000000000000";

/**
 * Deploys the EditionFactory, which deploys the Collection implementation in its constructor (so the
 * implementation knows its factory without a second transaction).
 */
export async function deployPlatform(clients: Clients, settings: PlatformSettings = {}): Promise<PlatformDeployment> {
  const { publicClient, walletClient } = clients;
  const factory = await loadArtifact("EditionFactory");
  const deployer = walletClient.account.address;
  const feeBps = settings.platformFeeBps ?? 0;
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 1000) {
    throw new RangeError(`platformFeeBps must be an integer from 0 to 1000 (10%), got ${feeBps}.`);
  }
  const args = [
    settings.admin ?? deployer,
    settings.feeRecipient ?? deployer,
    feeBps,
    settings.voucherSigner === null ? zeroAddress : (settings.voucherSigner ?? deployer),
  ] as const;
  const hash = await walletClient.deployContract({ abi: factory.abi, bytecode: factory.bytecode, args });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) {
    throw new Error(`Factory deployment transaction ${hash} failed (status ${receipt.status}).`);
  }
  const implementation = await publicClient.readContract({
    address: receipt.contractAddress,
    abi: factory.abi,
    functionName: "implementation",
    blockNumber: receipt.blockNumber,
  });
  return {
    chainId: await publicClient.getChainId(),
    factory: getAddress(receipt.contractAddress),
    collectionImplementation: getAddress(implementation),
    startBlock: receipt.blockNumber,
  };
}
