// `npm run worker`: the facts-feed consumers (points, redemption completions) and background jobs (voucher expiry
// refunds), never in an API process. Configured like `npm run server` (RPC_URL, DATABASE_URL, DEPLOYMENTS_FILE or
// FACTORY_ADDRESS, POINTS_FINALITY, ...). Run as many as you like; SIGKILL at any point is safe (every effect commits
// with the feed cursor or job that caused it).
import { loadConfigOrExit } from "../server/config.ts";
import { createLogger } from "../server/lib/logger.ts";
import { startPlatform } from "../server/platform.ts";

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel, "perkmint-worker");
const platform = await startPlatform(config, logger, ["worker"]).catch((err) => {
  logger.fatal({ err }, "failed to start");
  process.exit(1);
});
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    void platform.stop().then(() => process.exit(0));
  });
