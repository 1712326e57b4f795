import { isAscii } from "node:buffer";
import https from "node:https";
import type { Logger } from "pino";
import { postOverSocket } from "./http-post.ts";
import { latin1, scanBatchAnswer, type BatchItemSpan, type ValueReader } from "./log-scan.ts";

/**
 * A small JSON-RPC client for the indexer's hot path: several URLs with fallback, a timeout per call, retries with
 * capped exponential backoff and jitter on every transient fault (network errors, timeouts, 429, 5xx, malformed or
 * truncated JSON, missing answers in a batch), and JSON-RPC batching. It never returns a partial answer: a call
 * either yields every result it asked for or throws after `maxAttempts`.
 */

export type RpcRequest = { method: string; params: unknown[] };

export type RpcClientOptions = {
  urls: string[];
  /** Per HTTP request. */
  timeoutMs?: number;
  /** Attempts per call before giving up (the indexer's loop retries again after that). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  logger?: Logger;
  /** Called on every failed attempt (metrics). */
  onFault?: (kind: string) => void;
  /** Called with each completed HTTP request's duration (metrics). */
  onRequest?: (method: string, seconds: number) => void;
};

/** An error answer from the node itself (not a transport fault). `code` and `message` come from the node. */
export class RpcResponseError extends Error {
  readonly method: string;
  readonly code: number;
  readonly rpcMessage: string;
  readonly data?: unknown;
  constructor(method: string, code: number, rpcMessage: string, data?: unknown) {
    super(`${method} failed: ${rpcMessage} (code ${code})`);
    this.method = method;
    this.code = code;
    this.rpcMessage = rpcMessage;
    this.data = data;
    this.name = "RpcResponseError";
  }
}

/** The node refused a log query as too large (too many results, or a block range limit). Shrink the range. */
export function isRangeTooLarge(error: unknown): boolean {
  if (!(error instanceof RpcResponseError)) return false;
  const m = error.rpcMessage.toLowerCase();
  return error.code === -32005 || /too many|limit exceeded|range|response size|query returned more than|exceed/.test(m);
}

class TransientRpcError extends Error {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.kind = kind;
    this.name = "TransientRpcError";
  }
}

/** The node could not be reached or kept failing (after every retry), or answered with an error of its own. */
export function isRpcFault(error: unknown): boolean {
  return error instanceof TransientRpcError || error instanceof RpcResponseError;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Keep-alive connections to https nodes, reused across calls (plain-http nodes go through http-post.ts). node:https
// rather than fetch: on the hot path (megabytes of logs per second) fetch's web streams cost a large share of the CPU.
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 32 });

