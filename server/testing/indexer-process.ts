import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export type ServerProcess = IndexerProcess;

export type IndexerProcess = {
  child: ChildProcess;
  /** Every JSON log line the process wrote so far, parsed. */
  logs: Record<string, unknown>[];
  /** Resolves with the first log line matching `test` (rejects if the process exits first). */
  waitFor(test: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

// Children still running when the test process exits (a failed assertion between spawn and kill) are killed, so a
// test run never leaves an indexer behind holding a connection (or a COPY) open on the shared database server.
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Kills every indexer process this test process started that is still running. */
export async function killAllIndexers() {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
}

/** Starts `scripts/server.ts` (what `npm run server` runs: the API and the indexer by default) with `env` added. */
export function spawnServer(env: Record<string, string>): ServerProcess {
  return spawnScript(["--import", "tsx", path.join(root, "scripts/server.ts")], env);
}

/** Starts `scripts/indexer.ts` (what `npm run indexer` runs) as a child process with `env` added. */
export function spawnIndexer(env: Record<string, string>): IndexerProcess {
  // The same flags as `npm run indexer`: a heap cap (memory stays bounded by ranges in flight, not by the chain), and
  // garbage collection on the collecting thread only, which on a box of two cores shared with the node and PostgreSQL
  // costs about a tenth less CPU than V8's helper threads (measured with bench:indexer). INDEXER_NODE_FLAGS adds
  // flags for a diagnosis, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" during bench:indexer. No TypeScript loader:
  // Node strips the types itself, which starts faster and keeps a smaller heap than tsx.
  const extra = process.env.INDEXER_NODE_FLAGS?.split(" ").filter(Boolean) ?? [];
  const nodeFlags = ["--max-old-space-size=256", "--single-threaded-gc", ...extra];
  return spawnScript([...nodeFlags, path.join(root, "scripts/indexer.ts")], env);
}

function spawnScript(args: string[], env: Record<string, string>): IndexerProcess {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  const logs: Record<string, unknown>[] = [];
  const waiters: { test: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] =
    [];
  let buffer = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      logs.push(parsed);
      for (const w of [...waiters]) {
        if (w.test(parsed)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  });
  child.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < 20_000) stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    logs,
    exited,
    waitFor(test, timeoutMs = 60_000) {
      const hit = logs.find(test);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`indexer process: no matching log within ${timeoutMs} ms\n${stderr.slice(-2000)}`)),
          timeoutMs,
        );
        waiters.push({ test, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(
            new Error(
              `indexer process exited (${code ?? signal}) before the expected log\n${stderr.slice(-2000)}\n${JSON.stringify(logs.slice(-5))}`,
            ),
          );
        });
      });
    },
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
