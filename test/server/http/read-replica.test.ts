import { expect } from "chai";
import type { Server } from "node:http";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type pg from "pg";
import { getAddress, type LocalAccount } from "viem";
import { createSiweMessage } from "viem/siwe";
import { getEdition } from "../../../server/catalog/editions.ts";
import { HeadWatcher } from "../../../server/chain/head-watcher.ts";
import { demoAccounts, demoWallets, mintEdition, seedDemo, type DemoSeed } from "../../../server/chain/demo-seed.ts";
import { createPrisma, type PrismaClient } from "../../../server/database/client.ts";
import { createPool } from "../../../server/database/pool.ts";
import { createApp } from "../../../server/http/app.ts";
import { healthSchema } from "../../../server/http/health.ts";
import { Indexer } from "../../../server/indexer/indexer.ts";
import { RpcClient } from "../../../server/indexer/rpc.ts";
import { createLogger } from "../../../server/lib/logger.ts";
import { findFreePort } from "../../../server/lib/ports.ts";
import type { PlatformDeployment } from "../../../server/chain/deploy.ts";
import { deployTestPlatform, startTestChain, type TestChain } from "../../../server/testing/chain.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";

type Answer = { status: number; headers: Headers; body: Record<string, unknown> };

/**
 * DATABASE_READ_URL: the catalog's public reads go to a read replica, everything else to the primary. The "replica"
 * here is a second database whose index trails the primary's (its indexer stopped earlier), so every answer shows
 * which database it came from: the catalog's `asOfBlock` is the replica's, sign-in and partner writes land on the
 * primary, and /health reports how far the replica trails.
 */
