import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { createPublicClient, http } from "viem";

const require = createRequire(import.meta.url);

export type LocalChain = { rpcUrl: string; port: number; pid: number; stop(): Promise<void> };

function hardhatCli(): string {
  const pkgFile = require.resolve("hardhat/package.json");
  const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { bin: { hardhat: string } };
  return path.join(path.dirname(pkgFile), pkg.bin.hardhat);
}

/**
 * Chains started by this process and still running: ended when the process exits, however it exits (a script that
 * throws after starting its chain must not leave the chain running on its port).
 */
const runningChains = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of runningChains) child.kill("SIGTERM");
});

/** Ends a child process: SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export function endChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => (clearTimeout(timer), resolve()));
    child.kill("SIGTERM");
  });
}

/**
 * Starts `hardhat node` (a real local chain: JSON-RPC over HTTP and WebSocket on one port) as a child process on
 * the current Node (Hardhat 3 needs Node 22, which `npm run` provides), and waits until it answers.
 */
export async function startLocalChain(options: { port: number; log?: (line: string) => void }): Promise<LocalChain> {
  const { port } = options;
  const child = spawn(process.execPath, [hardhatCli(), "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FORCE_COLOR: "0" },
  });
  runningChains.add(child);
  child.once("exit", () => runningChains.delete(child));
  let output = "";
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    if (output.length < 20_000) output += text;
    options.log?.(text);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const rpcUrl = `http://127.0.0.1:${port}`;
  const client = createPublicClient({ transport: http(rpcUrl, { retryCount: 0, timeout: 1000 }) });
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(
        `hardhat node exited with code ${child.exitCode} before answering on port ${port}:\n${output.slice(-2000)}`,
      );
    }
    try {
      await client.getChainId();
      break;
    } catch {
      if (Date.now() - started > 60_000) {
        await endChild(child);
        throw new Error(`hardhat node did not answer on ${rpcUrl} within 60 s:\n${output.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { rpcUrl, port, pid: child.pid!, stop: () => endChild(child) };
}
