import { parse as parseCsv } from "csv-parse/sync";
import { AllowlistFileInvalid, AllowlistRowsInvalid, type AllowlistRowError } from "./errors.ts";
import { hasValidChecksum } from "../lib/keccak.ts";

/**
 * The largest allowance the Collection can honour: an edition's max supply is a `uint32`, and what a wallet minted
 * in a phase is a 32-bit counter in its holder word (docs/contracts.md, Storage layout). A leaf with more could
 * never be used up, so it is refused as a mistake rather than stored.
 */
export const MAX_ALLOWANCE = 2n ** 32n - 1n;

/** Most rows one upload may have (about 9 MB of CSV). */
export const MAX_ALLOWLIST_ROWS = 500_000;

/** One good row: `account` lowercase (the tree and the table key), `checksummed` for answers. */
export type AllowlistRow = { account: `0x${string}`; maxQuantity: bigint; line: number };

export type AllowlistFormat = "csv" | "json";

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const DIGITS = /^[0-9]+$/;
const ADDRESS_HEADERS = new Set(["address", "wallet", "account"]);
const QUANTITY_HEADERS = new Set(["maxquantity", "max_quantity", "quantity", "allowance", "amount"]);

/**
 * Checks rows one by one, collecting every problem, so an upload with many mistakes is answered once with all of
 * them rather than one per attempt.
 */
class RowChecker {
  readonly rows: AllowlistRow[] = [];
  readonly errors: AllowlistRowError[] = [];
  private readonly seen = new Map<string, number>();

  check(line: number, address: unknown, quantity: unknown) {
    const account = this.checkAddress(line, address);
    const maxQuantity = this.checkQuantity(line, quantity);
    if (account === undefined || maxQuantity === undefined) return;
    const first = this.seen.get(account);
    if (first !== undefined) {
      this.errors.push({
        line,
        code: "duplicate",
        reason: `${String(address)} is already on line ${first} (addresses are compared in any case)`,
      });
      return;
    }
    this.seen.set(account, line);
    this.rows.push({ account, maxQuantity, line });
  }

  private checkAddress(line: number, value: unknown): `0x${string}` | undefined {
    const text = typeof value === "string" ? value.trim() : undefined;
    if (text === undefined || !HEX_ADDRESS.test(text)) {
      this.errors.push({
        line,
        code: "bad_address",
        reason: `${describe(value)} is not a 0x-prefixed 20-byte hex address`,
      });
      return undefined;
    }
    const hex = text.slice(2);
    // All-lowercase and all-uppercase carry no checksum; mixed case must be EIP-55 (a typo then shows).
    const lower = hex.toLowerCase();
    if (hex !== lower && hex !== hex.toUpperCase() && !hasValidChecksum(hex)) {
      this.errors.push({
        line,
        code: "bad_checksum",
        reason: `${text} is mixed case but not a valid EIP-55 checksum (a typo?)`,
      });
      return undefined;
    }
    return `0x${lower}`;
  }

  private checkQuantity(line: number, value: unknown): bigint | undefined {
    let quantity: bigint | undefined;
    if (typeof value === "string" && DIGITS.test(value.trim())) {
      const digits = value.trim();
      // Anything longer than 20 digits is above the limit anyway; no need to build a huge BigInt.
      quantity = digits.replace(/^0+/, "").length > 20 ? MAX_ALLOWANCE + 1n : BigInt(digits);
    } else if (typeof value === "number" && Number.isInteger(value)) {
      quantity = Number.isSafeInteger(value) ? BigInt(value) : MAX_ALLOWANCE + 1n;
    }
    if (quantity === undefined || quantity === 0n) {
      this.errors.push({
        line,
        code: "bad_quantity",
        reason: `max quantity ${describe(value)} is not a positive integer`,
      });
      return undefined;
    }
    if (quantity > MAX_ALLOWANCE) {
      this.errors.push({
        line,
        code: "quantity_above_limit",
        reason: `max quantity ${describe(value)} is above ${MAX_ALLOWANCE}, the most a Collection can mint to one wallet in a phase`,
      });
      return undefined;
    }
    return quantity;
  }

