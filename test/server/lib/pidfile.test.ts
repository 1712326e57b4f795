import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { claimRun } from "../../../server/lib/pidfile.ts";
import { preferredOrFreePort } from "../../../server/lib/ports.ts";

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A process of our own that stands in for a run's chain, database or dev process (recognised by its marker). */
function standIn(marker: string): ChildProcess {
  return spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", marker], { stdio: "ignore" });
}

describe("npm run dev's run file: one run per data folder", () => {
  let dir: string;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "perkmint-run-"));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses while the owning run is alive, and leaves its chain and database alone", async () => {
    const owner = standIn("perkmint-owner-marker");
    const chain = standIn("perkmint-chain-marker");
    children.push(owner, chain);
    const file = path.join(dir, "dev", "run.json");
    await new Promise((r) => setTimeout(r, 200)); // their command lines are in /proc
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(
      file,
      JSON.stringify({
        owner: { pid: owner.pid, match: "perkmint-owner-marker" },
        processes: [{ pid: chain.pid, match: "perkmint-chain-marker" }],
      }),
    );
    const said: string[] = [];
    const claim = await claimRun(file, "perkmint-test", (l) => said.push(l));
    expect(claim.ok).to.equal(false);
    if (!claim.ok) expect(claim.owner.pid).to.equal(owner.pid);
    expect(isAlive(chain.pid!)).to.equal(true);
    expect(said).to.deep.equal([]);
    expect(JSON.parse(await readFile(file, "utf8")).owner.pid).to.equal(owner.pid);
  });

  it("ends what a dead run left behind, only if it is still the same process, then claims the folder", async () => {
    const chain = standIn("perkmint-chain-marker");
    const stranger = standIn("someone-else");
    children.push(chain, stranger);
    await new Promise((r) => setTimeout(r, 200));
    const file = path.join(dir, "run.json");
    // The owner is gone (a pid that is not running); the stranger's pid is recorded with another command line.
    const dead = spawn(process.execPath, ["-e", "0"]);
    await new Promise((r) => dead.once("exit", r));
    await writeFile(
      file,
      JSON.stringify({
        owner: { pid: dead.pid, match: "scripts/dev.ts" },
        processes: [
          { pid: chain.pid, match: "perkmint-chain-marker" },
          { pid: stranger.pid, match: "perkmint-db-marker" },
        ],
      }),
    );
    const said: string[] = [];
    const claim = await claimRun(file, "perkmint-test", (l) => said.push(l));
    expect(claim.ok).to.equal(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(isAlive(chain.pid!)).to.equal(false);
    expect(isAlive(stranger.pid!), "a pid now used by another program is not ours to end").to.equal(true);
    expect(said).to.have.length(1);
    expect(JSON.parse(await readFile(file, "utf8")).owner.pid).to.equal(process.pid);
    if (claim.ok) {
      await claim.track({ pid: 123, match: "x" });
      expect(JSON.parse(await readFile(file, "utf8")).processes).to.deep.equal([{ pid: 123, match: "x" }]);
      await claim.release();
    }
    await readFile(file).then(
      () => expect.fail("released run file still there"),
      () => {},
    );
  });

  it("says so when the preferred port is taken, before taking another", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const said: string[] = [];
      const port = await preferredOrFreePort(taken, { name: "API", variable: "PORT" }, (l) => said.push(l));
      expect(port).to.not.equal(taken);
      expect(said).to.deep.equal([
        `Port ${taken} is already in use, so the API takes port ${port} instead (set PORT to choose one).`,
      ]);
    } finally {
      blocker.close();
    }
  });
});
