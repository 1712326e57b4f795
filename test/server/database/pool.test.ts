import { expect } from "chai";
import { createPool } from "../../../server/database/pool.ts";
import { createTestDatabase, type TestDatabase } from "../../../server/testing/database.ts";

describe("database pool", () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  after(async () => {
    await db?.drop();
  });

  it("survives PostgreSQL ending an idle pooled connection, and opens a new one", async () => {
    const pool = createPool(db.url, 2);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      const { rows } = await pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      // As a restart or DROP DATABASE ... WITH (FORCE) would: the backend of the now idle connection is ended.
      const admin = createPool(db.url, 1);
      await admin.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
      await admin.end();
      for (let i = 0; i < 100 && warnings.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(warnings.join("\n")).to.match(/ended an idle pooled connection/);
      const again = await pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      expect(again.rows[0]!.pid).to.not.equal(rows[0]!.pid);
    } finally {
      process.off("warning", onWarning);
      await pool.end();
    }
  });
});
