import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createPublicClient, defineChain, getAddress, http } from "viem";
import { demoAccounts, mintEdition, walletFor } from "../../server/chain/demo-seed.ts";
import { findFreePort } from "../../server/lib/ports.ts";
import { createTestDatabase, type TestDatabase } from "../../server/testing/database.ts";

/**
 * End to end: `npm run dev`'s script as a child process (local chain, deploy, seed, indexer, API), a new on-chain
 * mint, the new balance seen through the API, then SIGTERM and no process left behind.
 */
describe("npm run dev, end to end", () => {
  let dev: ChildProcess;
  let output = "";
  let dataDir: string;
  let db: TestDatabase;
  let apiPort: number;
  let chainPort: number;

  const portAnswers = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
  const isAlive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "perkmint-e2e-"));
    db = await createTestDatabase({ migrate: false });
    apiPort = await findFreePort();
    chainPort = await findFreePort();
    dev = spawn(process.execPath, ["--import", "tsx", "scripts/dev.ts"], {
      env: {
        ...process.env,
        PORT: String(apiPort),
        CHAIN_PORT: String(chainPort),
        DATABASE_URL: db.url,
        PERKMINT_DATA_DIR: dataDir,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    dev.stdout!.on("data", (c: Buffer) => (output += c.toString()));
    dev.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (output.includes("Perkmint is running")) {
          clearInterval(timer);
          resolve();
        } else if (dev.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`npm run dev exited early:\n${output}`));
        }
      }, 50);
    });
  });

  after(async () => {
    if (dev && dev.exitCode === null) dev.kill("SIGKILL");
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("prints the URLs and demo wallets, and is healthy with the demo data indexed", async () => {
    expect(output).to.include(`http://127.0.0.1:${apiPort}`);
    expect(output).to.include(`http://127.0.0.1:${chainPort}`);
    expect(output).to.include(demoAccounts.alice.address);
    const health = await (await fetch(`http://127.0.0.1:${apiPort}/health`)).json();
    expect(health).to.include({ ok: true, chainId: 31337, lagBlocks: "0" });
    const holdings = await (
      await fetch(`http://127.0.0.1:${apiPort}/v1/wallets/${demoAccounts.alice.address}/holdings`)
    ).json();
    expect(holdings.items.map((i: { tokenId: string; amount: string }) => [i.tokenId, i.amount])).to.deep.equal([
      ["1", "1"],
      ["2", "3"],
    ]);
  });

  it("gives the demo editions real metadata and images, served at the URIs they point to on-chain", async () => {
    const api = `http://127.0.0.1:${apiPort}`;
    const collection = /Demo drop\s+(0x[0-9a-fA-F]{40})/.exec(output)![1]!;
    const edition = await (await fetch(`${api}/v1/collections/${collection}/editions/1`)).json();
    // EIP-1155's {id} template on the platform's own metadata route.
    expect(edition.uri).to.match(/^http:\/\/127\.0\.0\.1:\d+\/metadata\/31337\/0x[0-9a-fA-F]{40}\/\{id\}\.json$/);
    const metadata = await (await fetch(edition.uri.replace("{id}", 1n.toString(16).padStart(64, "0")))).json();
    expect(metadata.name).to.be.a("string").and.not.equal("");
    const image = await fetch(metadata.image);
    expect(image.status).to.equal(200);
    expect(image.headers.get("content-type")).to.equal("image/png");
  });

  it("runs the worker: the demo mints earned points under the demo rules, and edition #1 is offered for points", async () => {
    const api = `http://127.0.0.1:${apiPort}`;
    const rules = await (await fetch(`${api}/v1/points/rules`)).json();
    expect(rules.version).to.be.a("number");
    const offers = await (await fetch(`${api}/v1/points/offers`)).json();
    expect(offers.items.map((o: { tokenId: string; price: string }) => [o.tokenId, o.price])).to.deep.equal([
      ["1", "20"],
    ]);
    const seasons = await (await fetch(`${api}/v1/points/seasons`)).json();
    // Alice's 4 demo tokens earn 10 points each (POINTS_FINALITY 0 in dev: available once indexed).
    let board: { items: { wallet: string; points: string }[] } = { items: [] };
    for (let i = 0; i < 100; i++) {
      board = await (await fetch(`${api}/v1/leaderboard?season=${seasons.items[0].id}`)).json();
      if (board.items.some((r) => r.wallet === demoAccounts.alice.address)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(board.items.find((r) => r.wallet === demoAccounts.alice.address)?.points).to.equal("40");
  });

  it("sees a new on-chain mint through GET /v1/wallets/:address/holdings", async () => {
    const rpcUrl = `http://127.0.0.1:${chainPort}`;
    const chain = defineChain({
      id: 31337,
      name: "Hardhat",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    });
    const publicClient = createPublicClient({ chain, transport: http(rpcUrl) });
    const collections = await (await fetch(`http://127.0.0.1:${apiPort}/v1/collections`)).json();
    const collection = collections.items[0].address as `0x${string}`;
    const receipt = await mintEdition(
      publicClient,
      walletFor(demoAccounts.carol, chain, rpcUrl),
      collection,
      2n,
      4n,
      2_000_000_000_000_000n,
    );

    const url = `http://127.0.0.1:${apiPort}/v1/wallets/${demoAccounts.carol.address}/holdings`;
    let body: { asOfBlock: string; items: unknown[] } = { asOfBlock: "0", items: [] };
    for (let i = 0; i < 400 && BigInt(body.asOfBlock ?? 0) < receipt.blockNumber; i++) {
      body = await (await fetch(url)).json();
      if (BigInt(body.asOfBlock ?? 0) < receipt.blockNumber) await new Promise((r) => setTimeout(r, 25));
    }
    expect(body.items).to.deep.equal([{ collection: getAddress(collection), tokenId: "2", amount: "4" }]);
  });

  it("refuses a second start on the same data folder while the first runs, and leaves the first alone", async () => {
    const run = JSON.parse(await readFile(path.join(dataDir, "dev", "run.json"), "utf8")) as {
      owner: { pid: number };
      processes: { pid: number }[];
    };
    expect(run.owner.pid).to.equal(dev.pid);
    const second = await runDev({ PERKMINT_DATA_DIR: dataDir, DATABASE_URL: db.url, LOG_LEVEL: "warn" });
    expect(second.code).to.equal(1);
    expect(second.output).to.contain(`Perkmint is already running on the data folder`);
    expect(second.output).to.contain(`process ${dev.pid}`);
    expect(second.output).to.not.contain("left over");
    for (const { pid } of run.processes) expect(isAlive(pid), `pid ${pid}`).to.equal(true);
    const health = await fetch(`http://127.0.0.1:${apiPort}/health`);
    expect(health.status).to.equal(200);
    expect(await portAnswers(chainPort)).to.equal(true);
  });

  it("stops the chain, the API and the indexer on SIGTERM, leaving no process behind", async () => {
    const tracked = (
      JSON.parse(await readFile(path.join(dataDir, "dev", "run.json"), "utf8")) as { processes: { pid: number }[] }
    ).processes;
    expect(tracked.length).to.be.greaterThan(0);
    const exited = new Promise<number | null>((resolve) => dev.once("exit", (code) => resolve(code)));
    dev.kill("SIGTERM");
    expect(await exited).to.equal(0);
    expect(await portAnswers(apiPort)).to.equal(false);
    expect(await portAnswers(chainPort)).to.equal(false);
    for (const { pid } of tracked) expect(isAlive(pid), `pid ${pid}`).to.equal(false);
    // The data folder is free again.
    await readFile(path.join(dataDir, "dev", "run.json")).then(
      () => expect.fail("run.json left behind"),
      () => {},
    );
  });

  it("names each bad environment variable on one line and exits 1, without a stack trace", async () => {
    const { code, output } = await runDev({ PORT: "abc", LOG_LEVEL: "loud", PERKMINT_DATA_DIR: dataDir });
    expect(code).to.equal(1);
    expect(output.trim().split("\n")).to.deep.equal([
      "Invalid configuration:",
      '  - PORT: expected an integer port from 0 to 65535; got "abc"',
      '  - LOG_LEVEL: expected fatal, error, warn, info, debug, trace, silent; got "loud"',
    ]);
  });
});

/** Runs scripts/dev.ts with `env` added to the environment until it exits; its exit code and all it printed. */
function runDev(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/dev.ts"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) => child.once("exit", (code) => (clearTimeout(timer), resolve({ code, output }))));
}
