import { expect } from "chai";
import { createRequire } from "node:module";
import { SOLC_VERSION } from "../hardhat.config.ts";

const require = createRequire(import.meta.url);

describe("toolchain", () => {
  it("compiles with the solc version the config names (Hardhat runs the npm solc package without checking)", () => {
    const solc = require("solc/package.json") as { version: string };
    expect(solc.version).to.equal(SOLC_VERSION);
  });

  it("runs on Node 22.13 or newer (Hardhat 3's floor)", () => {
    const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
    expect(major > 22 || (major === 22 && minor >= 13)).to.equal(true);
  });
});
