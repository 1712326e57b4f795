import { readdirSync, readFileSync } from "node:fs";

/** The direct children of `pid`, from /proc (Linux). */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the parenthesised command name: state is field 3, ppid field 4.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/**
 * Sends `signal` to a process this test started and to its children (a PostgreSQL server: the postmaster and its
 * backends and workers), so that SIGSTOP hangs all of it, as a stopped machine or VM would.
 */
export function signalFamily(pid: number, signal: NodeJS.Signals): number {
  const family = [pid, ...childrenOf(pid)];
  for (const p of family) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
  return family.length;
}
