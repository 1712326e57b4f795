/**
 * Binding a referee to its referrer, once. Two ways, whichever comes first:
 * - at the wallet's first sign-in ever, with a referral code (`bindAtSignIn`), if no mint of the wallet is indexed
 *   yet;
 * - by the `referrer` of the wallet's first mint, when the referral-conversions consumer reads it (conversions.ts).
 * The referee is the primary key of `referral`, so a second binding of any kind changes nothing, and a check refuses
 * a wallet referring itself.
 */
import type pg from "pg";
import { inTransaction } from "../database/transaction.ts";
import { walletOfCode } from "./codes.ts";

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** Why a sign-in's code bound nothing. */
export type SignInRefusal =
  "unknown_code" | "self_referral" | "not_first_sign_in" | "already_minted" | "already_bound" | "mutual_referral";

export type SignInBinding = { bound: true; referrer: string } | { bound: false; reason: SignInRefusal };

/**
 * Whether a Minted event with `wallet` as its recipient is indexed (a sale or a voucher mint): read from the indexer's
 * events, so a mint the consumer has not read yet counts. A mint's TransferSingle (from the zero address) is followed
 * by its Minted event in the next log; the condition is said in the words of the partial per-wallet index.
 */
export async function hasIndexedMint(db: pg.Pool | pg.PoolClient, chainId: number, wallet: string) {
  const { rows } = await db.query<{ minted: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM chain_event t
       JOIN chain_event m ON m.chain_id = t.chain_id AND m.block_number = t.block_number AND m.log_index = t.log_index + 1
                         AND m.address = t.address AND m.name = 'Minted'
       WHERE t.chain_id = $1 AND t.to_address = $2 AND t.to_address <> '${ZERO_ADDRESS}' AND t.name = 'TransferSingle'
         AND t.from_address = '${ZERO_ADDRESS}'
     ) OR EXISTS (SELECT 1 FROM referral_first_mint WHERE chain_id = $1 AND wallet = $2) AS minted`,
    [chainId, wallet],
  );
  return rows[0]!.minted;
}

/**
 * Inserts a binding unless the referee is bound already or the referrer is itself bound to the referee (two wallets
 * referring each other). Returns whether it bound.
 */
export async function insertBinding(
  tx: pg.PoolClient,
  binding: {
    referee: string;
    referrer: string;
    source: "sign_in" | "mint";
    code?: string;
    boundFactKey?: string;
    boundAt: Date;
  },
): Promise<"bound" | "already_bound" | "mutual_referral"> {
  const mutual = await tx.query("SELECT 1 FROM referral WHERE referee = $1 AND referrer = $2", [
    binding.referrer,
    binding.referee,
  ]);
  if (mutual.rowCount) return "mutual_referral";
  const { rowCount } = await tx.query(
    `INSERT INTO referral (referee, referrer, source, code, bound_fact_key, bound_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (referee) DO NOTHING`,
    [
      binding.referee,
      binding.referrer,
      binding.source,
      binding.code ?? null,
      binding.boundFactKey ?? null,
      binding.boundAt,
    ],
  );
  return rowCount === 1 ? "bound" : "already_bound";
}

/**
 * What POST /v1/auth/verify calls when the sign-in carries a referral code: binds the wallet to the code's owner if
 * this is the wallet's first sign-in ever (the auth module knows) and no mint of the wallet is indexed. Never fails
 * the sign-in: a code that binds nothing says why.
 */
export async function bindAtSignIn(
  db: pg.Pool,
  chainId: number,
  input: { wallet: string; code: string; firstSignIn: boolean },
): Promise<SignInBinding> {
  const wallet = input.wallet.toLowerCase();
  const referrer = await walletOfCode(db, input.code);
  if (referrer === null) return { bound: false, reason: "unknown_code" };
  if (referrer === wallet) return { bound: false, reason: "self_referral" };
  if (!input.firstSignIn) return { bound: false, reason: "not_first_sign_in" };
  return inTransaction(db, async (tx) => {
    // A mint the indexer commits between this check and the insert is read by the consumer later: it finds the
    // binding (recorded first) and converts it.
    if (await hasIndexedMint(tx, chainId, wallet)) return { bound: false, reason: "already_minted" } as const;
    const outcome = await insertBinding(tx, {
      referee: wallet,
      referrer,
      source: "sign_in",
      code: input.code.toUpperCase(),
      boundAt: new Date(),
    });
    return outcome === "bound" ? { bound: true, referrer } : { bound: false, reason: outcome };
  });
}
