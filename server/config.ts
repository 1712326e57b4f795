import { readFileSync } from "node:fs";
import { getAddress } from "viem";
import { z } from "zod";
import { ADDRESS_EXPECTED, isAcceptedAddress } from "./lib/address.ts";
import { Secret } from "./lib/secret.ts";

const address = z
  .string()
  .refine((v) => isAcceptedAddress(v), `must be ${ADDRESS_EXPECTED}`)
  .transform((v) => getAddress(v));

const port = z.coerce.number().int().min(0).max(65535);
const url = (protocols: string[]) =>
  z
    .string()
    .url()
    .refine((v) => protocols.includes(new URL(v).protocol), `must use ${protocols.join(" or ")}`);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

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
  /** A read replica of DATABASE_URL for the catalog's public reads (answers that state asOfBlock); default: none. */
  DATABASE_READ_URL: url(["postgres:", "postgresql:"]).optional(),
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
  /** More JSON-RPC HTTP URLs for the indexer, comma-separated: tried in turn when the current one fails. */
  RPC_FALLBACK_URLS: z.string().optional(),
  /** WebSocket URL whose `newHeads` wakes the indexer at once (default: RPC_URL when it is ws:// or wss://). */
  RPC_WS_URL: url(["ws:", "wss:"]).optional(),
  RPC_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** Block ranges the indexer fetches ahead in parallel during backfill. */
  INDEXER_FETCH_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(3),
  /**
   * Fetch and prepare ranges on a worker thread of their own (default false). Since answers are read in place the
   * work per log is small, and on two shared cores the thread's messages and second heap cost more than it saves
   * (measured: ~0.1 CPU-s and ~55 MB RSS more per 100k events). It may pay off on more cores, or where the API
   * shares the process (preparing a range of 5,000 logs holds the event loop for about 10 ms).
   */
  INDEXER_FETCH_THREAD: z.enum(["true", "false"]).default("false"),
  /** Logs per eth_getLogs call the adaptive ranges aim for. */
  INDEXER_TARGET_LOGS: z.coerce.number().int().min(10).max(100_000).default(5000),
  /** Contracts indexed besides the factory's collections, comma-separated (e.g. a benchmark token). */
  INDEXER_EXTRA_CONTRACTS: z.string().optional(),
  /** /health turns unhealthy when the indexer has not moved for this long while the head has. */
  INDEXER_STALL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(30),
  /** `npm run indexer` serves /health and /metrics on this port when set. */
  INDEXER_METRICS_PORT: port.optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  PERKMINT_DATA_DIR: z.string().min(1).default(".perkmint"),
  /** Every API request is answered within this long: a 504 problem when its work has not finished by then. */
  HTTP_REQUEST_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** A client has this long to send a request's headers. */
  HTTP_HEADERS_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** An idle keep-alive connection is closed after this long. */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000).default(5_000),
  /** Opening a PostgreSQL connection gives up after this long. */
  DATABASE_CONNECT_TIMEOUT_MS: int(100, 600_000).default(5_000),
  /** An API query is cancelled after this long (statement_timeout; the client stops waiting a second later). */
  DATABASE_STATEMENT_TIMEOUT_MS: int(100, 600_000).default(5_000),
  /**
   * The origin users reach the platform at (scheme, host and port; no path): Sign-In with Ethereum messages must
   * name it, session cookies are Secure unless it is plain-http localhost, metadata URLs start with it.
   * Default: http://HOST:PORT.
   */
  PUBLIC_URL: url(["http:", "https:"]).optional(),
  /** Other origins (comma-separated) whose pages may call the API with credentials (CORS, and CSRF's Origin check). */
  CORS_ORIGINS: z.string().optional(),
  /** Wallet addresses (comma-separated) with the operator role. */
  OPERATOR_ADDRESSES: z.string().optional(),
  /** A session ends this long after sign-in, and after this long without use. */
  SESSION_TTL_SECONDS: int(60, 31_536_000).default(7 * 24 * 3600),
  SESSION_IDLE_SECONDS: int(60, 31_536_000).default(24 * 3600),
  /** Requests per minute per client IP, and per signed-in wallet, before 429 (shared by every API process). */
  RATE_LIMIT_IP_PER_MINUTE: int(1, 1_000_000).default(1200),
  RATE_LIMIT_WALLET_PER_MINUTE: int(1, 1_000_000).default(600),
  /** Proxy hops in front of the API whose X-Forwarded-For to trust (Express's `trust proxy`); 0 behind none. */
  TRUST_PROXY_HOPS: int(0, 10).default(0),
  /**
   * Blocks a chain fact must be under the indexed head before the points it earns are available (and before an
   * unused voucher's deadline counts as passed for good). Default: FINALITY_DEPTH.
   */
  POINTS_FINALITY: int(0, 10_000).optional(),
  /** The private key that signs redemption vouchers (it must hold VOUCHER_SIGNER_ROLE on the factory). */
  VOUCHER_SIGNER_KEY: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/)
    .optional(),
  /** How long a redemption's voucher stays valid. */
  REDEMPTION_VOUCHER_TTL_SECONDS: int(60, 7 * 24 * 3600).default(30 * 60),
});

