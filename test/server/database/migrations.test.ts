import { expect } from "chai";
import { cp, mkdtemp, rm, writeFile, appendFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import {
  MIGRATIONS_DIR,
  migrateDatabase,
  MigrationChecksumError,
  readMigrations,
} from "../../../server/database/migrate.ts";
import { describeSchemaDrift } from "../../../server/database/schema-drift.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";

describe("database migrations", () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  after(async () => {
    await db?.drop();
  });

  it("applies every migration to an empty database, then is a no-op", async () => {
    const all = (await readMigrations()).map((m) => m.name);
    expect(all.length).to.be.greaterThan(0);
    expect(await migrateDatabase(db.url)).to.deep.equal(all);
    expect(await migrateDatabase(db.url)).to.deep.equal([]);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    await client.end();
    expect(rows.map((r) => r.migration_name)).to.deep.equal(all);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.checksum))).to.equal(true);
  });

  it("matches schema.prisma exactly (tables, columns, types, nullability, keys, indexes)", async () => {
    expect(await describeSchemaDrift(db.url)).to.deep.equal([]);
  });

  it("reports drift when the database and schema.prisma disagree", async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`ALTER TABLE "collection" ADD COLUMN "extra" TEXT`);
      await client.query(`ALTER TABLE "collection" ALTER COLUMN "contract_uri" DROP NOT NULL`);
      await client.query(`ALTER TABLE "token_balance" ALTER COLUMN "amount" TYPE numeric(40,0)`);
    } finally {
      await client.end();
    }
    const problems = await describeSchemaDrift(db.url);
    expect(problems).to.include(`Collection: column "collection"."extra" is not in schema.prisma`);
    expect(problems).to.include(`Collection.contractUri: column is nullable, schema says required`);
    expect(problems).to.include(`TokenBalance.amount: type is numeric(40,0), schema says numeric(78,0)`);
  });

  it("refuses a migration edited after it was applied", async () => {
    const fresh = await createTestDatabase({ migrate: false });
    const dir = await mkdtemp(path.join(os.tmpdir(), "perkmint-migrations-"));
    try {
      await migrateDatabase(fresh.url);
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      const [first] = await readMigrations(dir);
      await appendFile(path.join(dir, first!.name, "migration.sql"), "\n-- edited\n");
      let error: unknown;
      try {
        await migrateDatabase(fresh.url, dir);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(MigrationChecksumError);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await fresh.drop();
    }
  });

  it("rolls back a failing migration entirely", async () => {
    const fresh = await createTestDatabase({ migrate: false });
    const dir = await mkdtemp(path.join(os.tmpdir(), "perkmint-migrations-"));
    try {
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      await cp(path.join(MIGRATIONS_DIR, (await readMigrations())[0]!.name), path.join(dir, "29990101000000_broken"), {
        recursive: true,
      });
      await writeFile(
        path.join(dir, "29990101000000_broken", "migration.sql"),
        `CREATE TABLE "half" (id int); SELECT 1/0;`,
      );
      let error: unknown;
      try {
        await migrateDatabase(fresh.url, dir);
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.match(/29990101000000_broken failed/);
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      const half = await client.query<{ t: string | null }>(`SELECT to_regclass('half') AS t`);
      const recorded = await client.query(
        `SELECT 1 FROM "_prisma_migrations" WHERE migration_name = '29990101000000_broken'`,
      );
      await client.end();
      expect(half.rows[0]!.t).to.equal(null);
      expect(recorded.rowCount).to.equal(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await fresh.drop();
    }
  });
});
