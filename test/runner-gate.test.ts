import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { findFreePort } from "../server/lib/ports.ts";

/**
 * The gate every other test relies on: a failure must end the test command (and every script) with a non-zero exit
 * status. Each case runs the real runner or script as a child process on a deliberately failing input; the fixtures
 * live in server/testing/runner-gate/, outside test/, so this run never loads them itself.
 */
const root = path.resolve(import.meta.dirname, "..");
const fixtures = "server/testing/runner-gate";
const hardhatCli = path.join(root, "node_modules/hardhat/dist/src/cli.js");

type Outcome = { code: number | null; signal: NodeJS.Signals | null; output: string };

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, output }));
  });
}

/** Hardhat on the Node that runs this suite (Node 22: Hardhat 3 refuses older ones). */
const hardhat = (...args: string[]) => run(process.execPath, [hardhatCli, ...args]);
/** An npm script exactly as a user runs it. */
const npmRun = (script: string, args: string[], env: NodeJS.ProcessEnv) =>
  run("npm", ["run", "--silent", script, ...(args.length ? ["--", ...args] : [])], env);

const portAnswers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });

/** Whether nothing answers on `port` any more within `ms` (checked every 100 ms). */
async function portClosesWithin(port: number, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    if (!(await portAnswers(port))) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !(await portAnswers(port));
}

function expectFailure(outcome: Outcome, because: RegExp) {
  expect(outcome.signal, outcome.output).to.equal(null);
  expect(outcome.code, outcome.output).to.be.a("number").and.not.equal(0);
  expect(outcome.output).to.match(because);
}

describe("the test gate: any failure exits non-zero", function () {
  this.timeout(180_000);

  describe("the test runner", () => {
    it("exits 0 on a passing file that loads the embedded PostgreSQL (the control)", async () => {
      const outcome = await hardhat("test", "mocha", `${fixtures}/passing.ts`);
      expect(outcome.code, outcome.output).to.equal(0);
      expect(outcome.output).to.match(/1 passing/);
    });

    it("exits non-zero on a failing mocha assertion", async () => {
      expectFailure(await hardhat("test", "mocha", `${fixtures}/mocha/failing-assertion.ts`), /1 failing/);
    });

    it("exits non-zero when a root hook throws", async () => {
      expectFailure(
        await hardhat("test", "mocha", `${fixtures}/mocha/throwing-root-hook.ts`),
        /deliberate failure in a root hook/,
      );
    });

    it("exits non-zero on a failing Solidity test", async () => {
      expectFailure(await hardhat("--config", `${fixtures}/hardhat.config.ts`, "test", "solidity"), /1 failing/);
    });

    it("exits non-zero when `hardhat test` (what npm test runs) has failures", async () => {
      expectFailure(await hardhat("--config", `${fixtures}/hardhat.config.ts`, "test"), /failing/);
    });
  });

  describe("CI's check of the runner's summary (.ci/check-test-summary)", () => {
    const check = async (output: string) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "perkmint-summary-"));
      try {
        await writeFile(path.join(dir, "log"), output);
        return await run("bash", [".ci/check-test-summary", path.join(dir, "log")]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };

    it("passes a run whose summary has passing tests only", async () => {
      const outcome = await check("  11 passing\n\n  134 passing (40s)\n\n145 passing (11 solidity, 134 mocha)\n");
      expect(outcome.code, outcome.output).to.equal(0);
    });

    it("fails a run that reports a failing test, even in colour", async () => {
      expectFailure(await check("  144 passing (40s)\n\x1b[31m  1 failing\x1b[0m\n"), /failing/);
    });

    it("fails a run that reports a pending (skipped) test", async () => {
      expectFailure(await check("  144 passing (40s)\n  1 pending\n"), /pending/);
    });

    it("fails a run that reports no passing test", async () => {
      expectFailure(await check("No contracts to compile\n  0 passing\n"), /no passing test/);
    });
  });

  describe("the npm scripts", () => {
    let closedPort: number;
    let dataDir: string;
    before(async () => {
      // Nothing listens here: every connection to it is refused at once.
      closedPort = await findFreePort();
      dataDir = await mkdtemp(path.join(os.tmpdir(), "perkmint-gate-"));
    });
    after(async () => {
      await rm(dataDir, { recursive: true, force: true });
    });
    const unreachableDatabase = () => `postgres://postgres@127.0.0.1:${closedPort}/perkmint`;

    it("bench:gas: a script run by `hardhat run` that throws exits non-zero", async () => {
      expectFailure(await hardhat("run", `${fixtures}/failing-script.ts`), /deliberate failure in a hardhat script/);
    });

    it("a script that throws after starting a local chain exits non-zero and leaves no chain behind", async () => {
      const outcome = await run(process.execPath, ["--import", "tsx", `${fixtures}/chain-then-throw.ts`]);
      expectFailure(outcome, /deliberate failure after starting a chain/);
      const port = Number(/chain port (\d+)/.exec(outcome.output)?.[1]);
      expect(port, outcome.output).to.be.greaterThan(0);
      // The chain gets SIGTERM as the script exits and closes its port a moment later: allow it a few seconds.
      expect(await portClosesWithin(port, 10_000), "the chain outlived the script").to.equal(true);
    });

    it("bench:indexer: a bad argument exits non-zero", async () => {
      expectFailure(await npmRun("bench:indexer", ["--events", "many"], {}), /--events/);
    });

    it("bench:indexer: an unreachable database exits non-zero", async () => {
      expectFailure(
        await npmRun("bench:indexer", ["--events", "10"], { DATABASE_URL: unreachableDatabase() }),
        /ECONNREFUSED|connect/,
      );
    });

    it("db:migrate: an unreachable database exits non-zero", async () => {
      expectFailure(await npmRun("db:migrate", [], { DATABASE_URL: unreachableDatabase() }), /ECONNREFUSED|connect/);
    });

    it("indexer:rebuild: an unreachable database exits non-zero", async () => {
      expectFailure(
        await npmRun("indexer:rebuild", [], { DATABASE_URL: unreachableDatabase() }),
        /ECONNREFUSED|connect/,
      );
    });

    it("deploy: an unreachable chain exits non-zero", async () => {
      const outcome = await npmRun("deploy", [], {
        RPC_URL: `http://127.0.0.1:${closedPort}`,
        // Hardhat's first development key: public, for local chains only.
        DEPLOYER_PRIVATE_KEY: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        DEPLOYMENTS_DIR: dataDir,
      });
      expectFailure(outcome, /ECONNREFUSED|fetch failed|HTTP request failed/);
    });

    for (const script of ["server", "indexer", "dev"]) {
      it(`${script}: an invalid environment variable exits non-zero`, async () => {
        expectFailure(
          await npmRun(script, [], { PORT: "not-a-port", LOG_LEVEL: "loud", PERKMINT_DATA_DIR: dataDir }),
          /LOG_LEVEL/,
        );
      });
    }

    it("dev: an unreachable database exits non-zero, after stopping the chain it started", async () => {
      const chainPort = await findFreePort();
      const outcome = await npmRun("dev", [], {
        DATABASE_URL: unreachableDatabase(),
        CHAIN_PORT: String(chainPort),
        PERKMINT_DATA_DIR: dataDir,
      });
      expectFailure(outcome, /ECONNREFUSED|connect/);
      expect(await portClosesWithin(chainPort, 10_000), "the local chain outlived the failed start").to.equal(true);
    });
  });
});
