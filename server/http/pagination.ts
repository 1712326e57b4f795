import { z } from "zod";
import { HttpProblem, problemTitle } from "./problem.ts";

/** A query parameter's value: one string. A repeated parameter (`?limit=1&limit=2`) arrives as an array. */
export const queryValue = () =>
  z.string({ error: (issue) => (Array.isArray(issue.input) ? "must be given once" : "must be a string") });

/** `limit`: plain decimal digits only (not 0x10, 1e2, +5 or 1.0), from 1 to 500, default 50. */
export const limitSchema = queryValue()
  .regex(/^[0-9]{1,6}$/, "must be a decimal integer from 1 to 500")
  .transform(Number)
  .pipe(
    z
      .number()
      .int()
      .min(1, "must be a decimal integer from 1 to 500")
      .max(500, "must be a decimal integer from 1 to 500"),
  );

/** An opaque cursor: base64url, as encodeCursor writes it. */
export const cursorSchema = queryValue()
  .max(1024, "not a cursor this list returned")
  .regex(/^[A-Za-z0-9_-]+$/, "not a cursor this list returned");

/**
 * `?limit=&cursor=` as in API-CONVENTIONS.md: default 50, max 500, opaque base64url cursor. Strict: any other
 * parameter is a 400 naming it. A route with more parameters extends it (`pageQuerySchema.extend({...})`).
 */
export const pageQuerySchema = z.strictObject({
  limit: limitSchema.optional().transform((v) => v ?? 50),
  cursor: cursorSchema.optional(),
});

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** Largest value of a PostgreSQL bigint (block numbers). */
export const MAX_BIGINT = 2n ** 63n - 1n;

/** Pieces of cursor keys, each range-checked so that nothing decoded from a cursor can overflow a column. */
export const cursorPart = {
  /** A block number: decimal, at most 2^63 − 1 (PostgreSQL bigint). */
  blockNumber: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,18})$/)
    .transform((v) => BigInt(v))
    .refine((v) => v <= MAX_BIGINT),
  /** A uint256 (token ids, amounts): decimal, below 2^256 (numeric(78)). */
  uint256: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,77})$/)
    .transform((v) => BigInt(v))
    .refine((v) => v < 2n ** 256n),
  /** An address as stored: lower-case hex. */
  address: z.string().regex(/^0x[0-9a-f]{40}$/),
};

/** Decodes a cursor made by encodeCursor; a forged or stale cursor is a 400 naming `query.cursor`. */
export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, schema: S): z.infer<S> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  throw new HttpProblem(400, problemTitle(400), "query.cursor: not a cursor this list returned", [
    { path: "query.cursor", message: "not a cursor this list returned" },
  ]);
}
