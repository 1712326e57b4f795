/**
 * Deploys the platform (EditionFactory, which deploys the Collection implementation) to any EVM network and writes
 * `deployments/<chainId>.json`, the file the server reads through `DEPLOYMENTS_FILE`.
 *
 *   RPC_URL=https://… DEPLOYER_PRIVATE_KEY=0x… npm run deploy
 *
 * Optional: PLATFORM_ADMIN, FEE_RECIPIENT, VOUCHER_SIGNER (addresses; default: the deployer; VOUCHER_SIGNER=none for
 * no signer), PLATFORM_FEE_BPS (0–1000, default 0), DEPLOYMENTS_DIR (default ./deployments).
 * Compile first (`npm run build`); the script reads the artifacts.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, defineChain, http, isAddress, type Transport } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { z } from "zod";
import { deployPlatform, type PlatformDeployment } from "../server/chain/deploy.ts";

const address = z.string().refine((v) => isAddress(v, { strict: false }), "must be a 0x-prefixed 20-byte address");

export const deployEnvSchema = z.object({
  RPC_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
  DEPLOYER_PRIVATE_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hex private key"),
  PLATFORM_ADMIN: address.optional(),
  FEE_RECIPIENT: address.optional(),
  VOUCHER_SIGNER: z.union([z.literal("none"), address]).optional(),
  PLATFORM_FEE_BPS: z.coerce.number().int().min(0).max(1000).default(0),
  DEPLOYMENTS_DIR: z.string().min(1).default("deployments"),
});

export class DeployConfigError extends Error {
  constructor(problems: string[]) {
    super(`Cannot deploy, invalid environment:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "DeployConfigError";
  }
}

/** The deployments file's content: a PlatformDeployment with bigints as decimal strings. */
export function serializeDeployment(deployment: PlatformDeployment): string {
  return `${JSON.stringify(deployment, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value), 2)}\n`;
}

/**
 * Validates `env`, deploys, writes the deployments file and returns its path and content. `transport` replaces
 * `http(RPC_URL)` (tests pass an in-process chain).
 */
export async function deployFromEnv(env: NodeJS.ProcessEnv, options: { transport?: Transport } = {}) {
  const parsed = deployEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new DeployConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  const transport = options.transport ?? http(e.RPC_URL);
  const probe = createPublicClient({ transport });
  const chainId = await probe.getChainId();
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [e.RPC_URL] } },
  });
  const account = privateKeyToAccount(e.DEPLOYER_PRIVATE_KEY as `0x${string}`);
  const publicClient = createPublicClient({ chain, transport });
  const walletClient = createWalletClient({ account, chain, transport });
  const balance = await publicClient.getBalance({ address: account.address });
  if (balance === 0n)
    throw new DeployConfigError([`DEPLOYER_PRIVATE_KEY: account ${account.address} has no funds on chain ${chainId}`]);

  const deployment = await deployPlatform(
    { publicClient, walletClient },
    {
      admin: e.PLATFORM_ADMIN,
      feeRecipient: e.FEE_RECIPIENT,
      platformFeeBps: e.PLATFORM_FEE_BPS,
      voucherSigner: e.VOUCHER_SIGNER === "none" ? null : e.VOUCHER_SIGNER,
    },
  );
  const file = path.resolve(e.DEPLOYMENTS_DIR, `${deployment.chainId}.json`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, serializeDeployment(deployment));
  return { file, deployment, deployer: account.address };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { file, deployment, deployer } = await deployFromEnv(process.env);
    console.log(`Deployed by ${deployer} on chain ${deployment.chainId}:`);
    console.log(`  EditionFactory           ${deployment.factory}`);
    console.log(`  Collection implementation ${deployment.collectionImplementation}`);
    console.log(`  start block              ${deployment.startBlock}`);
    console.log(`Wrote ${file} (point the server's DEPLOYMENTS_FILE at it).`);
  } catch (error) {
    console.error(error instanceof DeployConfigError ? error.message : error);
    process.exitCode = 1;
  }
}