class RequestTimeoutError extends Error {
  constructor(ms: number) {
    super(`no complete answer within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

/**
 * Receive buffers, reused: a getLogs answer is megabytes, and a fresh buffer for each one costs page faults and a
 * zeroing pass by the kernel on top of the copy. At most a few are kept (one per request in flight).
 */
const spareBuffers: Buffer[] = [];

/**
 * Gives an answer's buffer back for reuse, once nothing reads it any more (see BatchResultReader). An answer that is
 * never released is simply collected.
 */
export function releaseAnswer(bytes: Buffer) {
  // Only whole buffers of our own (1 MB and up) are kept, never a slice of Node's shared pool.
  if (bytes.buffer.byteLength < RECEIVE_BUFFER_SIZE || spareBuffers.length >= 4) return;
  if (spareBuffers.some((b) => b.buffer === bytes.buffer)) return;
  spareBuffers.push(Buffer.from(bytes.buffer, 0, bytes.buffer.byteLength));
}
const RECEIVE_BUFFER_SIZE = 1 << 20;

type HttpAnswer = { status: number; bytes: Buffer };

const parsedUrls = new Map<string, URL>();

/**
 * POSTs `body`; resolves with the status and the answer's bytes; rejects on network errors, cut answers and
 * timeouts. Plain-http nodes are read through http-post.ts (one reused buffer per socket), https ones via node:https.
 */
function httpPost(url: string, body: string, timeoutMs: number): Promise<HttpAnswer> {
  let target = parsedUrls.get(url);
  if (!target) parsedUrls.set(url, (target = new URL(url)));
  if (target.protocol === "http:") {
    const buffer = spareBuffers.pop() ?? Buffer.allocUnsafe(RECEIVE_BUFFER_SIZE);
    return postOverSocket(target, body, timeoutMs, buffer).catch((error: unknown) => {
      releaseAnswer(buffer);
      throw error;
    });
  }
  return httpsPost(target, body, timeoutMs);
}

function httpsPost(target: URL, body: string, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      target,
      {
        method: "POST",
        agent: httpsAgent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (response) => {
        let buffer = spareBuffers.pop() ?? Buffer.allocUnsafe(RECEIVE_BUFFER_SIZE);
        let length = 0;
        response.on("data", (chunk: Buffer) => {
          if (length + chunk.length > buffer.length) {
            const bigger = Buffer.allocUnsafe(Math.max(buffer.length * 2, length + chunk.length));
            buffer.copy(bigger, 0, 0, length);
            buffer = bigger;
          }
          length += chunk.copy(buffer, length);
        });
        response.on("end", () => {
          clearTimeout(timer);
          const bytes = buffer.subarray(0, length);
          if (!response.complete) {
            releaseAnswer(bytes);
            return reject(new Error("the connection closed before the answer was complete"));
          }
          resolve({ status: response.statusCode ?? 0, bytes });
        });
        response.on("error", (error) => {
          clearTimeout(timer);
          releaseAnswer(buffer);
          reject(error);
        });
      },
    );
    const timer = setTimeout(() => request.destroy(new RequestTimeoutError(timeoutMs)), timeoutMs);
    request.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(body);
  });
}

/**
 * Node answers are nearly always ASCII (hex and numbers): those bytes become a string by a plain copy, several
 * times faster than UTF-8 decoding.
 */
function answerText(bytes: Buffer): string {
  return isAscii(bytes) ? latin1(bytes, 0, bytes.length) : bytes.toString("utf8");
}

/**
 * Reads one result of a batch straight from the answer's bytes instead of JSON.parse, for results of megabytes
 * with a known shape (eth_getLogs, see log-scan.ts). Returns null when it cannot take these bytes; the result is
 * then parsed as JSON. A reader whose result points into the bytes must hand them to `releaseAnswer` when done.
 */
export type BatchResultReader = ValueReader;

/** Node errors worth retrying: rate limits and internal errors; a revert or bad params is not. */
function isTransientRpcError(code: number, message: string) {
  return (
    code === 429 ||
    code === -32603 ||
    code === -32000 ||
    /rate|timeout|busy|unavailable|header not found/i.test(message)
  );
}

export class RpcClient {
  private next = 0;
  private id = 1;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  private readonly o: RpcClientOptions;

  constructor(o: RpcClientOptions) {
    this.o = o;
    if (o.urls.length === 0) throw new Error("RpcClient needs at least one URL");
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.maxAttempts = o.maxAttempts ?? 8;
    this.baseDelayMs = o.baseDelayMs ?? 50;
    this.maxDelayMs = o.maxDelayMs ?? 5_000;
  }

  /**
   * One HTTP POST of `body` to `url`; returns the parsed JSON or throws TransientRpcError. With `readerFor`, a batch
   * answer is split into its items instead when it can be, results read by their reader or left as bytes (see
   * scanBatchAnswer).
   */
  private async post(
    url: string,
    body: unknown,
    label: string,
    readerFor?: (id: number) => ValueReader | undefined,
  ): Promise<unknown> {
    const started = performance.now();
    let answer: HttpAnswer;
    try {
      answer = await httpPost(url, JSON.stringify(body), this.timeoutMs);
    } catch (error) {
      const e = error as Error;
      throw new TransientRpcError(e.name === "TimeoutError" ? "timeout" : "network", `${label}: ${e.message}`);
    }
    const { status, bytes } = answer;
    this.o.onRequest?.(label, (performance.now() - started) / 1000);
    if (status === 429 || status >= 500) {
      releaseAnswer(bytes);
      throw status === 429
        ? new TransientRpcError("429", `${label}: HTTP 429 (rate limited)`)
        : new TransientRpcError("5xx", `${label}: HTTP ${status}`);
    }
    if (readerFor && status < 400 && isAscii(bytes)) {
      const items = scanBatchAnswer(bytes, 0, bytes.length, readerFor);
      if (items) return new SplitAnswer(bytes, items);
    }
    const text = answerText(bytes);
    releaseAnswer(bytes);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new TransientRpcError(
        "malformed",
        `${label}: malformed JSON answer (HTTP ${status}, ${text.length} bytes)`,
      );
    }
    if (status >= 400 && (typeof json !== "object" || json === null)) {
      throw new TransientRpcError("4xx", `${label}: HTTP ${status}`);
    }
    return json;
  }

  private async withRetries<T>(label: string, attempt: (url: string) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (let i = 0; i < this.maxAttempts; i++) {
      const url = this.o.urls[(this.next + i) % this.o.urls.length]!;
      try {
        return await attempt(url);
      } catch (error) {
        if (!(error instanceof TransientRpcError)) throw error;
        lastError = error;
        this.o.onFault?.(error.kind);
        // Fall back to the next URL for the following attempts, and stay there while it works.
        if (this.o.urls.length > 1) this.next = (this.next + 1) % this.o.urls.length;
        const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** i) * (0.5 + Math.random() / 2);
        this.o.logger?.debug({ err: error, attempt: i + 1, retryInMs: Math.round(delay) }, "RPC call failed; retrying");
        await sleep(delay);
      }
    }
    throw lastError;
  }

  private unwrap(method: string, answer: unknown): unknown {
    if (typeof answer !== "object" || answer === null) {
      throw new TransientRpcError("malformed", `${method}: answer is not a JSON-RPC object`);
    }
    const a = answer as { result?: unknown; error?: { code?: number; message?: string; data?: unknown } };
    if (a.error) {
      const code = Number(a.error.code ?? 0);
      const message = String(a.error.message ?? "unknown error");
      if (isTransientRpcError(code, message) && !isRangeTooLarge(new RpcResponseError(method, code, message))) {
        throw new TransientRpcError("rpc-error", `${method}: ${message} (code ${code})`);
      }
      throw new RpcResponseError(method, code, message, a.error.data);
    }
    if (!("result" in a)) throw new TransientRpcError("malformed", `${method}: answer has neither result nor error`);
    return a.result;
  }

  /** One call. */
  async request<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    return this.withRetries(method, async (url) => {
      const id = this.id++;
      const json = await this.post(url, { jsonrpc: "2.0", id, method, params }, method);
      if (Array.isArray(json)) throw new TransientRpcError("malformed", `${method}: unexpected batch answer`);
      if ((json as { id?: unknown }).id !== id && (json as { error?: unknown }).error === undefined) {
        throw new TransientRpcError("malformed", `${method}: answer for another request id`);
      }
      return this.unwrap(method, json) as T;
    });
  }

  /**
   * Several calls in one HTTP request (JSON-RPC batch). Results come back in the order of `requests`; any missing,
   * mismatched or malformed item retries the whole batch. `readers[i]`, when given, reads result i from the
   * answer's bytes instead of JSON.parse (see BatchResultReader).
   */
  async batch<T extends unknown[] = unknown[]>(
    requests: RpcRequest[],
    readers?: (BatchResultReader | undefined)[],
  ): Promise<T> {
    if (requests.length === 0) return [] as unknown as T;
    if (requests.length === 1 && !readers) return [await this.request(requests[0]!.method, requests[0]!.params)] as T;
    const label = `batch(${requests[0]!.method}×${requests.length})`;
    return this.withRetries(label, async (url) => {
      const first = this.id;
      this.id += requests.length;
      const body = requests.map((r, i) => ({ jsonrpc: "2.0", id: first + i, method: r.method, params: r.params }));
      const readerFor = readers && ((id: number) => readers[id - first]);
      const json = await this.post(url, body, label, readerFor);
      if (json instanceof SplitAnswer) return this.readSplit(label, requests, first, json, readers!) as T;
      if (!Array.isArray(json)) {
        const error = (json as { error?: { code?: number; message?: string } }).error;
        if (error) this.unwrap(label, json);
        throw new TransientRpcError("malformed", `${label}: answer is not an array`);
      }
      const byId = new Map<number, unknown>();
      for (const item of json) byId.set(Number((item as { id?: unknown }).id), item);
      return requests.map((r, i) => {
        const item = byId.get(first + i);
        if (item === undefined) throw new TransientRpcError("malformed", `${label}: answer ${i} missing`);
        return this.unwrap(r.method, item);
      }) as T;
    });
  }

  /** The results of a split batch answer: read by their reader where one takes them, else parsed as JSON. */
  private readSplit(
    label: string,
    requests: RpcRequest[],
    first: number,
    answer: SplitAnswer,
    readers: (BatchResultReader | undefined)[],
  ) {
    const { bytes, items } = answer;
    const byId = new Map<number, BatchItemSpan>();
    for (const item of items) byId.set(item.id, item);
    const parse = (span: [number, number]) => {
      try {
        return JSON.parse(latin1(bytes, span[0], span[1])) as unknown;
      } catch {
        throw new TransientRpcError("malformed", `${label}: malformed JSON in the answer`);
      }
    };
    let kept = false;
    try {
      return requests.map((r, i) => {
        const item = byId.get(first + i);
        if (item === undefined) throw new TransientRpcError("malformed", `${label}: answer ${i} missing`);
        if (item.error) return this.unwrap(r.method, { error: parse(item.error) });
        if (item.read !== undefined) {
          kept = true;
          return item.read;
        }
        if (!item.result) throw new TransientRpcError("malformed", `${r.method}: answer has neither result nor error`);
        // A result written before its id was not read in the scan: read it now.
        const read = readers[i]?.(bytes, item.result[0], item.result[1]);
        if (read && read.end === item.result[1]) {
          kept = true;
          return read.value;
        }
        return parse(item.result);
      });
    } finally {
      if (!kept) releaseAnswer(bytes);
    }
  }
}

/** A batch answer split into its items, results still as bytes (see RpcClient.post). */
class SplitAnswer {
  readonly bytes: Buffer;
  readonly items: BatchItemSpan[];
  constructor(bytes: Buffer, items: BatchItemSpan[]) {
    this.bytes = bytes;
    this.items = items;
  }
}
