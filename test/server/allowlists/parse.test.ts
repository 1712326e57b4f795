import { expect } from "chai";
import { getAddress } from "viem";
import {
  AllowlistEntryNotFound,
  AllowlistFileInvalid,
  AllowlistNotFound,
  AllowlistRowsInvalid,
  allowlistProblem,
} from "../../../server/allowlists/errors.ts";
import { checksumHex, hasValidChecksum } from "../../../server/lib/keccak.ts";
import {
  MAX_ALLOWANCE,
  MAX_ALLOWLIST_ROWS,
  parseAllowlistCsv,
  parseAllowlistJson,
} from "../../../server/allowlists/parse.ts";
import { prng } from "../../../server/testing/chain.ts";

const A = "0x00000000000000000000000000000000000000a1";
const B = "0x00000000000000000000000000000000000000b2";
const MIXED = getAddress("0x52908400098527886e0f7030069857d2e4169ee7"); // a real EIP-55 mixed-case address
/** MIXED with the case of its first letter flipped: still mixed case, no longer a valid checksum. */
const BAD_CHECKSUM = MIXED.replace(/[a-f]/i, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
const upper = (a: string) => `0x${a.slice(2).toUpperCase()}`;

function rowErrors(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(AllowlistRowsInvalid);
    return (error as AllowlistRowsInvalid).rows.map((r) => [r.line, r.code]);
  }
  throw new Error("expected AllowlistRowsInvalid");
}

