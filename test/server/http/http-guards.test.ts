import { expect } from "chai";
import express from "express";
import type { Server } from "node:http";
import net from "node:net";
import pino from "pino";
import { createPrisma, type PrismaClient } from "../../../server/database/client.ts";
import { createApp } from "../../../server/http/app.ts";
import { jsonBody } from "../../../server/http/body.ts";
import { requestDeadline } from "../../../server/http/deadline.ts";
import { errorHandler, problemTitle } from "../../../server/http/problem.ts";
import { listen } from "../../../server/http/server.ts";
import { findFreePort } from "../../../server/lib/ports.ts";

const logger = pino({ level: "silent" });
const timeouts = { requestTimeoutMs: 2000, headersTimeoutMs: 1000, keepAliveTimeoutMs: 1000 };

async function serve(app: express.Express): Promise<{ base: string; port: number; close(): Promise<void> }> {
  const server: Server = await listen(app, 0, "127.0.0.1", timeouts);
  const port = (server.address() as { port: number }).port;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Sends raw bytes and returns whatever the server answers before closing (or `waitMs` passes). */
function raw(port: number, text: string, waitMs = 3000): Promise<{ answer: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(text));
    let answer = "";
    socket.on("data", (c) => (answer += c.toString()));
    socket.on("close", () => resolve({ answer, ms: Date.now() - started }));
    socket.on("error", reject);
    setTimeout(() => (socket.destroy(), resolve({ answer, ms: Date.now() - started })), waitMs).unref();
  });
}