/** What each variable must be, in the words of the message a bad value gets. */
const EXPECTED: Record<string, string> = {
  HOST: "a host name or IP address to listen on",
  PORT: "an integer port from 0 to 65535",
  CHAIN_PORT: "an integer port from 0 to 65535",
  DATABASE_URL: "a postgres:// or postgresql:// URL",
  DATABASE_READ_URL: "a postgres:// or postgresql:// URL",
  RPC_URL: "an http(s):// or ws(s):// URL",
  DEPLOYMENTS_FILE: "the path of a deployments file",
  FACTORY_ADDRESS: ADDRESS_EXPECTED,
  START_BLOCK: "a non-negative integer block number",
  CONFIRMATIONS: "an integer from 0 to 1000",
  FINALITY_DEPTH: "an integer from 1 to 10000",
  POLL_INTERVAL_MS: "an integer from 10 to 60000 (milliseconds)",
  MAX_BLOCK_RANGE: "an integer from 1 to 100000",
  RPC_FALLBACK_URLS: "comma-separated http(s):// URLs",
  RPC_WS_URL: "a ws:// or wss:// URL",
  RPC_TIMEOUT_MS: "an integer from 100 to 120000 (milliseconds)",
  INDEXER_FETCH_CONCURRENCY: "an integer from 1 to 32",
  INDEXER_FETCH_THREAD: "true or false",
  INDEXER_TARGET_LOGS: "an integer from 10 to 100000",
  INDEXER_EXTRA_CONTRACTS: "comma-separated addresses",
  INDEXER_STALL_SECONDS: "an integer from 1 to 86400 (seconds)",
  INDEXER_METRICS_PORT: "an integer port from 0 to 65535",
  LOG_LEVEL: LOG_LEVELS.join(", "),
  PERKMINT_DATA_DIR: "a folder path",
  HTTP_REQUEST_TIMEOUT_MS: "an integer from 100 to 600000 (milliseconds)",
  HTTP_HEADERS_TIMEOUT_MS: "an integer from 100 to 600000 (milliseconds)",
  HTTP_KEEP_ALIVE_TIMEOUT_MS: "an integer from 100 to 600000 (milliseconds)",
  DATABASE_CONNECT_TIMEOUT_MS: "an integer from 100 to 600000 (milliseconds)",
  DATABASE_STATEMENT_TIMEOUT_MS: "an integer from 100 to 600000 (milliseconds)",
  PUBLIC_URL: "an http(s):// origin, e.g. https://perkmint.example",
  CORS_ORIGINS: "comma-separated http(s):// origins",
  OPERATOR_ADDRESSES: "comma-separated addresses",
  SESSION_TTL_SECONDS: "an integer from 60 to 31536000 (seconds)",
  SESSION_IDLE_SECONDS: "an integer from 60 to 31536000 (seconds)",
  RATE_LIMIT_IP_PER_MINUTE: "an integer from 1 to 1000000",
  RATE_LIMIT_WALLET_PER_MINUTE: "an integer from 1 to 1000000",
  TRUST_PROXY_HOPS: "an integer from 0 to 10",
  POINTS_FINALITY: "an integer from 0 to 10000 (blocks)",
  VOUCHER_SIGNER_KEY: "a private key: 0x and 64 hex digits",
  REDEMPTION_VOUCHER_TTL_SECONDS: "an integer from 60 to 604800 (seconds)",
};

