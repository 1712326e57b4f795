// The project's own Hardhat config (plugins, compiler, test settings, mocha root hooks) with only the paths pointed
// at this folder, so `hardhat --config <this> test` runs the deliberately failing files here (see README.md).
import path from "node:path";
import { defineConfig } from "hardhat/config";
import projectConfig from "../../../hardhat.config.ts";

// Hardhat resolves relative paths from the project root (the folder of package.json), not from this file.
const here = (...parts: string[]) => path.join(import.meta.dirname, ...parts);

export default defineConfig({
  ...projectConfig,
  paths: {
    sources: here("solidity"),
    tests: { mocha: here("mocha"), solidity: here("solidity") },
    // A build folder of its own (git-ignored), so this config never touches the project's artifacts.
    artifacts: here("../../../cache/runner-gate/artifacts"),
    cache: here("../../../cache/runner-gate/cache"),
  },
});
