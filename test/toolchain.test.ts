import { expect } from "chai";
import { readFileSync } from "node:fs";
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

  it("has a lockfile that npm install leaves as it is (a fresh clone stays clean after install)", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as Record<
      string,
      unknown
    >;
    const lock = JSON.parse(readFileSync(new URL("../package-lock.json", import.meta.url), "utf8")) as {
      packages: Record<
        string,
        {
          dependencies?: unknown;
          devDependencies?: unknown;
          engines?: unknown;
          optionalDependencies?: Record<string, string>;
        }
      >;
    };
    // npm rewrites the lock's root entry whenever it differs from package.json (e.g. engines >=22.13 vs >=22.18).
    const root = lock.packages[""]!;
    expect(root.dependencies).to.deep.equal(pkg.dependencies);
    expect(root.devDependencies).to.deep.equal(pkg.devDependencies);
    expect(root.engines).to.deep.equal(pkg.engines);
    // and adds every optional platform build of a package it can resolve (the edr builds for darwin and win32).
    for (const [name, parent] of Object.entries(lock.packages)) {
      for (const optional of Object.keys(parent.optionalDependencies ?? {})) {
        const present = lock.packages[`node_modules/${optional}`] ?? lock.packages[`${name}/node_modules/${optional}`];
        expect(
          present,
          `${optional} (optional dependency of ${name || "the project"}) is missing from package-lock.json`,
        ).to.not.equal(undefined);
      }
    }
  });
});
