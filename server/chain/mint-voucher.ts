import type { Account, Address, Chain, Hex, Transport, WalletClient } from "viem";

/**
 * A voucher as the Collection contract's `mintWithVoucher` takes it. `price` is the total for the voucher, in wei.
 * `signerEpoch` is the signer's epoch when it signs (`factory.voucherSignerEpoch(signer)`, read just before
 * signing): revoking the signer's role ends the epoch, so the voucher stays dead even if the role is granted again.
 */
export type MintVoucher = {
  recipient: Address;
  edition: bigint;
  quantity: bigint;
  price: bigint;
  id: bigint;
  deadline: bigint;
  signerEpoch: bigint;
};

/** The EIP-712 types of a MintVoucher; they must match `MINT_VOUCHER_TYPEHASH` in contracts/Collection.sol. */
export const mintVoucherTypes = {
  MintVoucher: [
    { name: "recipient", type: "address" },
    { name: "edition", type: "uint256" },
    { name: "quantity", type: "uint256" },
    { name: "price", type: "uint256" },
    { name: "id", type: "uint256" },
    { name: "deadline", type: "uint256" },
    { name: "signerEpoch", type: "uint256" },
  ],
} as const;

/** The EIP-712 domain of a collection: vouchers are valid for one collection on one chain. */
export function mintVoucherDomain(collection: Address, chainId: number) {
  return { name: "Perkmint Collection", version: "1", chainId, verifyingContract: collection } as const;
}

/**
 * Signs a voucher with a platform voucher signer's wallet. Pass the result to
 * `collection.mintWithVoucher([voucher, chainId, signature])`.
 */
export async function signMintVoucher(
  signer: WalletClient<Transport, Chain | undefined, Account>,
  { collection, chainId, voucher }: { collection: Address; chainId: number; voucher: MintVoucher },
): Promise<Hex> {
  return signer.signTypedData({
    account: signer.account,
    domain: mintVoucherDomain(collection, chainId),
    types: mintVoucherTypes,
    primaryType: "MintVoucher",
    message: voucher,
  });
}
