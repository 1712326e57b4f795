import { readFileSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/** A process this tool started, and a fragment of its command line to recognise it by. */
export type TrackedProcess = { pid: number; match: string };

/** The run file: which process owns the data folder, and the processes it started (chain, database). */
export type RunFile = { owner: TrackedProcess; processes: TrackedProcess[] };

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

/** Is `p` still the process we recorded (alive, and its command line still matches: a recycled pid is not)? */
export function isRunning(p: TrackedProcess): boolean {
  if (!alive(p.pid)) return false;
  const cmd = commandLine(p.pid);
  // Without /proc (not Linux) a live pid is taken at its word.
  return cmd === undefined ? true : cmd.includes(p.match);
}

/** Ends `p` if it is still the process we started: SIGINT (PostgreSQL's fast shutdown; hardhat node exits too), then SIGKILL. */
async function endProcess(p: TrackedProcess, log: (line: string) => void) {
  if (!isRunning(p)) return;
  log(`Ending process ${p.pid} left over from a previous run whose owner is gone (${p.match})`);
  try {
    process.kill(p.pid, "SIGINT");
  } catch {
    return;
  }
  for (let i = 0; i < 50 && alive(p.pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(p.pid)) process.kill(p.pid, "SIGKILL");
}

function parseRunFile(text: string): RunFile | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    // The older format: a bare list of processes, without an owner.
    if (Array.isArray(parsed)) return { owner: { pid: 0, match: "" }, processes: parsed as TrackedProcess[] };
    const run = parsed as RunFile;
    if (run && typeof run.owner?.pid === "number" && Array.isArray(run.processes)) return run;
  } catch {
    // unreadable: treated as a run whose owner is gone
  }
  return undefined;
}

export type RunClaim =
  | { ok: true; file: string; track(p: TrackedProcess): Promise<void>; release(): Promise<void> }
  | { ok: false; owner: TrackedProcess };

/**
 * Claims a data folder's run file for this process, so one `npm run dev` at a time uses a data folder:
 * - no run file: it is created (exclusively: of two starts at once, one wins);
 * - a run file whose owner is alive (same pid, same command line): not ours; `{ ok: false, owner }`, nothing touched;
 * - a run file whose owner is gone (e.g. `kill -9`): the chain and database it started, if still running and still
 *   the same processes, are ended; then the folder is claimed.
 * `ownerMatch` is a fragment of this process's command line, by which a later start recognises it.
 */
export async function claimRun(file: string, ownerMatch: string, log: (line: string) => void): Promise<RunClaim> {
  await mkdir(path.dirname(file), { recursive: true });
  const me: RunFile = { owner: { pid: process.pid, match: ownerMatch }, processes: [] };
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(file, "wx");
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 5) throw error;
    }
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text === undefined) continue; // removed meanwhile: try again
    const run = parseRunFile(text);
    if (run === undefined && text.length === 0 && attempt < 3) {
      await new Promise((r) => setTimeout(r, 100)); // another start is writing it
      continue;
    }
    if (run && run.owner.pid !== 0 && run.owner.pid !== process.pid && isRunning(run.owner))
      return { ok: false, owner: run.owner };
    for (const p of run?.processes ?? []) await endProcess(p, log);
    await rm(file, { force: true });
  }
  const write = async () => {
    // Written whole and renamed into place, so a reader never sees half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(me));
    await rename(tmp, file);
  };
  return {
    ok: true,
    file,
    async track(p) {
      me.processes.push(p);
      await write();
    },
    async release() {
      const text = await readFile(file, "utf8").catch(() => undefined);
      if (text !== undefined && parseRunFile(text)?.owner.pid === process.pid) await rm(file, { force: true });
    },
  };
}
