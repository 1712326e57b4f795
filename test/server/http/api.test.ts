import { expect } from "chai";
import type { Server } from "node:http";
import net from "node:net";
import { createPublicClient, defineChain, getAddress, getContract, http, type PublicClient } from "viem";
import { loadArtifact } from "../../../server/chain/artifacts.ts";
import { deployPlatform } from "../../../server/chain/deploy.ts";
import { demoAccounts, demoWallets, seedDemo, walletFor, type DemoSeed } from "../../../server/chain/demo-seed.ts";
import { startLocalChain, type LocalChain } from "../../../server/chain/local-node.ts";
import { createPrisma, type PrismaClient } from "../../../server/database/client.ts";
import { createPool } from "../../../server/database/pool.ts";
import { HeadWatcher } from "../../../server/chain/head-watcher.ts";
import { createApp } from "../../../server/http/app.ts";
import { RpcClient } from "../../../server/indexer/rpc.ts";
import { Indexer } from "../../../server/indexer/indexer.ts";
import { createLogger } from "../../../server/lib/logger.ts";
import { findFreePort } from "../../../server/lib/ports.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";

// A real Hardhat node, the real indexer and a real PostgreSQL database of this suite's own.
describe("HTTP API", () => {
  let chain: LocalChain;
  let publicClient: PublicClient;
  const partner = { account: demoAccounts.partner };
  const alice = { account: demoAccounts.alice };
  const carol = { account: demoAccounts.carol };
  let db: TestDatabase;
  let prisma: PrismaClient;
  let pool: ReturnType<typeof createPool>;
  let server: Server;
  let base: string;
  let indexer: Indexer;
  let seed: DemoSeed;
  let bob: ReturnType<typeof walletFor>;
  let chainHead: HeadWatcher;

  const catchUp = async () => {
    while ((await indexer.step()) > 0);
  };
  const get = async (path: string) => {
    const res = await fetch(base + path);
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get("content-type") ?? "",
      body: text ? JSON.parse(text) : undefined,
    };
  };

  before(async () => {
    chain = await startLocalChain({ port: await findFreePort() });
    const viemChain = defineChain({
      id: 31337,
      name: "Hardhat",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [chain.rpcUrl] } },
    });
    publicClient = createPublicClient({ chain: viemChain, transport: http(chain.rpcUrl) });
    db = await createTestDatabase();
    prisma = createPrisma(db.url);
    pool = createPool(db.url);
    const deployment = await deployPlatform({
      publicClient,
      walletClient: walletFor(demoAccounts.operator, viemChain, chain.rpcUrl),
    });
    seed = await seedDemo(publicClient, demoWallets(viemChain, chain.rpcUrl), deployment.factory);
    bob = walletFor(demoAccounts.bob, viemChain, chain.rpcUrl);
    const chainId = await publicClient.getChainId();
    const logger = createLogger("silent");
    indexer = new Indexer({
      db: pool,
      rpcUrls: [chain.rpcUrl],
      writerLock: false,
      chainId,
      factory: deployment.factory,
      startBlock: deployment.startBlock,
      confirmations: 0,
      finalityDepth: 16,
      pollIntervalMs: 50,
      maxBlockRange: 1000,
      logger,
    });
    await catchUp();
    chainHead = new HeadWatcher({
      rpc: new RpcClient({ urls: [chain.rpcUrl], timeoutMs: 1000, maxAttempts: 1 }),
      intervalMs: 50,
    });
    await chainHead.tick();
    chainHead.start();
    const app = createApp({ prisma, publicClient, chainHead, chainId, confirmations: 0, logger, checkResponses: true });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });

  after(async () => {
    chainHead?.stop();
    if (server) {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    }
    await indexer?.close();
    await prisma?.$disconnect();
    await pool?.end();
    await db?.drop();
    await chain?.stop();
  });

  it("GET /health reports the indexed block, the head and the lag", async () => {
    const head = await publicClient.getBlockNumber();
    const { status, body } = await get("/health");
    expect(status).to.equal(200);
    expect(body).to.include({ lagSeconds: 0, stalled: false });
    expect(body).to.have.property("lastProgressAt").that.is.a("string");
    expect(body).to.have.property("headSeenAt").that.is.a("string");
    const {
      lagSeconds: _s,
      stalled: _st,
      lastProgressAt: _l,
      headSeenAt: _h,
      ...rest
    } = body as Record<string, unknown>;
    expect(rest).to.deep.equal({
      ok: true,
      chainId: 31337,
      indexedBlock: head.toString(),
      headBlock: head.toString(),
      lagBlocks: "0",
      database: "ok",
      chain: "ok",
      replica: null,
    });
  });

  it("GET /v1/collections lists discovered collections with checksummed addresses and string numbers", async () => {
    const { status, body } = await get("/v1/collections");
    expect(status).to.equal(200);
    expect(body.nextCursor).to.equal(null);
    expect(body.items).to.have.length(1);
    const [c] = body.items;
    expect(c.address).to.equal(getAddress(seed.collection));
    expect(c.owner).to.equal(getAddress(partner.account.address));
    expect(c.chainId).to.equal(31337);
    expect(c.createdBlock).to.match(/^[0-9]+$/);
  });

  it("GET /v1/wallets/:address/holdings answers balances as of the indexed block", async () => {
    const head = await publicClient.getBlockNumber();
    const { status, body } = await get(`/v1/wallets/${alice.account.address.toLowerCase()}/holdings`);
    expect(status).to.equal(200);
    expect(body).to.deep.equal({
      address: getAddress(alice.account.address),
      asOfBlock: head.toString(),
      items: [
        { collection: getAddress(seed.collection), tokenId: "1", amount: "1" },
        { collection: getAddress(seed.collection), tokenId: "2", amount: "3" },
      ],
      nextCursor: null,
    });
  });

  it("pages holdings with an opaque cursor in a stable order", async () => {
    const first = await get(`/v1/wallets/${alice.account.address}/holdings?limit=1`);
    expect(first.body.items.map((i: { tokenId: string }) => i.tokenId)).to.deep.equal(["1"]);
    expect(first.body.nextCursor).to.be.a("string");
    const second = await get(`/v1/wallets/${alice.account.address}/holdings?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((i: { tokenId: string }) => i.tokenId)).to.deep.equal(["2"]);
    expect(second.body.nextCursor).to.equal(null);
  });

  it("follows a transfer: the sender loses the edition and the recipient gains it once indexed", async () => {
    const collection = getContract({
      address: seed.collection,
      abi: (await loadArtifact("Collection")).abi,
      client: { public: publicClient, wallet: bob },
    });
    const hash = await collection.write.safeTransferFrom([bob.account.address, carol.account.address, 1n, 2n, "0x"]);
    await publicClient.waitForTransactionReceipt({ hash });
    await catchUp();
    expect((await get(`/v1/wallets/${bob.account.address}/holdings`)).body.items).to.deep.equal([]);
    expect((await get(`/v1/wallets/${carol.account.address}/holdings`)).body.items).to.deep.equal([
      { collection: getAddress(seed.collection), tokenId: "1", amount: "2" },
    ]);
  });

  it("serves the catalog: a collection, its editions, one edition, holders, activity, drops, holdings as of a block", async () => {
    const c = getAddress(seed.collection);
    const collection = await get(`/v1/collections/${c}`);
    expect(collection.status).to.equal(200);
    expect(collection.body).to.include({ address: c, owner: partner.account.address, editionCount: 2, paused: false });
    const editions = await get(`/v1/collections/${c.toLowerCase()}/editions?limit=1`);
    expect(editions.body.items.map((e: { tokenId: string }) => e.tokenId)).to.deep.equal(["1"]);
    const rest = await get(`/v1/collections/${c}/editions?cursor=${editions.body.nextCursor}`);
    expect(rest.body.items.map((e: { tokenId: string }) => e.tokenId)).to.deep.equal(["2"]);
    expect(rest.body.nextCursor).to.equal(null);
    const edition = await get(`/v1/collections/${c}/editions/1`);
    expect(edition.body).to.include({ tokenId: "1", maxSupply: "100" });
    expect(edition.body.currentPhase).to.include({ index: 0, price: "10000000000000000" });
    const holders = await get(`/v1/collections/${c}/editions/2/holders`);
    expect(holders.body.items[0]).to.include({ owner: alice.account.address, amount: "3" });
    const activity = await get(`/v1/collections/${c}/activity?limit=500`);
    expect(activity.body.items.filter((a: { kind: string }) => a.kind === "mint").length).to.be.greaterThan(0);
    const mint = activity.body.items.find((a: { kind: string }) => a.kind === "mint");
    expect(mint.paid).to.match(/^[0-9]+$/);
    expect((await get(`/v1/collections/${c}/editions/1/activity`)).status).to.equal(200);
    expect((await get(`/v1/wallets/${alice.account.address}/activity`)).body.items.length).to.be.greaterThan(0);
    expect((await get("/v1/drops")).body.items.length).to.equal(2);
    const now = await get(`/v1/wallets/${alice.account.address}/holdings`);
    const before = await get(`/v1/wallets/${alice.account.address}/holdings?asOfBlock=1`);
    expect(before.status).to.equal(200);
    expect(before.body).to.include({ asOfBlock: "1" });
    expect(before.body.items).to.deep.equal([]);
    expect(now.body.items.length).to.be.greaterThan(0);
    const above = await get(`/v1/wallets/${alice.account.address}/holdings?asOfBlock=99999999`);
    expect(above.status).to.equal(422);
    expect(above.body.errors[0].path).to.equal("query.asOfBlock");
    expect((await get(`/v1/collections/0x${"12".repeat(20)}`)).status).to.equal(404);
  });

  it("public reads carry an ETag and Cache-Control: 304 when unchanged, a new ETag once the index moves", async () => {
    const path = `/v1/wallets/${alice.account.address}/holdings`;
    const first = await fetch(base + path);
    const etag = first.headers.get("etag")!;
    expect(etag).to.match(/^"[A-Za-z0-9_-]{27}"$/);
    expect(first.headers.get("cache-control")).to.equal("public, max-age=1, must-revalidate");
    const again = await fetch(base + path, { headers: { "if-none-match": etag } });
    expect(again.status).to.equal(304);
    // Any new block indexed moves asOfBlock, so the answer (and its validator) changes.
    await publicClient.request({ method: "evm_mine" } as never);
    await catchUp();
    const moved = await fetch(base + path, { headers: { "if-none-match": etag } });
    expect(moved.status).to.equal(200);
    expect(moved.headers.get("etag")).to.not.equal(etag);
  });

  it("GET /openapi.json describes every route, its role and its problem answers", async () => {
    const { status, body } = await get("/openapi.json");
    expect(status).to.equal(200);
    expect(body.openapi).to.equal("3.1.0");
    expect(Object.keys(body.paths)).to.include.members([
      "/health",
      "/v1/collections",
      "/v1/wallets/{address}/holdings",
    ]);
    for (const [path, operations] of Object.entries<Record<string, Record<string, unknown>>>(body.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(operation["x-required-role"], `${method} ${path}`).to.be.a("string");
      }
    }
    expect(body.paths["/v1/collections"].get.responses["400"].content).to.have.property("application/problem+json");
  });

  describe("bad input gets a 4xx problem+json naming the field", () => {
    const cases: [string, number, string | undefined][] = [
      ["/v1/wallets/0xabc/holdings", 400, "path.address"],
      ["/v1/wallets/not-an-address/holdings", 400, "path.address"],
      // Mixed case with a wrong EIP-55 checksum.
      ["/v1/wallets/0x3c44cdddb6a900fa2b585dd299e03d12fa4293bC/holdings", 400, "path.address"],
      ["/v1/collections?limit=0", 400, "query.limit"],
      ["/v1/collections?limit=501", 400, "query.limit"],
      ["/v1/collections?limit=ten", 400, "query.limit"],
      ["/v1/collections?limit=1&limit=2", 400, "query.limit"],
      // Only plain decimal digits: no hex, exponent, sign, fraction or blanks.
      ["/v1/collections?limit=0x10", 400, "query.limit"],
      ["/v1/collections?limit=1e2", 400, "query.limit"],
      ["/v1/collections?limit=%2B5", 400, "query.limit"],
      ["/v1/collections?limit=1.0", 400, "query.limit"],
      ["/v1/collections?limit=%205", 400, "query.limit"],
      ["/v1/collections?limit=", 400, "query.limit"],
      // Unknown query parameters are named.
      ["/v1/collections?limt=5", 400, "query.limt"],
      ["/v1/collections?cursor[]=x", 400, "query.cursor[]"],
      [`/v1/wallets/${"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"}/holdings?page=2`, 400, "query.page"],
      // Forged cursors whose keys would overflow a column: block 2^63 (bigint), token id 2^256 (uint256).
      [
        `/v1/collections?cursor=${Buffer.from(JSON.stringify([(2n ** 63n).toString(), "0x" + "0".repeat(40)])).toString("base64url")}`,
        400,
        "query.cursor",
      ],
      [
        `/v1/collections?cursor=${Buffer.from(JSON.stringify(["1" + "0".repeat(40), "0x" + "0".repeat(40)])).toString("base64url")}`,
        400,
        "query.cursor",
      ],
      [
        `/v1/wallets/0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC/holdings?cursor=${Buffer.from(JSON.stringify(["0x" + "0".repeat(40), (2n ** 256n).toString()])).toString("base64url")}`,
        400,
        "query.cursor",
      ],
      ["/v1/collections?cursor=not*base64", 400, "query.cursor"],
      // A path that is not valid percent-encoding.
      ["/v1/wallets/%E0%A4%A/holdings", 400, "path"],
      ["/v1/collections?cursor=%%%", 400, "query.cursor"],
      ["/v1/collections?cursor=WyJ4Il0", 400, "query.cursor"],
      ["/v1/wallets/0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC/holdings?cursor=bm90IGpzb24", 400, "query.cursor"],
      ["/v1/nope", 404, undefined],
      ["/v1/wallets", 404, undefined],
    ];
    for (const [path, status, field] of cases) {
      it(`${path} → ${status}${field ? ` naming ${field}` : ""}`, async () => {
        const res = await get(path);
        expect(res.status).to.equal(status);
        expect(res.type).to.match(/^application\/problem\+json/);
        expect(res.body).to.include({ status });
        expect(res.body.type).to.be.a("string");
        expect(res.body.title).to.be.a("string");
        expect(res.body.detail).to.be.a("string");
        expect(res.body.instance).to.match(/^urn:uuid:/);
        if (field) expect(res.body.errors.map((e: { path: string }) => e.path)).to.include(field);
        // Our own words: no parser or library internals.
        expect(res.body.detail).to.not.match(
          /Invalid input|expected string|received|Failed to decode|ZodError|at position|Unexpected token/,
        );
      });
    }

    it("accepts an address in all upper case, as EIP-55 does, and answers it checksummed", async () => {
      const res = await get(`/v1/wallets/0x${alice.account.address.slice(2).toUpperCase()}/holdings`);
      expect(res.status).to.equal(200);
      expect(res.body.address).to.equal(getAddress(alice.account.address));
      expect(res.body.items).to.have.length(2);
    });

    it("accepts limit as plain decimal digits", async () => {
      expect((await get("/v1/collections?limit=007")).status).to.equal(200);
      expect((await get("/v1/collections?limit=500")).status).to.equal(200);
    });

    it("answers a wrong method with 405 and Allow, derived from the registered routes", async () => {
      for (const [method, path, allow] of [
        ["POST", "/v1/collections", "GET, HEAD"],
        ["DELETE", `/v1/wallets/${alice.account.address}/holdings`, "GET, HEAD"],
        ["PUT", "/health", "GET, HEAD"],
        ["POST", "/openapi.json", "GET, HEAD"],
      ] as const) {
        const res = await fetch(base + path, {
          method,
          headers: { "content-type": "application/json" },
          body: method === "DELETE" ? undefined : "{nope",
        });
        expect(res.status, `${method} ${path}`).to.equal(405);
        expect(res.headers.get("allow")).to.equal(allow);
        expect(res.headers.get("content-type")).to.match(/^application\/problem\+json/);
        expect(await res.json()).to.include({ status: 405, title: "Method not allowed" });
      }
      // A path no route has is still a 404, whatever the method.
      expect((await fetch(`${base}/v1/nope`, { method: "POST" })).status).to.equal(404);
    });

    it("names the client's request id in `instance` as a tag URI when it is not a UUID", async () => {
      const mine = await fetch(`${base}/v1/nope`, { headers: { "x-request-id": "client-req-0042" } });
      expect(mine.headers.get("x-request-id")).to.equal("client-req-0042");
      expect((await mine.json()).instance).to.equal("tag:perkmint.dev,2026:request:client-req-0042");
      const uuid = "6f1c1f0e-3c9a-4b7e-9d2a-0b1c2d3e4f50";
      const theirs = await fetch(`${base}/v1/nope`, { headers: { "x-request-id": uuid } });
      expect((await theirs.json()).instance).to.equal(`urn:uuid:${uuid}`);
    });

    it("refuses a GET declaring a 10 GB body at once with 413, without waiting for the body", async () => {
      const { port } = new URL(base);
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), "127.0.0.1", () => {
          socket.write(
            `GET /v1/collections HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n`,
          );
        });
        let text = "";
        socket.on("data", (c) => (text += c.toString()));
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
        setTimeout(() => (socket.destroy(), resolve(text)), 5000).unref();
      });
      expect(answer).to.match(/^HTTP\/1\.1 413 /);
      expect(answer).to.match(/connection: close/i);
      expect(answer).to.contain('"title":"Content too large"');
      // Answered and closed, not held until a timeout (5 s here, Node's own is minutes).
      expect(Date.now() - started).to.be.lessThan(4000);
    });

    it("never answers a 5xx to odd requests", async () => {
      const odd = [
        "/v1/wallets/%00/holdings",
        "/v1/wallets/0x0000000000000000000000000000000000000000/holdings?limit=500",
        `/v1/wallets/${"0x" + "f".repeat(40)}/holdings?cursor=${"A".repeat(1025)}`,
        "/v1/collections?limit=-1",
        "/v1/collections?limit=1e3",
        "/v1/collections?cursor[]=x",
        "/health/../v1/collections",
        "/%E0%A4%A",
        "/v1/wallets/%E0%A4%A/holdings",
        "/v1/collections?limit=99999999999999999999999",
        `/v1/collections?cursor=${Buffer.from(JSON.stringify(["99999999999999999999", "0x" + "0".repeat(40)])).toString("base64url")}`,
        `/v1/collections?cursor=${Buffer.from(JSON.stringify([-1, "0x" + "0".repeat(40)])).toString("base64url")}`,
        "/v1/collections?limit[a]=1",
        "/v1/collections?__proto__=1",
      ];
      for (const path of odd) {
        const res = await fetch(base + path);
        expect(res.status, path).to.be.lessThan(500);
      }
    });
  });
});
