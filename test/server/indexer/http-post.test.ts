import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { postOverSocket } from "../../../server/indexer/http-post.ts";

// The indexer's own HTTP/1.1 client for plain-http nodes (http-post.ts), against Node's HTTP server answering in
// each way a JSON-RPC server may: Content-Length, chunked, Connection: close, idle sockets closed by the server.

describe("indexer: HTTP POST over reused sockets", function () {
  let server: http.Server;
  let url: URL;
  let handler: (body: string, res: http.ServerResponse) => void;
  const connections = new Set<unknown>();

  before(async function () {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => handler(body, res));
    });
    server.on("connection", (socket) => connections.add(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc?x=1`);
  });
  after(function () {
    server.closeAllConnections();
    server.close();
  });

  const post = (body: string, timeoutMs = 5_000) => postOverSocket(url, body, timeoutMs, Buffer.allocUnsafe(16));

  it("reads answers with Content-Length, growing its buffer, and reuses the socket", async function () {
    const big = JSON.stringify({ result: "x".repeat(300_000) });
    handler = (body, res) => {
      res.setHeader("content-length", Buffer.byteLength(big));
      res.end(body === "big" ? big : big);
    };
    connections.clear();
    for (let i = 0; i < 3; i++) {
      const answer = await post("big");
      expect(answer.status).to.equal(200);
      expect(answer.bytes.toString()).to.equal(big);
    }
    expect(connections.size, "one keep-alive socket for calls made one after another").to.equal(1);
  });

  it("reads chunked answers, whatever the chunk sizes", async function () {
    const parts = ['{"jsonrpc":"2.0",', '"id":1,', `"result":"${"y".repeat(70_000)}"`, "}"];
    handler = (_body, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      for (const p of parts) res.write(p);
      res.end();
    };
    const answer = await post("{}");
    expect(answer.bytes.toString()).to.equal(parts.join(""));
  });

  it("answers a status other than 200 with its body, and opens a new socket after Connection: close", async function () {
    // The body names the client's port: a new socket, a new port.
    handler = (_body, res) => {
      const port = String(res.socket!.remotePort);
      res.writeHead(429, { connection: "close", "content-length": port.length });
      res.end(port);
    };
    const first = await post("{}");
    const second = await post("{}");
    expect(first.status).to.equal(429);
    expect(second.bytes.toString()).to.not.equal(first.bytes.toString());
  });

  it("fails a call whose answer is cut, and one that takes longer than its timeout", async function () {
    handler = (_body, res) => {
      res.writeHead(200, { "content-length": 100 });
      res.write("only part");
      setTimeout(() => res.destroy(), 10);
    };
    await post("{}").then(
      () => expect.fail("a cut answer must fail"),
      (error: Error) => expect(error.message).to.match(/closed before the answer was complete/),
    );
    handler = () => {};
    await post("{}", 100).then(
      () => expect.fail("a late answer must fail"),
      (error: Error) => expect(error.name).to.equal("TimeoutError"),
    );
  });

  it("does not reuse a socket the server closed while it was idle", async function () {
    handler = (_body, res) => res.end("ok");
    expect((await post("{}")).bytes.toString()).to.equal("ok");
    server.closeIdleConnections();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await post("{}")).bytes.toString()).to.equal("ok");
  });
});
