// Deliberately failing (see README.md): starts a local chain, prints its port, then throws. The chain must not
// outlive the script (test/runner-gate.test.ts checks the port is closed afterwards).
import { startLocalChain } from "../../chain/local-node.ts";
import { findFreePort } from "../../lib/ports.ts";

const chain = await startLocalChain({ port: await findFreePort() });
process.stdout.write(`chain port ${chain.port}\n`);
throw new Error("deliberate failure after starting a chain");
