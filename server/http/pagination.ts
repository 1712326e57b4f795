import { z } from "zod";
import { HttpProblem } from "./problem.ts";

/** `?limit=&cursor=` as in API-CONVENTIONS.md: default 50, max 500, opaque base64url cursor. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(1024).optional(),
});

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** Decodes a cursor made by encodeCursor; a forged or stale cursor is a 400 naming `query.cursor`. */
export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, schema: S): z.infer<S> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  throw new HttpProblem(400, "Invalid request", "query.cursor: not a cursor this list returned", [
    { path: "query.cursor", message: "not a cursor this list returned" },
  ]);
}
