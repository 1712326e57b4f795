import { expect } from "chai";
import type { Server } from "node:http";
import { createPublicClient, defineChain, getAddress, getContract, http, type PublicClient } from "viem";
import { loadArtifact } from "../../../server/chain/artifacts.ts";
import { deployPlatform } from "../../../server/chain/deploy.ts";
import { demoAccounts, demoWallets, seedDemo, walletFor, type DemoSeed } from "../../../server/chain/demo-seed.ts";
import { startLocalChain, type LocalChain } from "../../../server/chain/local-node.ts";
import { createPrisma, type PrismaClient } from "../../../server/database/client.ts";
import { createPool } from "../../../server/database/pool.ts";
import { createApp } from "../../../server/http/app.ts";
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

  const catchUp = async () => {
    while ((await indexer.step()) > 0);
  };
  const get = async (path: string) => {
    const res = await fetch(base + path);
    const text = await res.text();
    return { status: res.status, type: res.headers.get("content-type") ?? "", body: text ? JSON.parse(text) : undefined };
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
    const deployment = await deployPlatform({ publicClient, walletClient: walletFor(demoAccounts.operator, viemChain, chain.rpcUrl) });
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
    const app = createApp({ prisma, publicClient, chainId, confirmations: 0, logger });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });

  after(async () => {
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
    const { lagSeconds: _s, stalled: _st, lastProgressAt: _l, ...rest } = body as Record<string, unknown>;
    expect(rest).to.deep.equal({
      ok: true,
      chainId: 31337,
      indexedBlock: head.toString(),
      headBlock: head.toString(),
      lagBlocks: "0",
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
    const collection = getContract({ address: seed.collection, abi: (await loadArtifact("Collection")).abi, client: { public: publicClient, wallet: bob } });
    const hash = await collection.write.safeTransferFrom([bob.account.address, carol.account.address, 1n, 2n, "0x"]);
    await publicClient.waitForTransactionReceipt({ hash });
    await catchUp();
    expect((await get(`/v1/wallets/${bob.account.address}/holdings`)).body.items).to.deep.equal([]);
    expect((await get(`/v1/wallets/${carol.account.address}/holdings`)).body.items).to.deep.equal([
      { collection: getAddress(seed.collection), tokenId: "1", amount: "2" },
    ]);
  });

  it("GET /openapi.json describes every route, its role and its problem answers", async () => {
    const { status, body } = await get("/openapi.json");
    expect(status).to.equal(200);
    expect(body.openapi).to.equal("3.1.0");
    expect(Object.keys(body.paths)).to.include.members(["/health", "/v1/collections", "/v1/wallets/{address}/holdings"]);
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
      });
    }

    it("answers a malformed JSON body with 400 naming the body", async () => {
      const res = await fetch(`${base}/v1/collections`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
      expect(res.status).to.equal(400);
      expect(res.headers.get("content-type")).to.match(/^application\/problem\+json/);
      expect((await res.json()).errors).to.deep.equal([{ path: "body", message: "invalid JSON" }]);
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
      ];
      for (const path of odd) {
        const res = await fetch(base + path);
        expect(res.status, path).to.be.lessThan(500);
      }
    });
  });
});