describe("HTTP guards: bodies per route, deadlines, dependency faults", () => {
  describe("a route that takes a JSON body (jsonBody)", () => {
    let srv: Awaited<ReturnType<typeof serve>>;
    before(async () => {
      const app = express();
      app.post("/things", ...jsonBody({ limitBytes: 1000 }), (req, res) => {
        res.json({ got: req.body });
      });
      app.get("/things", (_req, res) => {
        res.json({ body: "ignored" });
      });
      app.use(errorHandler(logger));
      srv = await serve(app);
    });
    after(() => srv?.close());

    const post = (body: string, headers: Record<string, string> = { "content-type": "application/json" }) =>
      fetch(`${srv.base}/things`, { method: "POST", headers, body });

    it("parses a JSON body", async () => {
      const res = await post('{"a":1}');
      expect(await res.json()).to.deep.equal({ got: { a: 1 } });
    });

    it("answers malformed JSON with 400 naming the body, in its own words", async () => {
      const res = await post("{nope");
      expect(res.status).to.equal(400);
      expect(res.headers.get("content-type")).to.match(/^application\/problem\+json/);
      const body = await res.json();
      expect(body).to.include({ title: "Invalid request", detail: "The request body is not valid JSON." });
      expect(body.errors).to.deep.equal([{ path: "body", message: "invalid JSON" }]);
    });

    it("answers another media type with 415 titled as such", async () => {
      const res = await post("a=1", { "content-type": "application/x-www-form-urlencoded" });
      expect(res.status).to.equal(415);
      expect(await res.json()).to.include({ title: "Unsupported media type", status: 415 });
    });

    it("answers a body over the limit with 413 titled as such (sent chunked, no declared length)", async () => {
      const res = await fetch(`${srv.base}/things`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(JSON.stringify({ a: "x".repeat(5000) })));
            c.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
      expect(res.status).to.equal(413);
      const body = await res.json();
      expect(body).to.include({ title: "Content too large", status: 413 });
      expect(body.detail).to.not.match(/entity|limit:|PayloadTooLarge/i);
    });

    it("refuses a declared length over the limit at once, without reading the body", async () => {
      const { answer, ms } = await raw(
        srv.port,
        "POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n",
      );
      expect(answer).to.match(/^HTTP\/1\.1 413 /);
      expect(answer).to.match(/connection: close/i);
      expect(ms).to.be.lessThan(2500);
    });

    it("answers a charset it cannot read with 415", async () => {
      const res = await post('{"a":1}', { "content-type": "application/json; charset=koi8-r" });
      expect(res.status).to.equal(415);
      expect((await res.json()).detail).to.equal("The request body's charset is not supported; send UTF-8.");
    });
  });

  describe("the request deadline", () => {
    let srv: Awaited<ReturnType<typeof serve>>;
    before(async () => {
      const app = express();
      app.use((_req, res, next) => ((res.locals.requestId = "6f1c1f0e-3c9a-4b7e-9d2a-0b1c2d3e4f50"), next()));
      app.use(requestDeadline(300));
      app.get("/slow", async (_req, _res, next) => {
        await new Promise((r) => setTimeout(r, 800));
        next(new Error("too late for anyone to hear"));
      });
      app.use(errorHandler(logger));
      srv = await serve(app);
    });
    after(() => srv?.close());

    it("answers 504 with Retry-After when the route has not answered in time, and drops its late answer", async () => {
      const started = Date.now();
      const res = await fetch(`${srv.base}/slow`);
      expect(res.status).to.equal(504);
      expect(res.headers.get("retry-after")).to.equal("5");
      expect(await res.json()).to.include({ title: "Timed out", status: 504 });
      expect(Date.now() - started).to.be.lessThan(300 + 1500);
      await new Promise((r) => setTimeout(r, 700)); // the route's late error arrives: nothing breaks
    });
  });

  it("closes a connection whose headers do not arrive within the headers timeout (slow client)", async () => {
    const app = express();
    app.get("/", (_req, res) => void res.json({}));
    const srv = await serve(app); // headersTimeoutMs: 1000
    try {
      const { answer, ms } = await raw(srv.port, "GET / HTTP/1.1\r\nHost: x\r\n", 8000);
      expect(answer).to.match(/^HTTP\/1\.1 408 /);
      // Node checks every connectionsCheckingInterval (here 1 s): closed well before its default of minutes.
      expect(ms).to.be.lessThan(1000 + 1000 + 2000);
    } finally {
      await srv.close();
    }
  });

  it("titles every problem after its status", () => {
    expect(problemTitle(405)).to.equal("Method not allowed");
    expect(problemTitle(413)).to.equal("Content too large");
    expect(problemTitle(415)).to.equal("Unsupported media type");
    expect(problemTitle(503)).to.equal("Service unavailable");
  });

  describe("the API over a database that is down, and one that accepts connections but never answers", () => {
    const chainHead = {
      state: () => ({
        head: { number: 5n, timestamp: BigInt(Math.floor(Date.now() / 1000)), observedAt: Date.now() },
        reachable: true,
      }),
    };
    let blackHole: net.Server;
    const held: net.Socket[] = [];
    let down: { prisma: PrismaClient; srv: Awaited<ReturnType<typeof serve>> };
    let hung: { prisma: PrismaClient; srv: Awaited<ReturnType<typeof serve>> };

    before(async () => {
      // Nothing listens on this port: connection refused, as when PostgreSQL is stopped.
      const closedPort = await findFreePort();
      // This one accepts and then says nothing, as a stopped (SIGSTOP) or black-holed server does.
      blackHole = net.createServer((s) => held.push(s));
      await new Promise<void>((r) => blackHole.listen(0, "127.0.0.1", () => r()));
      const hungPort = (blackHole.address() as { port: number }).port;
      const make = async (port: number) => {
        const prisma = createPrisma(`postgres://postgres:x@127.0.0.1:${port}/nope`, {
          connectTimeoutMs: 400,
          statementTimeoutMs: 500,
        });
        const app = createApp({ prisma, chainHead, chainId: 31337, confirmations: 0, requestTimeoutMs: 2000, logger });
        return { prisma, srv: await serve(app) };
      };
      down = await make(closedPort);
      hung = await make(hungPort);
    });
    after(async () => {
      for (const s of held) s.destroy();
      blackHole?.close();
      for (const x of [down, hung]) {
        await x?.srv.close();
        await x?.prisma.$disconnect().catch(() => {});
      }
    });

    for (const [name, expected] of [
      ["down", 503],
      ["hung", 504],
    ] as const) {
      it(`database ${name}: /v1/* answers ${expected} problem+json with Retry-After, /health 503 naming the database, each within its bound`, async () => {
        const { srv } = name === "down" ? down : hung;
        for (const path of ["/v1/collections", "/v1/wallets/0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC/holdings"]) {
          const started = Date.now();
          const res = await fetch(srv.base + path);
          expect(res.status, path).to.equal(expected);
          expect(res.headers.get("retry-after")).to.equal("5");
          expect(res.headers.get("content-type")).to.match(/^application\/problem\+json/);
          const body = await res.json();
          expect(body.title).to.equal(expected === 503 ? "Service unavailable" : "Timed out");
          expect(body.detail).to.not.match(/prisma|ECONNREFUSED|invocation/i);
          expect(Date.now() - started, path).to.be.lessThan(2000 + 1500);
        }
        const started = Date.now();
        const health = await fetch(`${srv.base}/health`);
        expect(health.status).to.equal(503);
        expect(await health.json()).to.include({ ok: false, database: "unreachable", chain: "ok", headBlock: "5" });
        expect(Date.now() - started).to.be.lessThan(2000 + 1500);
      });
    }
  });
});