describe("allowlists: parsing uploads", () => {
  it("reads CSV with a header, quotes, CRLF, a BOM and blank lines, keeping each row's line", () => {
    const rows = parseAllowlistCsv(`\uFEFFaddress,maxQuantity\r\n"${A}", "3"\r\n\r\n${upper(MIXED)},1\r\n${B},2\n`);
    expect(rows.map((r) => [r.account, r.maxQuantity, r.line])).to.deep.equal([
      [A, 3n, 2],
      [MIXED.toLowerCase(), 1n, 4],
      [B, 2n, 5],
    ]);
  });

  it("reads CSV without a header, and accepts the largest allowance a Collection can use", () => {
    const rows = parseAllowlistCsv(`${A},${MAX_ALLOWANCE}\n${MIXED},7`);
    expect(rows.map((r) => [r.account, r.maxQuantity, r.line])).to.deep.equal([
      [A, MAX_ALLOWANCE, 1],
      [MIXED.toLowerCase(), 7n, 2],
    ]);
  });

  it("reports every bad CSV row with its line and reason, and returns nothing", () => {
    expect(BAD_CHECKSUM).to.not.equal(MIXED);
    const csv = [
      "address,maxQuantity",
      `${A},1`, // 2 ok
      `0x123,1`, // 3 bad address
      `${BAD_CHECKSUM},1`, // 4 bad checksum
      `${upper(A)},2`, // 5 duplicate of line 2, other case
      `${B},0`, // 6 zero
      `${B},-1`, // 7 negative
      `${B},1.5`, // 8 fraction
      `${B},abc`, // 9 not a number
      `${B},${MAX_ALLOWANCE + 1n}`, // 10 above the packing limit
      `${B},${"9".repeat(90)}`, // 11 far above
      `${B}`, // 12 one field
      `${B},1,extra`, // 13 three fields
      `${B},4`, // 14 ok
    ].join("\n");
    expect(rowErrors(() => parseAllowlistCsv(csv))).to.deep.equal([
      [3, "bad_address"],
      [4, "bad_checksum"],
      [5, "duplicate"],
      [6, "bad_quantity"],
      [7, "bad_quantity"],
      [8, "bad_quantity"],
      [9, "bad_quantity"],
      [10, "quantity_above_limit"],
      [11, "quantity_above_limit"],
      [12, "bad_row"],
      [13, "bad_row"],
    ]);
    try {
      parseAllowlistCsv(csv);
    } catch (error) {
      const e = error as AllowlistRowsInvalid;
      expect(e.rows.find((r) => r.line === 5)!.reason).to.include("line 2");
      expect(e.problemErrors()[0]).to.deep.equal({
        path: "body.content.line.3",
        message: e.rows[0]!.code + ": " + e.rows[0]!.reason,
      });
    }
  });

  it("reads JSON objects and pairs, with quantities as strings or integers, lines from the text", () => {
    const json = `[\n  {"address": "${A}", "maxQuantity": "3"},\n  ["${MIXED}", 2],\n\n  {"maxQuantity": 1, "address": "${B}"}\n]`;
    expect(parseAllowlistJson(json).map((r) => [r.account, r.maxQuantity, r.line])).to.deep.equal([
      [A, 3n, 2],
      [MIXED.toLowerCase(), 2n, 3],
      [B, 1n, 5],
    ]);
  });

  it("reports every bad JSON row with the line its element starts on", () => {
    const json = [
      "[",
      `  {"address": "${A}", "maxQuantity": "1"},`, // 2 ok
      `  {"address": "${A}", "maxQuantity": "1"},`, // 3 duplicate
      `  {"address": 5, "maxQuantity": "1"},`, // 4 bad address
      `  ["${B}", 1.5],`, // 5 fraction
      `  ["${B}", 1e300],`, // 6 huge number
      `  {"address": "${B}", "maxQuantity": "1", "note": "x"},`, // 7 unknown field
      `  "${B}",`, // 8 not a row
      `  ["${B}", "0"]`, // 9 zero
      "]",
    ].join("\n");
    expect(rowErrors(() => parseAllowlistJson(json))).to.deep.equal([
      [3, "duplicate"],
      [4, "bad_address"],
      [5, "bad_quantity"],
      [6, "quantity_above_limit"],
      [7, "bad_row"],
      [8, "bad_row"],
      [9, "bad_quantity"],
    ]);
  });

  it("checks EIP-55 checksums exactly as viem's getAddress computes them", () => {
    const rand = prng(55);
    for (let i = 0; i < 500; i++) {
      const lower = Array.from({ length: 40 }, () => "0123456789abcdef"[rand.int(0, 15)]).join("");
      const checksummed = getAddress(`0x${lower}`);
      expect(checksumHex(lower)).to.equal(checksummed);
      expect(hasValidChecksum(checksummed.slice(2))).to.equal(true);
      const flipped = checksummed
        .slice(2)
        .replace(/[a-f]/i, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
      if (flipped !== checksummed.slice(2)) expect(hasValidChecksum(flipped)).to.equal(false);
    }
  });

  it("reports broken CSV quoting as a bad row of its own line", () => {
    expect(rowErrors(() => parseAllowlistCsv(`${A},1\r"${B},2\r${B},"3"`))).to.deep.equal([[2, "bad_row"]]);
  });

  it("refuses files it cannot read: not JSON, not an array, empty, an unclosed CSV quote", () => {
    for (const fn of [
      () => parseAllowlistJson("{"),
      () => parseAllowlistJson(`{"address": "${A}"}`),
      () => parseAllowlistJson("[]"),
      () => parseAllowlistCsv("address,maxQuantity\n"),
      () => parseAllowlistJson(`[${"0,".repeat(MAX_ALLOWLIST_ROWS)}0]`),
    ]) {
      expect(fn).to.throw(AllowlistFileInvalid);
    }
  });

  it("maps its errors to problem+json statuses: bad rows 400 naming each line, unknown list or wallet 404", () => {
    const rows = new AllowlistRowsInvalid([{ line: 7, code: "duplicate", reason: "again" }]);
    expect(allowlistProblem(rows)).to.deep.include({
      status: 400,
      errors: [{ path: "body.content.line.7", message: "duplicate: again" }],
    });
    expect(allowlistProblem(new AllowlistFileInvalid("empty"))?.status).to.equal(400);
    expect(allowlistProblem(new AllowlistNotFound("x"))?.status).to.equal(404);
    expect(allowlistProblem(new AllowlistEntryNotFound("x", A))?.status).to.equal(404);
    expect(allowlistProblem(new Error("other"))).to.equal(undefined);
  });
});
