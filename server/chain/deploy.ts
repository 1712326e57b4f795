import { getAddress, type Account, type Address, type Chain, type PublicClient, type Transport, type WalletClient } from "viem";
import { loadArtifact } from "./artifacts.ts";

export type PlatformDeployment = {
  chainId: number;
  factory: Address;
  collectionImplementation: Address;
  /** Block of the factory's deployment: the indexer starts here. */
  startBlock: bigint;
};

type Clients = {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain, Account>;
};

async function deployContract(
  { publicClient, walletClient }: Clients,
  abi: readonly unknown[],
  bytecode: `0x${string}`,
  args: readonly unknown[],
) {
  const hash = await walletClient.deployContract({ abi, bytecode, args } as never);
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) {
    throw new Error(`Deployment transaction ${hash} failed (status ${receipt.status}).`);
  }
  return { address: getAddress(receipt.contractAddress), blockNumber: receipt.blockNumber };
}

/** Deploys the Collection implementation and the EditionFactory that clones it. */
export async function deployPlatform(clients: Clients): Promise<PlatformDeployment> {
  const collection = await loadArtifact("Collection");
  const factory = await loadArtifact("EditionFactory");
  const implementation = await deployContract(clients, collection.abi, collection.bytecode, []);
  const deployedFactory = await deployContract(clients, factory.abi, factory.bytecode, [implementation.address]);
  return {
    chainId: await clients.publicClient.getChainId(),
    factory: deployedFactory.address,
    collectionImplementation: implementation.address,
    startBlock: implementation.blockNumber,
  };
}
