import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import hardhatViemAssertions from "@nomicfoundation/hardhat-viem-assertions";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";

const require = createRequire(import.meta.url);

/**
 * The compiler version. It MUST equal the version of the npm `solc` package, whose soljson.js is the compiler
 * actually run (Hardhat does not check; test/toolchain.test.ts does).
 */
export const SOLC_VERSION = "0.8.28";

export default defineConfig({
  plugins: [hardhatMocha, hardhatViem, hardhatViemAssertions, hardhatNetworkHelpers],
  solidity: {
    compilers: [
      {
        version: SOLC_VERSION,
        // Offline machines cannot download solc: load the npm package's WASM build instead.
        path: require.resolve("solc/soljson.js"),
        settings: {
          evmVersion: "cancun",
          viaIR: true,
          // 800 runs: the Collection is ~23.6 kB (at 1,000 it passes EIP-170's 24,576 bytes) and its mint costs no
          // more than at 2,000 (docs/contracts.md, Gas).
          optimizer: { enabled: true, runs: 800 },
        },
      },
    ],
  },
  paths: {
    sources: "./contracts",
    tests: { mocha: "./test", solidity: "./test" },
  },
  test: {
    // Drop-contract fuzz and invariant tests (test/contracts/sol): enough sequences to find ordering bugs, few
    // enough for CI. Raise locally with more runs when changing the contracts.
    solidity: {
      fuzz: { runs: 256 },
      invariant: { runs: 48, depth: 40 },
    },
    mocha: {
      timeout: 120_000,
      // One database server per run: the shared test harness starts it lazily and stops it here.
      rootHooks: {
        async afterAll() {
          const { stopSharedTestDatabaseServer } = await import("./server/testing/database.ts");
          await stopSharedTestDatabaseServer();
        },
      },
    },
  },
});
