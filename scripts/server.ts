// `npm run server`: the production entry point. Runs the HTTP API and the indexer in one process, or only some of
// them with PERKMINT_ROLES=api or PERKMINT_ROLES=indexer (API processes are stateless and scale horizontally);
// PERKMINT_ROLES=worker (or `npm run worker`) runs the feed consumers and jobs.
import { z } from "zod";
import { loadConfigOrExit } from "../server/config.ts";
import { createLogger } from "../server/lib/logger.ts";
import { startPlatform, type Role } from "../server/platform.ts";

const roles = z
  .string()
  .default("api,indexer")
  .transform((v) => v.split(",").map((r) => r.trim()))
  .pipe(z.array(z.enum(["api", "indexer", "worker"])).min(1))
  .safeParse(process.env.PERKMINT_ROLES);
if (!roles.success) {
  console.error("Invalid configuration:\n  - PERKMINT_ROLES: a comma-separated list of api, indexer, worker");
  process.exit(1);
}

const config = loadConfigOrExit();

const logger = createLogger(config.logLevel);
const platform = await startPlatform(config, logger, roles.data as Role[]).catch((err) => {
  logger.fatal({ err }, "failed to start");
  process.exit(1);
});
let stopping = false;
async function stop(signal: NodeJS.Signals) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping");
  await platform.stop();
  process.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stop(signal));