  finish(): AllowlistRow[] {
    if (this.errors.length > 0) throw new AllowlistRowsInvalid(this.errors.sort((a, b) => a.line - b.line));
    if (this.rows.length === 0) throw new AllowlistFileInvalid("the allowlist has no rows");
    return this.rows;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "(missing)";
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The fields of one CSV line: split at commas when it has no quotes (nearly always), else read by csv-parse. */
function csvFields(line: string): string[] | undefined {
  if (!line.includes('"')) return line.split(",").map((f) => f.trim());
  try {
    const records: string[][] = parseCsv(line, { trim: true, relax_column_count: true });
    return records[0] ?? [];
  } catch {
    return undefined;
  }
}

/**
 * Parses a CSV allowlist: one `address,maxQuantity` per line, an optional header line (`address,maxQuantity`;
 * also wallet/account and quantity/allowance/amount), fields optionally double-quoted, LF, CRLF or CR, a UTF-8 BOM
 * allowed, blank lines skipped. Throws {@link AllowlistRowsInvalid} listing every bad row, or
 * {@link AllowlistFileInvalid}. A field never holds a line break (no address or number does), so each line is one
 * row, read on its own: its line number is exact, and a broken line is one bad row, not an unreadable file.
 */
export function parseAllowlistCsv(content: string): AllowlistRow[] {
  const lines = content.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  const checker = new RowChecker();
  let first = true;
  let rows = 0;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (text.trim() === "") continue;
    const line = i + 1;
    const fields = csvFields(text);
    if (first) {
      first = false;
      if (
        fields &&
        ADDRESS_HEADERS.has((fields[0] ?? "").toLowerCase()) &&
        QUANTITY_HEADERS.has((fields[1] ?? "").toLowerCase())
      )
        continue;
    }
    if (++rows > MAX_ALLOWLIST_ROWS) throw new AllowlistFileInvalid(`more than ${MAX_ALLOWLIST_ROWS} rows`);
    if (fields === undefined) {
      checker.errors.push({
        line,
        code: "bad_row",
        reason: "unreadable CSV quoting (an unclosed or stray double quote?)",
      });
    } else if (fields.length !== 2) {
      checker.errors.push({
        line,
        code: "bad_row",
        reason: `expected 2 fields (address,maxQuantity), found ${fields.length}`,
      });
    } else {
      checker.check(line, fields[0], fields[1]);
    }
  }
  return checker.finish();
}

/**
 * The line (1-based) on which each element of a top-level JSON array starts. JSON strings hold no raw newlines,
 * so counting newlines while skipping over strings is exact.
 */
function arrayElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
    } else if (c === 34) {
      if (depth === 1 && expectElement) {
        lines.push(line);
        expectElement = false;
      }
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92) i++;
    } else if (c !== 32 && c !== 9 && c !== 13) {
      if (depth === 1 && expectElement && c !== 93) {
        lines.push(line);
        expectElement = false;
      }
      if (c === 91 || c === 123) {
        depth++;
        if (depth === 1) expectElement = true;
      } else if (c === 93 || c === 125) {
        depth--;
      } else if (c === 44 && depth === 1) {
        expectElement = true;
      }
    }
  }
  return lines;
}

/**
 * Parses a JSON allowlist: an array whose elements are `{ "address": "0x…", "maxQuantity": "5" }` (the quantity a
 * string of digits or a JSON integer) or `["0x…", "5"]`. Each row's line is the line its element starts on.
 */
export function parseAllowlistJson(content: string): AllowlistRow[] {
  let data: unknown;
  try {
    data = JSON.parse(content.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new AllowlistFileInvalid(`not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(data)) {
    throw new AllowlistFileInvalid(
      'expected a JSON array of {"address", "maxQuantity"} objects or [address, maxQuantity] pairs',
    );
  }
  if (data.length > MAX_ALLOWLIST_ROWS) throw new AllowlistFileInvalid(`more than ${MAX_ALLOWLIST_ROWS} rows`);
  const lines = arrayElementLines(content);
  const checker = new RowChecker();
  data.forEach((element: unknown, i) => {
    const line = lines[i] ?? i + 1;
    if (Array.isArray(element) && element.length === 2) {
      checker.check(line, element[0], element[1]);
    } else if (element !== null && typeof element === "object" && !Array.isArray(element)) {
      const { address, maxQuantity, ...rest } = element as Record<string, unknown>;
      const extra = Object.keys(rest);
      if (extra.length > 0) {
        checker.errors.push({
          line,
          code: "bad_row",
          reason: `unknown field ${JSON.stringify(extra[0])} (expected address and maxQuantity)`,
        });
      } else {
        checker.check(line, address, maxQuantity);
      }
    } else {
      checker.errors.push({
        line,
        code: "bad_row",
        reason: 'expected {"address", "maxQuantity"} or [address, maxQuantity]',
      });
    }
  });
  return checker.finish();
}

export function parseAllowlist(content: string, format: AllowlistFormat): AllowlistRow[] {
  return format === "csv" ? parseAllowlistCsv(content) : parseAllowlistJson(content);
}
