import { readFileSync } from "node:fs";
import { getAddress, isAddress } from "viem";
import { z } from "zod";

const address = z
  .string()
  .refine((v) => isAddress(v, { strict: false }), "must be a 0x-prefixed 20-byte hex address")
  .transform((v) => getAddress(v));

const port = z.coerce.number().int().min(0).max(65535);
const url = (protocols: string[]) =>
  z
    .string()
    .url()
    .refine((v) => protocols.includes(new URL(v).protocol), `must use ${protocols.join(" or ")}`);

/** A deployments file as written by `npm run deploy` (scripts/deploy.ts). */
export const deploymentFileSchema = z.object({
  chainId: z.coerce.number().int().positive(),
  factory: address,
  collectionImplementation: address,
  startBlock: z.coerce.bigint().nonnegative(),
});
export type DeploymentFile = z.infer<typeof deploymentFileSchema>;

const envSchema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: port.default(3000),
  DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
  RPC_URL: url(["http:", "https:", "ws:", "wss:"]),
  /** Where the factory address and start block come from (written by `npm run deploy`). */
  DEPLOYMENTS_FILE: z.string().min(1).optional(),
  FACTORY_ADDRESS: address.optional(),
  START_BLOCK: z.coerce.bigint().nonnegative().optional(),
  /** Blocks behind the head the indexer stays; 0 follows the head itself (reorgs are rolled back either way). */
  CONFIRMATIONS: z.coerce.number().int().min(0).max(1000).default(0),
  /** Deepest reorg the indexer rolls back by itself; deeper ones stop it with an error. */
  FINALITY_DEPTH: z.coerce.number().int().min(1).max(10_000).default(64),
  POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  MAX_BLOCK_RANGE: z.coerce.number().int().min(1).max(100_000).default(2000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  PERKMINT_DATA_DIR: z.string().min(1).default(".perkmint"),
});

export type Config = {
  host: string;
  port: number;
  databaseUrl: string | undefined;
  rpcUrl: string;
  factory: `0x${string}`;
  startBlock: bigint;
  expectedChainId: number | undefined;
  confirmations: number;
  finalityDepth: number;
  pollIntervalMs: number;
  maxBlockRange: number;
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
  dataDir: string;
};

export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads and validates configuration from the environment once, at start. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  let deployment: DeploymentFile | undefined;
  if (e.DEPLOYMENTS_FILE) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(e.DEPLOYMENTS_FILE, "utf8"));
    } catch (error) {
      throw new ConfigError([`DEPLOYMENTS_FILE: cannot read ${e.DEPLOYMENTS_FILE}: ${(error as Error).message}`]);
    }
    const file = deploymentFileSchema.safeParse(raw);
    if (!file.success) {
      throw new ConfigError(file.error.issues.map((i) => `DEPLOYMENTS_FILE ${e.DEPLOYMENTS_FILE}: ${i.path.join(".")}: ${i.message}`));
    }
    deployment = file.data;
  }
  const factory = e.FACTORY_ADDRESS ?? deployment?.factory;
  if (!factory) throw new ConfigError(["FACTORY_ADDRESS: required unless DEPLOYMENTS_FILE names a deployment"]);
  return {
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    rpcUrl: e.RPC_URL,
    factory,
    startBlock: e.START_BLOCK ?? deployment?.startBlock ?? 0n,
    expectedChainId: deployment?.chainId,
    confirmations: e.CONFIRMATIONS,
    finalityDepth: e.FINALITY_DEPTH,
    pollIntervalMs: e.POLL_INTERVAL_MS,
    maxBlockRange: e.MAX_BLOCK_RANGE,
    logLevel: e.LOG_LEVEL,
    dataDir: e.PERKMINT_DATA_DIR,
  };
}
