/**
 * COPY text, the fastest way into PostgreSQL (several times an INSERT of the same rows): the encoder that writes
 * rows straight into reused ~1 MB buffers, and the COPY itself. Guarantees: every value it writes is valid COPY text
 * (escaped, or validated hex/decimal written as it is), and a row stored twice fails the whole transaction.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { HEX_LOWER } from "../log-scan.ts";
import type { Amount } from "./balance-moves.ts";
import { IndexInvariantError } from "./model.ts";

/** COPY text format: backslash, tab, newline and carriage return escaped. */
export function copyValue(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r")
    : text;
}

/**
 * Spare COPY buffers. A batch's buffers come back here once PostgreSQL has them (see PreparedBatch.recycle): 50 MB of
 * fresh buffers per 100k events would each count as new external memory, and V8 answers that with full garbage
 * collections on both threads.
 */
const spareCopyBuffers: ArrayBuffer[] = [];
const COPY_BUFFER_SIZE = 1 << 20;

/** Takes back the buffers of COPY chunks that were written (those of the standard size; at most 32 are kept). */
export function recycleCopyChunks(chunks: ArrayBufferLike[]) {
  for (const buffer of chunks) {
    if (buffer.byteLength === COPY_BUFFER_SIZE && spareCopyBuffers.length < 32 && buffer instanceof ArrayBuffer)
      spareCopyBuffers.push(buffer);
  }
}

/**
 * COPY text, built outside the transaction (see prepareBatch) straight into Buffers of about 1 MB. Every value
 * written is ASCII (hex, decimal, ISO times, escaped ASCII JSON), so each is copied in as latin1: no per-row
 * strings to concatenate, join or UTF-8 encode, which at 100k rows per second is most of the cost of a row.
 */
export class CopyWriter {
  private static readonly SIZE = COPY_BUFFER_SIZE;
  private readonly done: Buffer[] = [];
  private buffer = Buffer.allocUnsafe(CopyWriter.SIZE);
  private at = 0;
  /** Starts a row; `room` is an upper bound of its length in bytes. */
  row(room: number) {
    if (this.at + room + 1 > this.buffer.length) {
      if (this.at > 0) this.done.push(this.buffer.subarray(0, this.at));
      const spare = room + 1 <= CopyWriter.SIZE ? spareCopyBuffers.pop() : undefined;
      this.buffer = spare ? Buffer.from(spare) : Buffer.allocUnsafe(Math.max(CopyWriter.SIZE, room + 1));
      this.at = 0;
    }
    return this;
  }
  /** An ASCII value that needs no escaping (validated hex, numbers), followed by a tab. */
  value(text: string) {
    this.at += this.buffer.write(text, this.at, "latin1");
    this.buffer[this.at++] = 9;
    return this;
  }
  /** The last value of the row (ASCII, already escaped), then the end of the row. */
  last(text: string) {
    this.at += this.buffer.write(text, this.at, "latin1");
    this.buffer[this.at++] = 10;
  }
  /** ASCII text, no separator. */
  text(text: string) {
    this.at += this.buffer.write(text, this.at, "latin1");
    return this;
  }
  /** Constant bytes, no separator. */
  bytes(bytes: Buffer) {
    this.at += bytes.copy(this.buffer, this.at);
    return this;
  }
  tab() {
    this.buffer[this.at++] = 9;
    return this;
  }
  end() {
    this.buffer[this.at++] = 10;
  }
  /** `length` bytes of `src` from `start`, as they are (checked hex from log-scan.ts). */
  raw(src: Buffer, start: number, length: number) {
    const b = this.buffer;
    let at = this.at;
    for (let i = start, end = start + length; i < end; i++) b[at++] = src[i]!;
    this.at = at;
    return this;
  }
  /** `0x` and `digits` hex digits of `src` from `start` (already checked as hex by log-scan.ts), lowercased. */
  hex(src: Buffer, start: number, digits: number) {
    const b = this.buffer;
    let at = this.at;
    b[at++] = 48;
    b[at++] = 120;
    for (let i = start, end = start + digits; i < end; i++) b[at++] = HEX_LOWER[src[i]!]!;
    this.at = at;
    return this;
  }
  /** A non-negative integer below 2^53, in decimal. */
  decimal(n: number) {
    const b = this.buffer;
    if (n < 10) {
      b[this.at++] = 48 + n;
      return this;
    }
    if (n < 100) {
      // Log indexes, token ids and amounts are mostly this small.
      const tens = (n / 10) | 0;
      b[this.at++] = 48 + tens;
      b[this.at++] = 48 + n - tens * 10;
      return this;
    }
    const digits = n < 1e15 ? Math.floor(Math.log10(n)) + 1 : String(n).length;
    // log10 can be off by one next to powers of ten: correct it.
    let width = digits;
    if (n >= 10 ** width) width++;
    else if (n < 10 ** (width - 1)) width--;
    let at = this.at + width;
    this.at = at;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      b[--at] = 48 + (n - q * 10);
      n = q;
    }
    b[at - 1] = 48 + n;
    return this;
  }
  amount(a: Amount) {
    return typeof a === "number" ? this.decimal(a) : this.text(a.toString());
  }
  /** Amounts as the items of a JSON array of strings: `"1","2"`. */
  amounts(list: Amount[]) {
    for (let i = 0; i < list.length; i++)
      this.text(i > 0 ? ',"' : '"')
        .amount(list[i]!)
        .text('"');
    return this;
  }
  chunks(): Buffer[] {
    if (this.at > 0) this.done.push(this.buffer.subarray(0, this.at));
    this.at = 0;
    this.buffer = Buffer.allocUnsafe(0);
    return this.done;
  }
}

/**
 * JSON text that is pure ASCII: characters beyond it become \uXXXX escapes, which jsonb reads back as the same text.
 * NUL, which jsonb refuses, becomes U+FFFD, so one odd string in an event cannot stop the indexer.
 */
export function asciiJson(value: unknown): string {
  let json = JSON.stringify(value);
  if (json.includes("\\u0000"))
    json = JSON.stringify(value, (_key, v: unknown) => (typeof v === "string" ? v.replaceAll("\0", "\ufffd") : v));
  // eslint-disable-next-line no-control-regex -- the ASCII range, control characters included, is the point here
  if (!/[^\x00-\x7f]/.test(json)) return json;
  // eslint-disable-next-line no-control-regex -- as above
  return json.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Appends rows with COPY, the fastest way into PostgreSQL (several times an INSERT of the same rows). No ON
 * CONFLICT: the checkpoint guard means none of these rows can exist yet, and if one does, the primary key fails the
 * whole transaction rather than letting an event count twice.
 */
export async function copyRows(tx: pg.PoolClient, table: string, columns: string[], chunks: Buffer[]) {
  if (chunks.length === 0) return;
  const stream = tx.query(copyFrom(`COPY ${table} (${columns.join(", ")}) FROM STDIN`));
  try {
    await pipeline(Readable.from(chunks), stream);
  } catch (error) {
    if ((error as { code?: string }).code === "23505") {
      throw new IndexInvariantError(
        `${table}: a row of this batch was already stored above the checkpoint (${(error as Error).message}).`,
      );
    }
    throw error;
  }
}
