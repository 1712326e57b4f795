// Deliberately failing (see ../README.md): one failing assertion must make the test runner exit non-zero.
import { expect } from "chai";

describe("runner gate: a failing assertion", () => {
  it("fails", () => {
    expect(1 + 1, "deliberate failure").to.equal(3);
  });
});
