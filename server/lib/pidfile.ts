import { readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/** A process this tool started, and a fragment of its command line to recognise it by. */
export type TrackedProcess = { pid: number; match: string };

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return undefined;
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * After a `kill -9` of `npm run dev`, its chain and database outlive it. On the next start we end them — but only
 * processes whose command line still matches what we started (a recycled pid belongs to someone else).
 */
export async function endStaleProcesses(file: string, log: (line: string) => void) {
  let tracked: TrackedProcess[];
  try {
    tracked = JSON.parse(await readFile(file, "utf8")) as TrackedProcess[];
  } catch {
    return;
  }
  for (const { pid, match } of tracked) {
    const cmd = commandLine(pid);
    if (!cmd || !cmd.includes(match)) continue;
    log(`Ending process ${pid} left over from a previous run (${match})`);
    // SIGINT is PostgreSQL's fast shutdown; hardhat node exits on it too.
    process.kill(pid, "SIGINT");
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, "SIGKILL");
  }
  await rm(file, { force: true });
}

export async function writeTrackedProcesses(file: string, tracked: TrackedProcess[]) {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(tracked));
}
