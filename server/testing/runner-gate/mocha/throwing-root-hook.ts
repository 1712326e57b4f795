// Deliberately failing (see ../README.md): a root-level hook (outside any describe) that throws must make the test
// runner exit non-zero even though no test itself fails.
before(() => {
  throw new Error("deliberate failure in a root hook");
});

describe("runner gate: a root hook throws", () => {
  it("would pass", () => {});
});
