import { expect } from "chai";
import type { LocalAccount } from "viem";
import { createSiweMessage } from "viem/siwe";
import { demoAccounts } from "../../server/chain/demo-seed.ts";
import { findFreePort } from "../../server/lib/ports.ts";
import { deployTestPlatform, startTestChain, type TestChain } from "../../server/testing/chain.ts";
import { createTestDatabase, type TestDatabase } from "../../server/testing/database.ts";
import { killAllIndexers, spawnServer, type ServerProcess } from "../../server/testing/indexer-process.ts";

type Answer = { status: number; headers: Headers; body: Record<string, unknown> };

const RATE_LIMIT = 10;

/**
 * Two API processes (`npm run server`) on one database behind an imagined load balancer: one also runs the indexer,
 * the other only the API (PERKMINT_ROLES=api). Both name the same PUBLIC_URL, as processes behind one balancer do,
 * and trust one proxy hop, so each part of the test is one client of its own (X-Forwarded-For). A session made on
 * one works on the other and ends on both; the IP rate limit counts every request to either process against one
 * budget, exactly.
 */
describe("scale-out: two API processes on one database", function () {
  this.timeout(180_000);
  let tc: TestChain;
  let database: TestDatabase;
  let publicUrl: string;
  const servers: { name: string; p: ServerProcess; base: string }[] = [];
  const alice = demoAccounts.alice as unknown as LocalAccount;

  before(async function () {
    [tc, database] = await Promise.all([startTestChain(), createTestDatabase({ migrate: false })]);
    const deployment = await deployTestPlatform(tc);
    const [portA, portB] = [await findFreePort(), await findFreePort()];
    publicUrl = `http://127.0.0.1:${portA}`;
    const common = {
      RPC_URL: tc.rpcUrl,
      DATABASE_URL: database.url,
      FACTORY_ADDRESS: deployment.factory,
      START_BLOCK: deployment.startBlock.toString(),
      POLL_INTERVAL_MS: "100",
      PUBLIC_URL: publicUrl,
      TRUST_PROXY_HOPS: "1",
      RATE_LIMIT_IP_PER_MINUTE: String(RATE_LIMIT),
      LOG_LEVEL: "info",
    };
    // Both start on an empty database at once: the migrations' advisory lock lets one of them apply them.
    servers.push(
      { name: "A (api+indexer)", p: spawnServer({ ...common, PORT: String(portA) }), base: publicUrl },
      {
        name: "B (api)",
        p: spawnServer({ ...common, PORT: String(portB), PERKMINT_ROLES: "api" }),
        base: `http://127.0.0.1:${portB}`,
      },
    );
    await Promise.all(servers.map((s) => s.p.waitFor((l) => l.msg === "HTTP API listening", 90_000)));
  });

  after(async function () {
    await killAllIndexers();
    await database?.drop();
    await tc?.stop();
  });

  const [a, b] = [0, 1];
  async function call(
    server: number,
    method: string,
    p: string,
    options: { client: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Answer> {
    const res = await fetch(servers[server]!.base + p, {
      method,
      headers: {
        "x-forwarded-for": options.client,
        ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Answer["body"] };
  }

  it("a session made on A works on B; signed out on B, it is refused on A", async function () {
    // 9 requests of this client: within the limit.
    const client = "198.51.100.1";
    const nonce = (await call(a, "GET", "/v1/auth/nonce", { client })).body.nonce as string;
    const message = createSiweMessage({
      domain: new URL(publicUrl).host,
      address: alice.address,
      statement: "Sign in to Perkmint",
      uri: publicUrl,
      version: "1",
      chainId: 31337,
      nonce,
      issuedAt: new Date(),
    });
    const signedIn = await call(a, "POST", "/v1/auth/verify", {
      client,
      body: { message, signature: await alice.signMessage({ message }) },
    });
    expect(signedIn.status, JSON.stringify(signedIn.body)).to.equal(200);
    const cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!;
    const bearer = { authorization: `Bearer ${String(signedIn.body.token)}` };

    for (const headers of [{ cookie }, bearer]) {
      const me = await call(b, "GET", "/v1/me", { client, headers });
      expect(me.status, JSON.stringify(me.body)).to.equal(200);
      expect(me.body).to.deep.include({ address: alice.address, roles: ["holder"] });
    }
    // A cookie-authenticated unsafe request names the platform's origin (CSRF), as the platform's own page would.
    const logout = await call(b, "POST", "/v1/auth/logout", { client, headers: { cookie, origin: publicUrl } });
    expect(logout.status, JSON.stringify(logout.body)).to.equal(204);
    for (const server of [a, b]) {
      for (const headers of [{ cookie }, bearer]) {
        const refused = await call(server, "GET", "/v1/me", { client, headers });
        expect(refused.status).to.equal(401);
        expect(refused.headers.get("content-type")).to.match(/^application\/problem\+json/);
      }
    }
  });

  it("the IP rate limit counts requests to both processes: exactly the limit passes, then 429 on either", async function () {
    const client = "198.51.100.2";
    const answers: Answer[] = [];
    for (let i = 0; i < RATE_LIMIT + 2; i++) answers.push(await call(i % 2, "GET", "/v1/collections", { client }));
    expect(answers.map((x) => x.status)).to.deep.equal([...Array<number>(RATE_LIMIT).fill(200), 429, 429]);
    // The two refused ones went one to each process.
    for (const refused of answers.slice(RATE_LIMIT)) {
      expect(refused.headers.get("content-type")).to.match(/^application\/problem\+json/);
      expect(Number(refused.headers.get("retry-after"))).to.be.within(1, 60);
      expect(refused.body).to.include({ status: 429 });
    }
    // Another client is not affected by this one's budget.
    expect((await call(b, "GET", "/v1/collections", { client: "198.51.100.3" })).status).to.equal(200);
  });

  it("concurrent requests split across both processes: exactly the limit gets through", async function () {
    const client = "198.51.100.4";
    const answers = await Promise.all(
      Array.from({ length: 3 * RATE_LIMIT }, (_, i) => call(i % 2, "GET", "/v1/collections", { client })),
    );
    expect(answers.filter((x) => x.status === 200)).to.have.length(RATE_LIMIT);
    expect(answers.filter((x) => x.status === 429)).to.have.length(2 * RATE_LIMIT);
    for (const s of servers) expect(s.p.child.exitCode, `${s.name} exited`).to.equal(null);
  });
});
