/**
 * Referral codes: 8 characters from an alphabet without the characters people confuse (0/O, 1/I/L), so a code read
 * aloud or copied from a screen survives. 31^8 ≈ 8.5 × 10^11 codes; each wallet gets one, made on first need, and a
 * collision (rare) is retried with a fresh code.
 */
import { randomInt } from "node:crypto";
import type pg from "pg";

/** Digits 2–9 and A–Z without I, L and O. */
export const CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
export const CODE_LENGTH = 8;
/** A code as typed: either case (normalised to upper case before it is looked up). */
export const CODE_PATTERN = /^[2-9A-HJKMNP-Za-hjkmnp-z]{8}$/;

export function generateCode(): string {
  let code = "";
  // randomInt is uniform (no modulo bias).
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

const UNIQUE_VIOLATION = "23505";

/** The wallet's code, made now if it has none. Safe under concurrency: two first calls agree on one code. */
export async function ensureReferralCode(db: pg.Pool | pg.PoolClient, wallet: string): Promise<string> {
  const key = wallet.toLowerCase();
  for (let attempt = 0; ; attempt++) {
    const existing = await db.query<{ code: string }>("SELECT code FROM referral_code WHERE wallet = $1", [key]);
    if (existing.rows[0]) return existing.rows[0].code;
    try {
      await db.query("INSERT INTO referral_code (wallet, code) VALUES ($1, $2) ON CONFLICT (wallet) DO NOTHING", [
        key,
        generateCode(),
      ]);
    } catch (error) {
      // Another wallet holds this code: draw again.
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION || attempt >= 5) throw error;
    }
  }
}

/** The wallet a code belongs to (lower-case), or null for an unknown code. */
export async function walletOfCode(db: pg.Pool | pg.PoolClient, code: string): Promise<string | null> {
  const { rows } = await db.query<{ wallet: string }>("SELECT wallet FROM referral_code WHERE code = $1", [
    code.toUpperCase(),
  ]);
  return rows[0]?.wallet ?? null;
}
