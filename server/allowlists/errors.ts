import { HttpProblem } from "../http/problem.ts";

/**
 * The allowlist module's errors. Each is a plain class the route layer maps to problem+json; the status each maps
 * to is on the class (`status`), so the mapping lives in one place and is tested.
 */

/** Why one row of an upload was refused. */
export type AllowlistRowErrorCode =
  "bad_row" | "bad_address" | "bad_checksum" | "duplicate" | "bad_quantity" | "quantity_above_limit";

/** One refused row: its line in the uploaded text (1-based), a machine-readable code and a sentence for people. */
export type AllowlistRowError = { line: number; code: AllowlistRowErrorCode; reason: string };

/** Some rows of an upload are bad: every one is listed, and nothing was stored. → 400 */
export class AllowlistRowsInvalid extends Error {
  readonly status = 400;
  readonly rows: AllowlistRowError[];
  constructor(rows: AllowlistRowError[]) {
    super(
      `${rows.length} row${rows.length === 1 ? "" : "s"} of the allowlist ${rows.length === 1 ? "is" : "are"} invalid ` +
        `(first: line ${rows[0]?.line}: ${rows[0]?.reason}); nothing was stored. Fix every listed row and upload again.`,
    );
    this.name = "AllowlistRowsInvalid";
    this.rows = rows;
  }
  /** The problem+json `errors` entries: one per row, `path` naming the line. */
  problemErrors(): { path: string; message: string }[] {
    return this.rows.map((r) => ({ path: `body.content.line.${r.line}`, message: `${r.code}: ${r.reason}` }));
  }
}

/** The upload as a whole cannot be read (not CSV/JSON of the documented shape, empty, too many rows). → 400 */
export class AllowlistFileInvalid extends Error {
  readonly status = 400;
  /** The line the problem was found on, when there is one. */
  readonly line: number | undefined;
  constructor(reason: string, line?: number) {
    super(line === undefined ? reason : `line ${line}: ${reason}`);
    this.name = "AllowlistFileInvalid";
    this.line = line;
  }
}

/** No allowlist with this id (on this chain). → 404 */
export class AllowlistNotFound extends Error {
  readonly status = 404;
  readonly allowlistId: string;
  constructor(allowlistId: string) {
    super(`No allowlist ${allowlistId}.`);
    this.name = "AllowlistNotFound";
    this.allowlistId = allowlistId;
  }
}

/** The wallet is not on this allowlist (so it has no proof). → 404 */
export class AllowlistEntryNotFound extends Error {
  readonly status = 404;
  readonly allowlistId: string;
  readonly address: string;
  constructor(allowlistId: string, address: string) {
    super(`${address} is not on allowlist ${allowlistId}.`);
    this.name = "AllowlistEntryNotFound";
    this.allowlistId = allowlistId;
    this.address = address;
  }
}

/**
 * The problem+json answer for an allowlist error (undefined for any other error), for the route layer's error
 * mapping: bad rows are a 400 whose `errors` name each line.
 */
export function allowlistProblem(error: unknown): HttpProblem | undefined {
  if (error instanceof AllowlistRowsInvalid)
    return new HttpProblem(400, "Invalid allowlist", error.message, error.problemErrors());
  if (error instanceof AllowlistFileInvalid) {
    return new HttpProblem(400, "Invalid allowlist", error.message, [{ path: "body.content", message: error.message }]);
  }
  if (error instanceof AllowlistNotFound) return new HttpProblem(404, "Unknown allowlist", error.message);
  if (error instanceof AllowlistEntryNotFound) return new HttpProblem(404, "Not on the allowlist", error.message);
  return undefined;
}