/** Values never echoed in a message: URLs carry passwords and API keys. */
const SECRET = /URL|KEY|PASSWORD|SECRET|TOKEN/;

/**
 * Validates `env` with `schema`: the parsed values, or a ConfigError with one line per bad variable, naming it, what
 * it must be, and (unless it may hold a secret) the value it has.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = new Map<string, string>();
  for (const issue of parsed.error.issues) {
    const name = String(issue.path[0] ?? "");
    if (lines.has(name)) continue;
    const value = env[name];
    const shown =
      value === undefined
        ? "it is not set"
        : SECRET.test(name)
          ? "its value is not"
          : `got ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}`;
    const expected = EXPECTED[name];
    lines.set(name, expected ? `${name}: expected ${expected}; ${shown}` : `${name}: ${issue.message}`);
  }
  throw new ConfigError([...lines.values()]);
}

export type Config = {
  host: string;
  port: number;
  databaseUrl: string | undefined;
  /** The read replica for the catalog's public reads, when one is configured (else they go to the primary). */
  databaseReadUrl: string | undefined;
  rpcUrl: string;
  factory: `0x${string}`;
  startBlock: bigint;
  expectedChainId: number | undefined;
  confirmations: number;
  finalityDepth: number;
  pollIntervalMs: number;
  maxBlockRange: number;
  /** HTTP JSON-RPC URLs for the indexer: RPC_URL (as http when it is ws) then RPC_FALLBACK_URLS. */
  rpcUrls: string[];
  wsUrl: string | undefined;
  rpcTimeoutMs: number;
  fetchConcurrency: number;
  fetchThread: boolean;
  targetLogsPerRange: number;
  extraContracts: `0x${string}`[];
  stallSeconds: number;
  indexerMetricsPort: number | undefined;
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
  dataDir: string;
  http: { requestTimeoutMs: number; headersTimeoutMs: number; keepAliveTimeoutMs: number };
  database: { connectTimeoutMs: number; statementTimeoutMs: number };
  /** The public origin (no trailing slash), e.g. http://127.0.0.1:3000. */
  publicUrl: string;
  corsOrigins: string[];
  operators: `0x${string}`[];
  sessions: { ttlSeconds: number; idleSeconds: number };
  rateLimits: { ipPerMinute: number; walletPerMinute: number };
  trustProxyHops: number;
  loyalty: {
    pointsFinality: number;
    /** Shown as [redacted] wherever the configuration is logged or encoded. */
    voucherSignerKey: Secret<`0x${string}`> | undefined;
    voucherTtlSeconds: number;
  };
};

