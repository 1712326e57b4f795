import type pg from "pg";

/**
 * Runs `fn` in one transaction on a connection of `db`: committed when it returns, rolled back when it throws (the
 * error goes on). Every write that must land whole goes through here or through an explicit BEGIN of its own.
 */
export async function inTransaction<T>(db: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const tx = await db.connect();
  try {
    await tx.query("BEGIN");
    const result = await fn(tx);
    await tx.query("COMMIT");
    return result;
  } catch (error) {
    await tx.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    tx.release();
  }
}
