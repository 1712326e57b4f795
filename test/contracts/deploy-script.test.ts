import { expect } from "chai";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { network } from "hardhat";
import { custom, getAddress, keccak256, toBytes } from "viem";
import { DeployConfigError, deployFromEnv } from "../../scripts/deploy.ts";
import { deploymentFileSchema } from "../../server/config.ts";

const { viem, provider } = await network.create();
// Hardhat's first development account: public key material, funded on every local chain.
const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const DEV_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

describe("scripts/deploy.ts", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "perkmint-deploy-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("deploys the factory and implementation and writes deployments/<chainId>.json for the server", async () => {
    const [, admin, fees, signer] = await viem.getWalletClients();
    const { file, deployment } = await deployFromEnv(
      {
        RPC_URL: "http://127.0.0.1:1",
        DEPLOYER_PRIVATE_KEY: DEV_KEY,
        PLATFORM_ADMIN: admin!.account.address,
        FEE_RECIPIENT: fees!.account.address,
        VOUCHER_SIGNER: signer!.account.address,
        PLATFORM_FEE_BPS: "250",
        DEPLOYMENTS_DIR: dir,
      },
      { transport: custom(provider) },
    );
    expect(file).to.equal(path.join(dir, `${deployment.chainId}.json`));
    const parsed = deploymentFileSchema.parse(JSON.parse(await readFile(file, "utf8")));
    expect(parsed).to.deep.equal(deployment);
    expect((JSON.parse(await readFile(file, "utf8")) as { startBlock: unknown }).startBlock).to.be.a("string");
    const factory = await viem.getContractAt("EditionFactory", deployment.factory);
    expect(getAddress(await factory.read.implementation())).to.equal(getAddress(deployment.collectionImplementation));
    expect(await factory.read.platformFeeBps()).to.equal(250);
    expect(getAddress(await factory.read.feeRecipient())).to.equal(getAddress(fees!.account.address));
    expect(await factory.read.hasRole([`0x${"0".repeat(64)}`, admin!.account.address])).to.equal(true);
    expect(await factory.read.hasRole([`0x${"0".repeat(64)}`, DEV_ADDRESS])).to.equal(false);
    expect(await factory.read.hasRole([keccak256(toBytes("VOUCHER_SIGNER_ROLE")), signer!.account.address])).to.equal(
      true,
    );
  });

  it("defaults every role to the deployer, and VOUCHER_SIGNER=none grants no signer", async () => {
    const { deployment } = await deployFromEnv(
      { RPC_URL: "http://127.0.0.1:1", DEPLOYER_PRIVATE_KEY: DEV_KEY, VOUCHER_SIGNER: "none", DEPLOYMENTS_DIR: dir },
      { transport: custom(provider) },
    );
    const factory = await viem.getContractAt("EditionFactory", deployment.factory);
    expect(getAddress(await factory.read.feeRecipient())).to.equal(DEV_ADDRESS);
    expect(await factory.read.platformFeeBps()).to.equal(0);
    expect(await factory.read.hasRole([keccak256(toBytes("VOUCHER_SIGNER_ROLE")), DEV_ADDRESS])).to.equal(false);
  });

  it("names every invalid variable before touching the network", async () => {
    try {
      await deployFromEnv({
        RPC_URL: "ftp://x",
        DEPLOYER_PRIVATE_KEY: "0x12",
        PLATFORM_FEE_BPS: "1001",
        FEE_RECIPIENT: "0xnope",
      });
      expect.fail("should have thrown");
    } catch (error) {
      expect(error).to.be.instanceOf(DeployConfigError);
      const message = (error as Error).message;
      for (const name of ["RPC_URL", "DEPLOYER_PRIVATE_KEY", "PLATFORM_FEE_BPS", "FEE_RECIPIENT"])
        expect(message).to.include(name);
    }
  });
});
