/**
 * The platform's voucher signer: signs redemption vouchers with VOUCHER_SIGNER_KEY. The key stays inside this
 * closure: it is never logged, never put in an error, never returned. A voucher is valid only in the signer's current
 * on-chain epoch (`factory.voucherSignerEpoch`), read from the chain and cached briefly; epoch 0 means the key lost
 * its VOUCHER_SIGNER_ROLE, and redemptions pause (503) rather than hand out vouchers that cannot mint.
 */
import { parseAbi, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { mintVoucherDomain, mintVoucherTypes, type MintVoucher } from "../chain/mint-voucher.ts";
import { HttpProblem, problemTitle, RETRY_AFTER_SECONDS } from "../http/problem.ts";

export type VoucherSigner = {
  address: Address;
  /** The signer and its current epoch; a 503 problem when it is not a voucher signer on-chain or the chain is down. */
  current(): Promise<{ address: Address; epoch: bigint }>;
  sign(collection: Address, voucher: MintVoucher): Promise<Hex>;
};

const factoryAbi = parseAbi(["function voucherSignerEpoch(address signer) view returns (uint256)"]);

const unavailable = (detail: string) =>
  new HttpProblem(503, problemTitle(503), detail, undefined, { "retry-after": String(RETRY_AFTER_SECONDS) });

export function createVoucherSigner(options: {
  privateKey: Hex;
  chainId: number;
  factory: Address;
  publicClient: PublicClient;
  /** How long an epoch read from the chain is trusted (default 15 s). */
  cacheMs?: number;
}): VoucherSigner {
  const account = privateKeyToAccount(options.privateKey);
  const cacheMs = options.cacheMs ?? 15_000;
  let cached: { epoch: bigint; at: number } | undefined;
  return {
    address: account.address,
    async current() {
      if (!cached || Date.now() - cached.at > cacheMs) {
        const epoch = await options.publicClient
          .readContract({
            address: options.factory,
            abi: factoryAbi,
            functionName: "voucherSignerEpoch",
            args: [account.address],
          })
          .catch(() => {
            throw unavailable("The chain did not answer; redemptions resume when it does.");
          });
        cached = { epoch, at: Date.now() };
      }
      if (cached.epoch === 0n)
        throw unavailable(
          `The platform's voucher signer ${account.address} holds no VOUCHER_SIGNER_ROLE on the factory; redemptions are paused until an admin grants it.`,
        );
      return { address: account.address, epoch: cached.epoch };
    },
    sign: (collection, voucher) =>
      account.signTypedData({
        domain: mintVoucherDomain(collection, options.chainId),
        types: mintVoucherTypes,
        primaryType: "MintVoucher",
        message: voucher,
      }),
  };
}
