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
import { startStreamingPair, type StreamingPair } from "../../../server/testing/streaming-standby.ts";
import { migrateDatabase } from "../../../server/database/migrate.ts";

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

/**
 * The same on a real streaming standby (a hot standby replaying the primary's WAL, read-only): every write the API
 * makes would fail there, so sign-in and partner writes succeeding proves they go to the primary; /health reports the
 * replay lag in seconds besides the lag in blocks, and both while replay is paused.
 */
describe("a read replica that is a real streaming standby", function () {
  this.timeout(120_000);
  let tc: TestChain;
  let pair: StreamingPair;
  let primaryPool: pg.Pool;
  let standbyPool: pg.Pool;
  let prisma: PrismaClient;
  let deployment: PlatformDeployment;
  let seed: DemoSeed;
  let chainHead: HeadWatcher;
  let server: Server | undefined;
  let base: string;
  const logger = createLogger("silent");
  const partner = demoAccounts.partner as unknown as LocalAccount;

  const indexPrimary = async () => {
    const indexer = new Indexer({
      db: primaryPool,
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
    await chainHead.tick();
    return (await primaryPool.query<{ b: string }>("SELECT block_number::text AS b FROM indexer_checkpoint")).rows[0]!
      .b;
  };
  const call = async (method: string, p: string, options: { body?: unknown; token?: string } = {}) => {
    const res = await fetch(base + p, {
      method,
      headers: {
        ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  /** /health until `test` holds (replication is asynchronous). */
  const healthUntil = async (test: (replica: Record<string, unknown>) => boolean) => {
    const started = Date.now();
    for (;;) {
      const health = await call("GET", "/health");
      const replica = healthSchema.parse(health.body).replica!;
      if (test(replica)) return { ...health, replica };
      if (Date.now() - started > 15_000) throw new Error(`replica never got there: ${JSON.stringify(health.body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async function () {
    [tc, pair] = await Promise.all([startTestChain(), startStreamingPair()]);
    const primaryUrl = pair.primary.urlFor("perkmint");
    // Migrated on the primary only: the standby gets the tables by replaying its WAL.
    await migrateDatabase(primaryUrl);
    primaryPool = createPool(primaryUrl);
    standbyPool = createPool(pair.standbyUrlFor("perkmint"));
    prisma = createPrisma(primaryUrl);
    deployment = await deployTestPlatform(tc);
    seed = await seedDemo(tc.publicClient, demoWallets(tc.chain, tc.rpcUrl), deployment.factory);
    chainHead = new HeadWatcher({ rpc: new RpcClient({ urls: [tc.rpcUrl], timeoutMs: 1000, maxAttempts: 1 }) });
    const port = await findFreePort();
    base = `http://127.0.0.1:${port}`;
    const app = createApp({
      prisma,
      readDb: standbyPool,
      publicClient: tc.publicClient,
      chainHead,
      chainId: 31337,
      confirmations: 0,
      dataDir: await mkdtemp(path.join(os.tmpdir(), "perkmint-standby-data-")),
      auth: { publicUrl: base },
      checkResponses: true,
      logger,
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(port, "127.0.0.1", () => resolve(s));
    });
  });

  after(async function () {
    if (server) {
      const closed = new Promise((resolve) => server!.close(resolve));
      server.closeAllConnections();
      await closed;
    }
    await prisma?.$disconnect();
    await Promise.all([primaryPool?.end(), standbyPool?.end()]);
    await pair?.stop();
    await tc?.stop();
  });

  it("answers catalog reads from the standby, caught up: lag 0 blocks and 0 s", async function () {
    const head = await indexPrimary();
    const { status, replica } = await healthUntil((r) => r.indexedBlock === head);
    expect(status).to.equal(200);
    expect(replica).to.deep.equal({ database: "ok", indexedBlock: head, lagBlocks: "0", lagSeconds: 0 });
    expect((await standbyPool.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r")).rows[0]!.r).to.equal(true);
    const collection = await call("GET", `/v1/collections/${seed.collection}`);
    expect(collection.status).to.equal(200);
    expect(collection.body.asOfBlock).to.equal(head);
  });

  it("signs in and takes partner writes on the primary (the standby refuses every write)", async function () {
    const nonce = (await call("GET", "/v1/auth/nonce")).body.nonce as string;
    const message = createSiweMessage({
      domain: new URL(base).host,
      address: partner.address,
      statement: "Sign in to Perkmint",
      uri: base,
      version: "1",
      chainId: 31337,
      nonce,
      issuedAt: new Date(),
    });
    const signedIn = await call("POST", "/v1/auth/verify", {
      body: { message, signature: await partner.signMessage({ message }) },
    });
    expect(signedIn.status, JSON.stringify(signedIn.body)).to.equal(200);
    const token = signedIn.body.token as string;
    const created = await call("POST", "/v1/partner/api-keys", {
      token,
      body: { name: "shop", collections: [seed.collection], access: "read" },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect((await call("GET", "/v1/me", { token })).status).to.equal(200);
  });

  it("reports the lag in blocks and seconds while replay is paused, and 0 again once it resumes", async function () {
    await standbyPool.query("SELECT pg_wal_replay_pause()");
    try {
      const before = (await healthUntil(() => true)).replica.indexedBlock as string;
      await mintEdition(
        tc.publicClient,
        demoWallets(tc.chain, tc.rpcUrl).bob,
        seed.collection,
        2n,
        1n,
        seed.editions[1]!.price,
      );
      await tc.mine(11);
      const head = await indexPrimary();
      // WAL arrives but is not replayed: the standby still answers at the block it had.
      const paused = await healthUntil((r) => r.lagBlocks === (BigInt(head) - BigInt(before)).toString());
      expect(paused.status).to.equal(503);
      expect(paused.replica).to.include({ database: "ok", indexedBlock: before });
      expect(paused.replica.lagSeconds).to.be.a("number").that.is.at.least(0);
      const collection = await call("GET", `/v1/collections/${seed.collection}`);
      expect(collection.body.asOfBlock).to.equal(before);
    } finally {
      await standbyPool.query("SELECT pg_wal_replay_resume()");
    }
    const head = (await primaryPool.query<{ b: string }>("SELECT block_number::text AS b FROM indexer_checkpoint"))
      .rows[0]!.b;
    const resumed = await healthUntil((r) => r.indexedBlock === head && r.lagSeconds === 0);
    expect(resumed.status).to.equal(200);
    expect(resumed.replica).to.deep.equal({ database: "ok", indexedBlock: head, lagBlocks: "0", lagSeconds: 0 });
  });
});
