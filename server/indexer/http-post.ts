import net from "node:net";

/**
 * HTTP/1.1 POST over keep-alive sockets that read into one reused buffer per socket (net's `onread`), for the
 * indexer's JSON-RPC calls to plain-http nodes. node:http gives every read its own new buffer: megabytes of logs a
 * second then become external memory that V8 answers with full garbage collections, about a quarter of the fetch
 * thread's time. Here a read costs one copy into the answer buffer and nothing else.
 *
 * It speaks what JSON-RPC needs: one request at a time per socket, answers with Content-Length or chunked, and
 * `Connection: close`. Anything else it cannot read fails the call (the RPC client retries it).
 */

export type PostAnswer = { status: number; bytes: Buffer };

class HttpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HttpError";
  }
}

/** The answer being read on a socket, and where it stands. */
type Pending = {
  resolve: (answer: PostAnswer) => void;
  reject: (error: Error) => void;
  buffer: Buffer;
  length: number;
  /** Offset of the body once the head is read; -1 before. */
  bodyStart: number;
  status: number;
  contentLength: number;
  chunked: boolean;
  close: boolean;
  /** Chunked bodies are decoded in place: bytes of body so far, and where the next chunk header is. */
  decoded: number;
  next: number;
};

const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");

class Connection {
  readonly socket: net.Socket;
  pending: Pending | undefined;
  private readonly scratch = Buffer.allocUnsafe(64 * 1024);
  readonly pool: ConnectionPool;
  constructor(pool: ConnectionPool, host: string, port: number) {
    this.pool = pool;
    this.socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: this.scratch, callback: (n: number, buf: Uint8Array) => this.onRead(n, buf) },
    });
    this.socket.on("error", (error) => this.fail(error));
    this.socket.on("close", () => this.fail(new HttpError("the connection closed before the answer was complete")));
  }

  private fail(error: Error) {
    this.pool.forget(this);
    const p = this.pending;
    this.pending = undefined;
    p?.reject(error);
  }

  private onRead(n: number, buf: Uint8Array): boolean {
    const p = this.pending;
    if (!p) {
      // Bytes nobody asked for: the stream is out of step; this socket is not used again.
      this.socket.destroy();
      return false;
    }
    if (p.length + n > p.buffer.length) {
      const bigger = Buffer.allocUnsafe(Math.max(p.buffer.length * 2, p.length + n));
      p.buffer.copy(bigger, 0, 0, p.length);
      p.buffer = bigger;
    }
    p.buffer.set(buf.subarray(0, n), p.length);
    p.length += n;
    try {
      if (this.complete(p)) {
        this.pending = undefined;
        const body = p.chunked
          ? p.buffer.subarray(p.bodyStart, p.bodyStart + p.decoded)
          : p.buffer.subarray(p.bodyStart, p.bodyStart + p.contentLength);
        if (p.close) this.socket.destroy();
        else this.pool.idle(this);
        p.resolve({ status: p.status, bytes: body });
      }
    } catch (error) {
      this.socket.destroy();
      this.fail(error as Error);
    }
    return true;
  }

  /** Reads what arrived so far; true once the whole answer is in. */
  private complete(p: Pending): boolean {
    if (p.bodyStart < 0) {
      const end = p.buffer.subarray(0, p.length).indexOf(HEAD_END);
      if (end < 0) {
        if (p.length > 64 * 1024) throw new HttpError("answer head too long");
        return false;
      }
      const head = p.buffer.toString("latin1", 0, end).split("\r\n");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]!);
      if (!status) throw new HttpError(`not an HTTP/1.x answer: ${JSON.stringify(head[0]!.slice(0, 40))}`);
      p.status = Number(status[1]);
      p.contentLength = -1;
      p.close = head[0]!.startsWith("HTTP/1.0");
      for (const line of head.slice(1)) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line
          .slice(colon + 1)
          .trim()
          .toLowerCase();
        if (name === "content-length") p.contentLength = Number(value);
        else if (name === "transfer-encoding")
          p.chunked = value
            .split(",")
            .map((v) => v.trim())
            .includes("chunked");
        else if (name === "connection") p.close = value === "close" ? true : value === "keep-alive" ? false : p.close;
      }
      if (!p.chunked && !(Number.isSafeInteger(p.contentLength) && p.contentLength >= 0)) {
        throw new HttpError("answer has neither Content-Length nor chunked encoding");
      }
      p.bodyStart = end + 4;
      p.next = p.bodyStart;
    }
    if (!p.chunked) return p.length - p.bodyStart >= p.contentLength;
    // Chunked: each chunk is "<hex size>[;ext]\r\n<data>\r\n", the last one of size 0 followed by "\r\n".
    for (;;) {
      const lineEnd = p.buffer.subarray(p.next, p.length).indexOf(CRLF);
      if (lineEnd < 0) return false;
      const size = parseInt(p.buffer.toString("latin1", p.next, p.next + lineEnd).split(";")[0]!, 16);
      if (!Number.isSafeInteger(size) || size < 0) throw new HttpError("bad chunk size");
      const dataStart = p.next + lineEnd + 2;
      if (size === 0) {
        // No trailers are expected from a JSON-RPC server; the body ends at the blank line.
        return p.length >= dataStart + 2;
      }
      if (p.length < dataStart + size + 2) return false;
      p.buffer.copy(p.buffer, p.bodyStart + p.decoded, dataStart, dataStart + size);
      p.decoded += size;
      p.next = dataStart + size + 2;
    }
  }

  send(head: string, body: string, buffer: Buffer): Promise<PostAnswer> {
    return new Promise((resolve, reject) => {
      this.pending = {
        resolve,
        reject,
        buffer,
        length: 0,
        bodyStart: -1,
        status: 0,
        contentLength: -1,
        chunked: false,
        close: false,
        decoded: 0,
        next: 0,
      };
      this.socket.write(head + body, "latin1");
    });
  }
}

class ConnectionPool {
  private readonly free: Connection[] = [];
  private readonly host: string;
  private readonly port: number;
  constructor(host: string, port: number) {
    this.host = host;
    this.port = port;
  }
  take(): Connection {
    return this.free.pop() ?? new Connection(this, this.host, this.port);
  }
  idle(c: Connection) {
    if (this.free.length < 16) this.free.push(c);
    else c.socket.end();
  }
  forget(c: Connection) {
    const i = this.free.indexOf(c);
    if (i >= 0) this.free.splice(i, 1);
  }
}

const pools = new Map<string, ConnectionPool>();

/**
 * POSTs `body` (ASCII JSON) to a plain-http `url`, reading the answer into `buffer` (grown when too small; the
 * answer's bytes may lie in a bigger one). Rejects on network errors, cut or unreadable answers and timeouts.
 */
export function postOverSocket(url: URL, body: string, timeoutMs: number, buffer: Buffer): Promise<PostAnswer> {
  const key = url.host;
  let pool = pools.get(key);
  if (!pool) pools.set(key, (pool = new ConnectionPool(url.hostname.replace(/^\[|\]$/g, ""), Number(url.port || 80))));
  const connection = pool.take();
  const head =
    `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body, "latin1")}\r\nConnection: keep-alive\r\n\r\n`;
  const timer = setTimeout(() => {
    const e = new HttpError(`no complete answer within ${timeoutMs} ms`);
    e.name = "TimeoutError";
    connection.socket.destroy(e);
  }, timeoutMs);
  return connection.send(head, body, buffer).finally(() => clearTimeout(timer));
}
