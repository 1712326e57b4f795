import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres, type EmbeddedDatabaseServer } from "../database/embedded-postgres.ts";
import { migrateDatabase } from "../database/migrate.ts";

/**
 * Test databases: one PostgreSQL server per test run (DATABASE_URL's server when set, as in CI; otherwise one
 * embedded server started on first use), and one fresh database per suite, so suites never see each other's rows.
 */

let embedded: Promise<EmbeddedDatabaseServer> | undefined;

async function adminUrl(): Promise<{ admin: string; urlFor: (db: string) => string }> {
  const configured = process.env.DATABASE_URL;
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
  return { admin: server.adminUrl, urlFor: server.urlFor };
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
