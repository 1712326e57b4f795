import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { getAddress, type Abi, type Hex, type LocalAccount } from "viem";
import { createSiweMessage } from "viem/siwe";
import { demoAccounts, demoWallets, seedDemo, walletFor, type DemoSeed } from "../../../server/chain/demo-seed.ts";
import { createPrisma, type PrismaClient } from "../../../server/database/client.ts";
import { createPool } from "../../../server/database/pool.ts";
import { Indexer } from "../../../server/indexer/indexer.ts";
import { createLogger } from "../../../server/lib/logger.ts";
import { startTestApi, type Answer } from "../../../server/testing/api-server.ts";
import { deployTestPlatform, startTestChain, type TestChain } from "../../../server/testing/chain.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";

/** An API server of this suite (a free port chosen first, so PUBLIC_URL, which SIWE messages name, is known). */
const startApi = startTestApi;

describe("Sign-In with Ethereum, sessions, roles and API keys", function () {
  this.timeout(120_000);
  let tc: TestChain;
  let db: TestDatabase;
  let prisma: PrismaClient;
  let pool: ReturnType<typeof createPool>;
  let api: Awaited<ReturnType<typeof startApi>>;
  let seed: DemoSeed;
  let indexer: Indexer;
  const alice = demoAccounts.alice as unknown as LocalAccount;
  const bob = demoAccounts.bob as unknown as LocalAccount;
  const partner = demoAccounts.partner as unknown as LocalAccount;
  const chainHead = { state: () => ({ head: null, reachable: true }) };
  const logger = createLogger("silent");

  before(async () => {
    tc = await startTestChain();
    db = await createTestDatabase();
    prisma = createPrisma(db.url);
    pool = createPool(db.url);
    const deployment = await deployTestPlatform(tc);
    seed = await seedDemo(tc.publicClient, demoWallets(tc.chain, tc.rpcUrl), deployment.factory);
    // The indexer makes the demo partner the indexed owner of its collection.
    indexer = new Indexer({
      db: pool,
      rpcUrls: [tc.rpcUrl],
      writerLock: false,
      chainId: 31337,
      factory: deployment.factory,
      startBlock: deployment.startBlock,
      confirmations: 0,
      finalityDepth: 16,
      pollIntervalMs: 50,
      maxBlockRange: 1000,
      logger,
    });
    while ((await indexer.step()) > 0);
    api = await startApi({
      prisma,
      publicClient: tc.publicClient,
      chainHead,
      chainId: 31337,
      confirmations: 0,
      logger,
    });
  });

  after(async () => {
    await api?.stop();
    await indexer?.close();
    await prisma?.$disconnect();
    await pool?.end();
    await db?.drop();
    await tc?.stop();
  });

  const nonce = async () => (await api.call("GET", "/v1/auth/nonce")).body!.nonce as string;
  const message = (address: `0x${string}`, overrides: Partial<Parameters<typeof createSiweMessage>[0]> = {}) =>
    api.message(address, overrides);
  const signIn = async (account: LocalAccount, overrides: Partial<Parameters<typeof createSiweMessage>[0]> = {}) => {
    const text = await message(account.address, overrides);
    return api.call("POST", "/v1/auth/verify", {
      body: { message: text, signature: await account.signMessage({ message: text }) },
    });
  };
  const bearer = (token: unknown) => ({ authorization: `Bearer ${String(token)}` });
  const expectProblem = (answer: Answer, status: number, detail?: RegExp) => {
    expect(answer.status, JSON.stringify(answer.body)).to.equal(status);
    expect(answer.headers.get("content-type")).to.match(/^application\/problem\+json/);
    if (detail) expect(String(answer.body?.detail)).to.match(detail);
  };

  it("hands out single-use nonces of at least 96 bits, not cached", async () => {
    const answer = await api.call("GET", "/v1/auth/nonce");
    expect(answer.status).to.equal(200);
    expect(answer.headers.get("cache-control")).to.equal("no-store");
    const value = answer.body!.nonce as string;
    // 96 bits in an alphanumeric alphabet (62 symbols, ~5.95 bits each) takes at least 17 characters.
    expect(value).to.match(/^[A-Za-z0-9]{17,}$/);
    expect(value).to.not.equal(await nonce());
  });

  it("signs a wallet in: an httpOnly SameSite=Lax cookie and a bearer token, both answered by /v1/me", async () => {
    const answer = await signIn(alice);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    expect(answer.body!.address).to.equal(alice.address);
    const cookie = answer.headers.get("set-cookie")!;
    expect(cookie).to.match(/^perkmint_session=pms_[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=604800$/);
    const byCookie = await api.call("GET", "/v1/me", { headers: { cookie: cookie.split(";")[0]! } });
    expect(byCookie.body).to.deep.equal({ address: alice.address, roles: ["holder"], collections: [] });
    const byBearer = await api.call("GET", "/v1/me", { headers: bearer(answer.body!.token) });
    expect(byBearer.body!.address).to.equal(alice.address);
    // Only the token's SHA-256 is stored.
    const stored = await pool.query<{ token_hash: string }>("SELECT token_hash FROM auth_session");
    expect(stored.rows.map((r) => r.token_hash)).to.not.include(answer.body!.token);
    expect(stored.rows.every((r) => /^[0-9a-f]{64}$/.test(r.token_hash))).to.equal(true);
  });

  it("names the partner role and its collections for the collection's indexed owner", async () => {
    const answer = await signIn(partner);
    const me = await api.call("GET", "/v1/me", { headers: bearer(answer.body!.token) });
    expect(me.body).to.deep.equal({
      address: partner.address,
      roles: ["holder", "partner"],
      collections: [getAddress(seed.collection)],
    });
  });

  it("refuses a replayed message: sequentially, and 50 concurrent uses of one nonce let exactly one in", async () => {
    const text = await message(alice.address);
    const signature = await alice.signMessage({ message: text });
    const body = { message: text, signature };
    expect((await api.call("POST", "/v1/auth/verify", { body })).status).to.equal(200);
    expectProblem(await api.call("POST", "/v1/auth/verify", { body }), 401, /nonce/);

    const racing = await message(alice.address);
    const racingBody = { message: racing, signature: await alice.signMessage({ message: racing }) };
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => api.call("POST", "/v1/auth/verify", { body: racingBody })),
    );
    expect(answers.filter((a) => a.status === 200)).to.have.length(1);
    for (const a of answers.filter((x) => x.status !== 200)) expectProblem(a, 401);
  });

  it("refuses expired, not-yet-valid and future-issued messages", async () => {
    const past = new Date(Date.now() - 5 * 60_000);
    expectProblem(
      await signIn(alice, { issuedAt: past, expirationTime: new Date(Date.now() - 2 * 60_000) }),
      401,
      /expired/,
    );
    expectProblem(await signIn(alice, { notBefore: new Date(Date.now() + 5 * 60_000) }), 401, /not valid yet/);
    expectProblem(await signIn(alice, { issuedAt: new Date(Date.now() + 5 * 60_000) }), 401, /future/);
    expectProblem(await signIn(alice, { issuedAt: new Date(Date.now() - 60 * 60_000) }), 401, /too old/);
  });

  it("refuses a message for another domain, another URI or another chain", async () => {
    expectProblem(await signIn(alice, { domain: "evil.example" }), 401, /evil\.example/);
    expectProblem(await signIn(alice, { uri: "https://evil.example/login" }), 401, /URI/);
    expectProblem(await signIn(alice, { chainId: 1 }), 401, /chain 1/);
  });

  it("refuses malformed input: not a SIWE message (401), a body of the wrong shape (400 naming the field)", async () => {
    expectProblem(
      await api.call("POST", "/v1/auth/verify", { body: { message: "hello", signature: "0x00" } }),
      401,
      /EIP-4361/,
    );
    const bad = await api.call("POST", "/v1/auth/verify", { body: { message: "hello", signature: "not hex" } });
    expectProblem(bad, 400);
    expect(bad.body!.errors).to.deep.equal([{ path: "body.signature", message: "must be 0x-prefixed hex bytes" }]);
  });

  it("refuses a bad signature and a signature by another wallet, without burning the nonce", async () => {
    const text = await message(alice.address);
    const junk = `0x${"11".repeat(65)}`;
    expectProblem(
      await api.call("POST", "/v1/auth/verify", { body: { message: text, signature: junk } }),
      401,
      /signature/,
    );
    const byBob = await bob.signMessage({ message: text });
    expectProblem(
      await api.call("POST", "/v1/auth/verify", { body: { message: text, signature: byBob } }),
      401,
      /signature/,
    );
    // The nonce is still alice's to use.
    const good = await api.call("POST", "/v1/auth/verify", {
      body: { message: text, signature: await alice.signMessage({ message: text }) },
    });
    expect(good.status).to.equal(200);
  });

  it("signs in a smart-contract wallet (EIP-1271) whose owner signed", async () => {
    const file = path.resolve(
      import.meta.dirname,
      "../../../artifacts/contracts/mocks/ERC1271WalletMock.sol/ERC1271WalletMock.json",
    );
    const { abi, bytecode } = JSON.parse(await readFile(file, "utf8")) as { abi: Abi; bytecode: Hex };
    const hash = await tc.wallet.deployContract({ abi, bytecode, args: [alice.address] });
    const wallet = getAddress((await tc.publicClient.waitForTransactionReceipt({ hash })).contractAddress!);
    const text = await message(wallet);
    const answer = await api.call("POST", "/v1/auth/verify", {
      body: { message: text, signature: await alice.signMessage({ message: text }) },
    });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    expect(answer.body!.address).to.equal(wallet);
    // Someone else's signature does not open the wallet.
    const other = await message(wallet);
    expectProblem(
      await api.call("POST", "/v1/auth/verify", {
        body: { message: other, signature: await bob.signMessage({ message: other }) },
      }),
      401,
    );
  });

  it("refuses a signed-out, an expired and an idle session, and an unknown token", async () => {
    const a = await signIn(alice);
    const cookie = a.headers.get("set-cookie")!.split(";")[0]!;
    expect((await api.call("POST", "/v1/auth/logout", { headers: { cookie, origin: api.publicUrl } })).status).to.equal(
      204,
    );
    expectProblem(await api.call("GET", "/v1/me", { headers: { cookie } }), 401, /signed out|expired/);

    const b = await signIn(alice);
    await pool.query("UPDATE auth_session SET expires_at = now() - interval '1 second' WHERE revoked_at IS NULL");
    expectProblem(await api.call("GET", "/v1/me", { headers: bearer(b.body!.token) }), 401);

    const c = await signIn(alice);
    await pool.query("UPDATE auth_session SET last_seen_at = now() - interval '25 hours' WHERE expires_at > now()");
    expectProblem(await api.call("GET", "/v1/me", { headers: bearer(c.body!.token) }), 401);

    expectProblem(await api.call("GET", "/v1/me", { headers: bearer("pms_nottherealtokenatall") }), 401);
    expectProblem(await api.call("GET", "/v1/me", { headers: { authorization: "Basic abc" } }), 401, /Bearer/);
    expectProblem(await api.call("GET", "/v1/me"), 401, /Sign in/);
  });

  it("refuses a cookie-authenticated unsafe request from another origin (CSRF); bearer clients are exempt", async () => {
    const a = await signIn(alice);
    const cookie = a.headers.get("set-cookie")!.split(";")[0]!;
    expectProblem(await api.call("POST", "/v1/auth/logout", { headers: { cookie } }), 403, /Origin/);
    expectProblem(
      await api.call("POST", "/v1/auth/logout", { headers: { cookie, origin: "https://evil.example" } }),
      403,
      /Origin/,
    );
    expect((await api.call("GET", "/v1/me", { headers: { cookie } })).status).to.equal(200);
    const b = await signIn(alice);
    expect((await api.call("POST", "/v1/auth/logout", { headers: bearer(b.body!.token) })).status).to.equal(204);
  });

  it("partner API keys: only for owned collections, shown once, listed with last use, scoped, revocable", async () => {
    const aliceSession = await signIn(alice);
    const request = { name: "shop", collections: [seed.collection], access: "read" };
    const foreign = await api.call("POST", "/v1/partner/api-keys", {
      body: request,
      headers: bearer(aliceSession.body!.token),
    });
    expectProblem(foreign, 403, /do not own/);

    const partnerSession = await signIn(partner);
    const created = await api.call("POST", "/v1/partner/api-keys", {
      body: request,
      headers: bearer(partnerSession.body!.token),
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const key = created.body!.key as string;
    expect(key).to.match(/^pmk_/);
    expect(created.body).to.include({ name: "shop", access: "read", lastUsedAt: null, revokedAt: null });

    // An API key is for partner routes, not for a wallet's own.
    expectProblem(await api.call("GET", "/v1/me", { headers: bearer(key) }), 403, /partner routes/);
    const listed = await api.call("GET", "/v1/partner/api-keys", { headers: bearer(partnerSession.body!.token) });
    const items = listed.body!.items as Record<string, unknown>[];
    expect(items).to.have.length(1);
    expect(items[0]).to.not.have.property("key");
    expect(items[0]!.lastUsedAt).to.be.a("string");
    const stored = await pool.query<{ key_hash: string }>("SELECT key_hash FROM partner_api_key");
    expect(stored.rows[0]!.key_hash)
      .to.match(/^[0-9a-f]{64}$/)
      .and.not.equal(key);

    expectProblem(
      await api.call("DELETE", `/v1/partner/api-keys/${String(items[0]!.id)}`, {
        headers: bearer(aliceSession.body!.token),
      }),
      404,
    );
    const revoked = await api.call("DELETE", `/v1/partner/api-keys/${String(items[0]!.id)}`, {
      headers: bearer(partnerSession.body!.token),
    });
    expect(revoked.status).to.equal(204);
    expectProblem(await api.call("GET", "/v1/me", { headers: bearer(key) }), 401, /revoked/);
  });

  it("authorization matrix of the protected routes: anonymous 401, holder allowed, API key 403", async () => {
    const holder = (await signIn(bob)).body!.token;
    const partnerToken = (await signIn(partner)).body!.token;
    const key = (
      await api.call("POST", "/v1/partner/api-keys", {
        body: { name: "k", collections: [seed.collection], access: "read" },
        headers: bearer(partnerToken),
      })
    ).body!.key as string;
    for (const [method, path] of [
      ["GET", "/v1/me"],
      ["GET", "/v1/partner/api-keys"],
    ] as const) {
      expectProblem(await api.call(method, path), 401);
      expect((await api.call(method, path, { headers: bearer(holder) })).status, `${method} ${path}`).to.equal(200);
      expectProblem(await api.call(method, path, { headers: bearer(key) }), 403);
    }
  });

  it("partner routes: only the collection's owner (or its key) uploads allowlists, metadata and images; anyone reads them", async () => {
    const owner = bearer((await signIn(partner)).body!.token);
    const holder = bearer((await signIn(bob)).body!.token);
    const c = getAddress(seed.collection);
    const upload = {
      edition: "2",
      phase: 1,
      sale: { start: 0, end: 4_000_000_000, price: "0", walletLimit: 0 },
      format: "csv",
      content: `address,maxQuantity\n${alice.address},3\n${bob.address},1\n`,
    };
    expectProblem(await api.call("POST", `/v1/collections/${c}/allowlists`, { body: upload }), 401);
    expectProblem(
      await api.call("POST", `/v1/collections/${c}/allowlists`, { body: upload, headers: holder }),
      403,
      /owner/,
    );
    const bad = await api.call("POST", `/v1/collections/${c}/allowlists`, {
      body: { ...upload, content: "0xnope,1\n" },
      headers: owner,
    });
    expectProblem(bad, 400);
    const created = await api.call("POST", `/v1/collections/${c}/allowlists`, { body: upload, headers: owner });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const proof = await api.call(
      "GET",
      `/v1/allowlists/${String(created.body!.id)}/proofs/${alice.address.toLowerCase()}`,
    );
    expect(proof.body).to.include({ allowance: "3", address: alice.address });
    expectProblem(await api.call("GET", `/v1/allowlists/${String(created.body!.id)}/proofs/${partner.address}`), 404);

    const metadata = {
      name: "Studio Sketch",
      description: "A sketch from the studio",
      image: "https://example.com/2.png",
    };
    expectProblem(
      await api.call("PUT", `/v1/collections/${c}/editions/2/metadata`, { body: metadata, headers: holder }),
      403,
    );
    const stored = await api.call("PUT", `/v1/collections/${c}/editions/2/metadata`, {
      body: metadata,
      headers: owner,
    });
    expect(stored.status, JSON.stringify(stored.body)).to.equal(200);
    const served = await api.call("GET", `/metadata/31337/${c}/${2n.toString(16).padStart(64, "0")}.json`);
    expect(served.body).to.include({ name: "Studio Sketch" });

    const png = Buffer.from(
      "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fe0dd8ed5d0000000049454e44ae426082",
      "hex",
    );
    const image = await fetch(`${api.publicUrl}/v1/collections/${c}/media`, {
      method: "POST",
      headers: { ...owner, "content-type": "application/octet-stream" },
      body: png,
    });
    expect(image.status).to.equal(201);
    const imageBody = (await image.json()) as { url: string; contentType: string };
    expect(imageBody.contentType).to.equal("image/png");
    const fetched = await fetch(imageBody.url);
    expect(fetched.status).to.equal(200);
    expect(fetched.headers.get("content-type")).to.equal("image/png");
    expect(fetched.headers.get("cache-control")).to.equal("public, max-age=31536000, immutable");
    expect(fetched.headers.get("x-content-type-options")).to.equal("nosniff");
    const svg = await fetch(`${api.publicUrl}/v1/collections/${c}/media`, {
      method: "POST",
      headers: owner,
      body: "<svg xmlns='http://www.w3.org/2000/svg'/>",
    });
    expect(svg.status).to.equal(415);
  });

  it("logs each request with its request id, and never a session token, a signature or a cookie", async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logged = await startApi({
      prisma,
      publicClient: tc.publicClient,
      chainHead,
      chainId: 31337,
      confirmations: 0,
      logger: pino({ level: "debug" }, stream),
    });
    try {
      const text = await logged.message(alice.address);
      const signature = await alice.signMessage({ message: text });
      const session = await logged.call("POST", "/v1/auth/verify", {
        body: { message: text, signature },
        headers: { "x-request-id": "test-request-0001" },
      });
      const token = session.body!.token as string;
      await logged.call("GET", "/v1/me", { headers: { cookie: `perkmint_session=${token}` } });
      await logged.call("GET", "/v1/me", { headers: bearer(token) });
      const all = lines.join("");
      expect(all).to.include("test-request-0001");
      expect(all).to.include("/v1/me");
      for (const secret of [token, signature, "perkmint_session", "authorization", "Bearer"])
        expect(all).to.not.include(secret);
    } finally {
      await logged.stop();
    }
  });

  it("rate limits count in PostgreSQL: two API servers on one database share a session and one budget", async () => {
    const limits = { ipPerMinute: 6, walletPerMinute: 1000 };
    await pool.query("DELETE FROM rate_limit");
    const one = await startApi({
      prisma,
      publicClient: tc.publicClient,
      chainHead,
      chainId: 31337,
      confirmations: 0,
      logger,
      rateLimits: limits,
    });
    const twoPrisma = createPrisma(db.url);
    const two = await startApi({
      prisma: twoPrisma,
      publicClient: tc.publicClient,
      chainHead,
      chainId: 31337,
      confirmations: 0,
      logger,
      rateLimits: limits,
    });
    try {
      // A session opened through one server works on the other (the servers keep no state of their own).
      const text = await one.message(alice.address);
      const session = await one.call("POST", "/v1/auth/verify", {
        body: { message: text, signature: await alice.signMessage({ message: text }) },
      });
      expect(session.status).to.equal(200);
      expect((await two.call("GET", "/v1/me", { headers: bearer(session.body!.token) })).body!.address).to.equal(
        alice.address,
      );
      // 3 requests so far (nonce, verify, me); three more on either server exhaust the budget of 6 for this IP.
      for (const server of [one, two, one]) expect((await server.call("GET", "/v1/collections")).status).to.equal(200);
      for (const server of [two, one]) {
        const limited = await server.call("GET", "/v1/collections");
        expectProblem(limited, 429, /Too many requests/);
        expect(Number(limited.headers.get("retry-after"))).to.be.within(1, 60);
      }
      // /health is not rate limited: it must answer while the counters' database is down, too.
      expect((await one.call("GET", "/health")).status).to.be.oneOf([200, 503]);
    } finally {
      await one.stop();
      await two.stop();
      await twoPrisma.$disconnect();
      await pool.query("DELETE FROM rate_limit");
    }
  });
  // Last: it moves the demo collection to another owner.
  it("follows an on-chain ownership transfer once indexed: the new owner is the partner, the old one and its keys are not", async () => {
    const c = getAddress(seed.collection);
    const carol = demoAccounts.carol as unknown as LocalAccount;
    const oldOwner = bearer((await signIn(partner)).body!.token);
    const newOwner = bearer((await signIn(carol)).body!.token);
    const key = (
      await api.call("POST", "/v1/partner/api-keys", {
        body: { name: "before the sale", collections: [c], access: "read" },
        headers: oldOwner,
      })
    ).body!.key as string;
    const list = (headers: Record<string, string>) => api.call("GET", `/v1/collections/${c}/allowlists`, { headers });
    expect((await list(oldOwner)).status).to.equal(200);
    expect((await list(bearer(key))).status).to.equal(200);
    expectProblem(await list(newOwner), 403, /owner/);

    const { abi } = JSON.parse(
      await readFile(
        path.resolve(import.meta.dirname, "../../../artifacts/contracts/Collection.sol/Collection.json"),
        "utf8",
      ),
    ) as { abi: Abi };
    const hash = await walletFor(demoAccounts.partner, tc.chain, tc.rpcUrl).writeContract({
      address: c,
      abi,
      functionName: "transferOwnership",
      args: [carol.address],
    });
    expect((await tc.publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
    while ((await indexer.step()) > 0);

    expect((await list(newOwner)).status).to.equal(200);
    expectProblem(await list(oldOwner), 403, /owner/);
    expectProblem(await list(bearer(key)), 403, /no longer owns/);
    expect((await api.call("GET", "/v1/me", { headers: newOwner })).body).to.include({ address: carol.address });
    expect((await api.call("GET", "/v1/me", { headers: newOwner })).body!.roles).to.deep.equal(["holder", "partner"]);
    expect((await api.call("GET", "/v1/me", { headers: oldOwner })).body!.roles).to.deep.equal(["holder"]);
  });
});
