import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres, type EmbeddedDatabaseServer } from "../database/embedded-postgres.ts";
import { migrateDatabase } from "../database/migrate.ts";

/**
 * Test databases: one PostgreSQL server per test run, and one fresh database per suite, so suites never see each
 * other's rows. The server is DATABASE_URL's when set; otherwise the machine's own at 127.0.0.1:5432 when one
 * answers there as `postgres` without a password (as CI machines have, and as .ci/run finds it too); otherwise an
 * embedded server started on first use. TEST_DATABASE=embedded forces the embedded one.
 */

let embedded: Promise<EmbeddedDatabaseServer> | undefined;
let local: Promise<string | undefined> | undefined;

const LOCAL_SERVER = "postgres://postgres@127.0.0.1:5432/postgres";

/** The machine's PostgreSQL, if it answers at once on 127.0.0.1:5432 and lets `postgres` create databases. */
async function probeLocalServer(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: LOCAL_SERVER, connectionTimeoutMillis: 1000 });
  client.on("error", () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ ok: boolean }>(
      "SELECT rolcreatedb OR rolsuper AS ok FROM pg_roles WHERE rolname = current_user",
    );
    return rows[0]?.ok ? LOCAL_SERVER : undefined;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

async function adminUrl(): Promise<{ admin: string; urlFor: (db: string) => string }> {
  if (!process.env.DATABASE_URL && process.env.TEST_DATABASE !== "embedded") local ??= probeLocalServer();
  const configured = process.env.DATABASE_URL || (await local);
  if (configured) {
    const base = new URL(configured);
    const urlFor = (db: string) => {
      const u = new URL(base);
      u.pathname = `/${db}`;
      return u.toString();
    };
    return { admin: configured, urlFor };
  }
  embedded ??= startEmbeddedPostgres({
    dataDir: path.join(os.tmpdir(), `perkmint-test-pg-${process.pid}-${randomBytes(3).toString("hex")}`),
    ephemeral: true,
  });
  const server = await embedded;
  return { admin: server.adminUrl, urlFor: (database: string) => server.urlFor(database) };
}

export type TestDatabase = { url: string; name: string; drop(): Promise<void> };

/** Creates an empty database with a unique name; `migrate` (default true) applies all migrations to it. */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const { admin, urlFor } = await adminUrl();
  const name = `perkmint_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = urlFor(name);
  if (options.migrate !== false) await migrateDatabase(url);
  return {
    url,
    name,
    async drop() {
      // A bounded wait: DROP DATABASE waits for every backend on the server to acknowledge it, and one stuck
      // session elsewhere (e.g. a client that died mid-COPY) would otherwise hang the suite's after() hook silently.
      const c = new pg.Client({ connectionString: admin, statement_timeout: 30_000 });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Stops the embedded server if this run started one (mocha root hook in hardhat.config.ts). */
export async function stopSharedTestDatabaseServer() {
  if (!embedded) return;
  const server = await embedded.catch(() => undefined);
  embedded = undefined;
  await server?.stop();
}