describe("a read replica for the catalog's reads (DATABASE_READ_URL)", function () {
  this.timeout(120_000);
  let tc: TestChain;
  let primary: TestDatabase;
  let replica: TestDatabase;
  let primaryPool: pg.Pool;
  let replicaPool: pg.Pool;
  let deadReplicaPool: pg.Pool;
  let prisma: PrismaClient;
  let seed: DemoSeed;
  let deployment: PlatformDeployment;
  let chainHead: HeadWatcher;
  let replicaHead: bigint;
  let primaryHead: bigint;
  const servers: Server[] = [];
  const logger = createLogger("silent");
  const alice = demoAccounts.alice as unknown as LocalAccount;
  const partner = demoAccounts.partner as unknown as LocalAccount;

  const indexInto = async (db: pg.Pool) => {
    const indexer = new Indexer({
      db,
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
    await indexer.close();
    return BigInt((await db.query<{ b: string }>("SELECT block_number::text AS b FROM indexer_checkpoint")).rows[0]!.b);
  };

  /** An API on a port chosen first, so its PUBLIC_URL (which SIWE messages name) is known. */
  async function startApi(readDb: pg.Pool) {
    const port = await findFreePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const app = createApp({
      prisma,
      readDb,
      publicClient: tc.publicClient,
      chainHead,
      chainId: 31337,
      confirmations: 0,
      dataDir: await mkdtemp(path.join(os.tmpdir(), "perkmint-replica-data-")),
      auth: { publicUrl },
      checkResponses: true,
      logger,
    });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(port, "127.0.0.1", () => resolve(s));
    });
    servers.push(server);
    const call = async (method: string, p: string, options: { body?: unknown; token?: string } = {}) => {
      const res = await fetch(publicUrl + p, {
        method,
        headers: {
          ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Answer["body"] };
    };
    const signIn = async (account: LocalAccount) => {
      const message = createSiweMessage({
        domain: `127.0.0.1:${port}`,
        address: account.address,
        statement: "Sign in to Perkmint",
        uri: publicUrl,
        version: "1",
        chainId: 31337,
        nonce: (await call("GET", "/v1/auth/nonce")).body.nonce as string,
        issuedAt: new Date(),
      });
      const answer = await call("POST", "/v1/auth/verify", {
        body: { message, signature: await account.signMessage({ message }) },
      });
      expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
      return answer.body.token as string;
    };
    return { call, signIn };
  }

  const count = async (db: pg.Pool, table: string) =>
    Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]!.n);

  before(async function () {
    [tc, primary, replica] = await Promise.all([startTestChain(), createTestDatabase(), createTestDatabase()]);
    primaryPool = createPool(primary.url);
    replicaPool = createPool(replica.url);
    // Nothing listens there: a replica that is down.
    deadReplicaPool = createPool(`postgres://postgres@127.0.0.1:${await findFreePort()}/perkmint`, 2, {
      connectTimeoutMs: 500,
      onIdleError: () => {},
    });
    prisma = createPrisma(primary.url);
    deployment = await deployTestPlatform(tc);
    seed = await seedDemo(tc.publicClient, demoWallets(tc.chain, tc.rpcUrl), deployment.factory);
    // The replica has replayed up to here; the primary goes on: alice mints 2 more of edition 1.
    replicaHead = await indexInto(replicaPool);
    await mintEdition(
      tc.publicClient,
      demoWallets(tc.chain, tc.rpcUrl).alice,
      seed.collection,
      1n,
      2n,
      seed.editions[0]!.price,
    );
    primaryHead = await indexInto(primaryPool);
    chainHead = new HeadWatcher({ rpc: new RpcClient({ urls: [tc.rpcUrl], timeoutMs: 1000, maxAttempts: 1 }) });
    await chainHead.tick();
  });

  after(async function () {
    for (const server of servers) {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    }
    await prisma?.$disconnect();
    await Promise.all([primaryPool?.end(), replicaPool?.end(), deadReplicaPool?.end()]);
    await Promise.all([primary?.drop(), replica?.drop()]);
    await tc?.stop();
  });

  it("answers every catalog read from the replica: its asOfBlock and its rows, not the primary's", async function () {
    expect(primaryHead > replicaHead).to.equal(true);
    const api = await startApi(replicaPool);
    const c = seed.collection;
    const paths = [
      `/v1/collections/${c}`,
      `/v1/collections/${c}/editions`,
      `/v1/collections/${c}/editions/1`,
      `/v1/collections/${c}/editions/1/holders`,
      `/v1/collections/${c}/activity`,
      `/v1/collections/${c}/editions/1/activity`,
      "/v1/drops",
      `/v1/wallets/${alice.address}/holdings`,
      `/v1/wallets/${alice.address}/activity`,
    ];
    for (const p of paths) {
      const answer = await api.call("GET", p);
      expect(answer.status, `${p}: ${JSON.stringify(answer.body)}`).to.equal(200);
      expect(answer.body.asOfBlock, p).to.equal(replicaHead.toString());
    }
    // The rows are the replica's too: alice's later mint is on the primary only.
    const edition = await api.call("GET", `/v1/collections/${c}/editions/1`);
    expect(edition.body.minted).to.equal("3");
    expect((await getEdition({ db: primaryPool, chainId: 31337 }, c, 1n)).minted).to.equal("5");
    const holdings = await api.call("GET", `/v1/wallets/${alice.address}/holdings`);
    expect(holdings.body.items).to.deep.include({ collection: getAddress(c), tokenId: "1", amount: "1" });
    // A past block's holdings are answered by the replica within its own index, and refused beyond it.
    const beyond = await api.call("GET", `/v1/wallets/${alice.address}/holdings?asOfBlock=${primaryHead}`);
    expect(beyond.status).to.equal(422);
    // The collections list states no asOfBlock: it stays on the primary.
    expect((await api.call("GET", "/v1/collections")).status).to.equal(200);
  });

  it("signs in, keeps sessions and takes partner writes on the primary, reading its own writes", async function () {
    const api = await startApi(replicaPool);
    const before = {
      primary: await count(primaryPool, "auth_session"),
      replica: await count(replicaPool, "auth_session"),
    };
    const token = await api.signIn(partner);
    expect(await count(primaryPool, "auth_session")).to.equal(before.primary + 1);
    expect(await count(replicaPool, "auth_session")).to.equal(before.replica);
    // The partner role comes from the primary's index (the replica would say the same here, but never decides).
    const me = await api.call("GET", "/v1/me", { token });
    expect(me.body).to.deep.include({ address: partner.address, roles: ["holder", "partner"] });
    const created = await api.call("POST", "/v1/partner/api-keys", {
      token,
      body: { name: "shop", collections: [seed.collection], access: "read" },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const listed = await api.call("GET", "/v1/partner/api-keys", { token });
    expect((listed.body.items as { id: string }[]).map((k) => k.id)).to.include(created.body.id);
    expect(await count(primaryPool, "partner_api_key")).to.equal(1);
    expect(await count(replicaPool, "partner_api_key")).to.equal(0);
    expect(await count(replicaPool, "auth_nonce")).to.equal(0);
    // Signing out is a write too, and the next request (on the primary) sees it.
    expect((await api.call("POST", "/v1/auth/logout", { token })).status).to.equal(204);
    expect((await api.call("GET", "/v1/me", { token })).status).to.equal(401);
  });

  it("/health reports the replica's lag in blocks; too far behind, or down, is unhealthy", async function () {
    const api = await startApi(replicaPool);
    await chainHead.tick();
    const healthy = await api.call("GET", "/health");
    expect(healthy.status, JSON.stringify(healthy.body)).to.equal(200);
    const body = healthSchema.parse(healthy.body);
    expect(body.indexedBlock).to.equal(primaryHead.toString());
    // A second database is no streaming standby: no WAL replay lag to report.
    expect(body.replica).to.deep.equal({
      database: "ok",
      indexedBlock: replicaHead.toString(),
      lagBlocks: (primaryHead - replicaHead).toString(),
      lagSeconds: null,
    });

    // The primary moves 12 blocks on; the replica stays.
    await tc.mine(12);
    primaryHead = await indexInto(primaryPool);
    await chainHead.tick();
    const behind = await api.call("GET", "/health");
    expect(behind.status).to.equal(503);
    expect(behind.body).to.include({ ok: false, database: "ok", chain: "ok", lagBlocks: "0" });
    expect(behind.body.replica).to.include({ database: "ok", lagBlocks: (primaryHead - replicaHead).toString() });

    // Caught up again.
    expect(await indexInto(replicaPool)).to.equal(primaryHead);
    const caughtUp = await api.call("GET", "/health");
    expect(caughtUp.status).to.equal(200);
    expect(caughtUp.body.replica).to.include({ indexedBlock: primaryHead.toString(), lagBlocks: "0" });
  });

  it("a replica that is down: catalog reads are the usual 503 problem, /health says so, everything else answers", async function () {
    const api = await startApi(deadReplicaPool);
    const read = await api.call("GET", `/v1/collections/${seed.collection}`);
    expect(read.status).to.equal(503);
    expect(read.headers.get("content-type")).to.match(/^application\/problem\+json/);
    expect(read.headers.get("retry-after")).to.match(/^\d+$/);
    expect(read.body.detail).to.match(/database is unavailable/);
    const health = await api.call("GET", "/health");
    expect(health.status).to.equal(503);
    expect(health.body).to.include({ database: "ok", chain: "ok" });
    expect(health.body.replica).to.deep.equal({
      database: "unreachable",
      indexedBlock: null,
      lagBlocks: null,
      lagSeconds: null,
    });
    // Sign-in, the collections list and partner routes never touch the replica.
    const token = await api.signIn(alice);
    expect((await api.call("GET", "/v1/me", { token })).status).to.equal(200);
    expect((await api.call("GET", "/v1/collections")).status).to.equal(200);
  });
});