export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads and validates configuration from the environment once, at start. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = parseEnv(envSchema, env);
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
      throw new ConfigError(
        file.error.issues.map((i) => `DEPLOYMENTS_FILE ${e.DEPLOYMENTS_FILE}: ${i.path.join(".")}: ${i.message}`),
      );
    }
    deployment = file.data;
  }
  const factory = e.FACTORY_ADDRESS ?? deployment?.factory;
  if (!factory) throw new ConfigError(["FACTORY_ADDRESS: required unless DEPLOYMENTS_FILE names a deployment"]);
  const list = (v: string | undefined) =>
    (v ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  const problems: string[] = [];
  const fallbacks = list(e.RPC_FALLBACK_URLS);
  for (const u of fallbacks)
    if (!/^https?:\/\//.test(u))
      problems.push(`RPC_FALLBACK_URLS: expected comma-separated http(s):// URLs; one of them is not`);
  const extraContracts = list(e.INDEXER_EXTRA_CONTRACTS).map((a) => {
    if (!isAcceptedAddress(a))
      problems.push(
        `INDEXER_EXTRA_CONTRACTS: expected comma-separated addresses; ${JSON.stringify(a)} is not ${ADDRESS_EXPECTED}`,
      );
    return a as `0x${string}`;
  });
  const operators = list(e.OPERATOR_ADDRESSES).map((a) => {
    if (!isAcceptedAddress(a))
      problems.push(
        `OPERATOR_ADDRESSES: expected comma-separated addresses; ${JSON.stringify(a)} is not ${ADDRESS_EXPECTED}`,
      );
    return a.toLowerCase() as `0x${string}`;
  });
  const corsOrigins = list(e.CORS_ORIGINS).map((o) => {
    const origin = /^https?:\/\/[^/]+$/.test(o) ? o : undefined;
    if (!origin)
      problems.push(
        `CORS_ORIGINS: expected comma-separated http(s):// origins without a path; ${JSON.stringify(o)} is not one`,
      );
    return o;
  });
  const publicUrl = e.PUBLIC_URL
    ? new URL(e.PUBLIC_URL)
    : new URL(`http://${e.HOST.includes(":") ? `[${e.HOST}]` : e.HOST}:${e.PORT}`);
  if (e.PUBLIC_URL && (publicUrl.pathname !== "/" || publicUrl.search || publicUrl.hash)) {
    problems.push("PUBLIC_URL: expected an origin without a path, query or fragment (e.g. https://perkmint.example)");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // The indexer speaks JSON-RPC over HTTP; a ws:// RPC_URL is assumed to serve HTTP on the same host and port.
  const rpcUrls = [e.RPC_URL.replace(/^ws(s?):/, "http$1:"), ...fallbacks];
  return {
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databaseReadUrl: e.DATABASE_READ_URL,
    rpcUrl: e.RPC_URL,
    factory,
    startBlock: e.START_BLOCK ?? deployment?.startBlock ?? 0n,
    expectedChainId: deployment?.chainId,
    confirmations: e.CONFIRMATIONS,
    finalityDepth: e.FINALITY_DEPTH,
    pollIntervalMs: e.POLL_INTERVAL_MS,
    maxBlockRange: e.MAX_BLOCK_RANGE,
    rpcUrls,
    wsUrl: e.RPC_WS_URL ?? (/^wss?:/.test(e.RPC_URL) ? e.RPC_URL : undefined),
    rpcTimeoutMs: e.RPC_TIMEOUT_MS,
    fetchConcurrency: e.INDEXER_FETCH_CONCURRENCY,
    fetchThread: e.INDEXER_FETCH_THREAD === "true",
    targetLogsPerRange: e.INDEXER_TARGET_LOGS,
    extraContracts,
    stallSeconds: e.INDEXER_STALL_SECONDS,
    indexerMetricsPort: e.INDEXER_METRICS_PORT,
    logLevel: e.LOG_LEVEL,
    dataDir: e.PERKMINT_DATA_DIR,
    http: {
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    database: { connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS, statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS },
    publicUrl: publicUrl.origin,
    corsOrigins,
    operators,
    sessions: { ttlSeconds: e.SESSION_TTL_SECONDS, idleSeconds: e.SESSION_IDLE_SECONDS },
    rateLimits: { ipPerMinute: e.RATE_LIMIT_IP_PER_MINUTE, walletPerMinute: e.RATE_LIMIT_WALLET_PER_MINUTE },
    trustProxyHops: e.TRUST_PROXY_HOPS,
    loyalty: {
      pointsFinality: e.POINTS_FINALITY ?? e.FINALITY_DEPTH,
      voucherSignerKey: e.VOUCHER_SIGNER_KEY ? new Secret(e.VOUCHER_SIGNER_KEY as `0x${string}`) : undefined,
      voucherTtlSeconds: e.REDEMPTION_VOUCHER_TTL_SECONDS,
    },
  };
}

/** For entry points: the validated config, or the list of bad variables on stderr and exit code 1. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    console.error(
      error instanceof ConfigError
        ? error.message
        : `Invalid configuration: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
}
