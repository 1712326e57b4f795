import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import {
  createPublicClient,
  defineChain,
  encodeFunctionData,
  getAddress,
  http,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { deployPlatform, type PlatformDeployment } from "../chain/deploy.ts";
import { DEV_MNEMONIC, walletFor } from "../chain/demo-seed.ts";
import { startLocalChain, type LocalChain } from "../chain/local-node.ts";
import { findFreePort } from "../lib/ports.ts";

/**
 * A real `hardhat node` for indexer tests and the benchmark, with the chain-manipulation calls they need
 * (snapshots, reverts, manual mining) and the test-only BenchToken (contracts/test/BenchToken.sol).
 */

export type TestChain = {
  local: LocalChain;
  rpcUrl: string;
  wsUrl: string;
  chain: Chain;
  publicClient: PublicClient;
  wallet: WalletClient<Transport, Chain, Account>;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  snapshot(): Promise<Hex>;
  revert(id: Hex): Promise<void>;
  /** Mines `blocks` empty blocks (one evm_mine each, in one JSON-RPC batch). */
  mine(blocks?: number): Promise<void>;
  setAutomine(on: boolean): Promise<void>;
  stop(): Promise<void>;
};

export async function startTestChain(): Promise<TestChain> {
  let local: LocalChain | undefined;
  for (let attempt = 0; !local; attempt++) {
    try {
      local = await startLocalChain({ port: await findFreePort() });
    } catch (error) {
      if (attempt >= 2) throw error;
    }
  }
  const rpcUrl = local.rpcUrl;
  const chain = defineChain({
    id: 31337,
    name: "Hardhat",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 20 }) as PublicClient;
  const wallet = walletFor(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 }), chain, rpcUrl);
  // Any method, for the chain-manipulation calls viem's schema does not know (evm_snapshot, evm_mine, ...).
  const request = publicClient.request as unknown as <T>(args: { method: string; params: unknown[] }) => Promise<T>;
  const rpc = <T>(method: string, params: unknown[] = []) => request<T>({ method, params });
  return {
    local,
    rpcUrl,
    wsUrl: rpcUrl.replace(/^http/, "ws"),
    chain,
    publicClient,
    wallet,
    rpc,
    snapshot: () => rpc<Hex>("evm_snapshot"),
    async revert(id) {
      const ok = await rpc<boolean>("evm_revert", [id]);
      if (!ok) throw new Error(`evm_revert(${id}) failed`);
    },
    async mine(blocks = 1) {
      // Not hardhat_mine: for large counts EDR "reserves" blocks whose parentHash is zero, which no real chain does
      // and which the indexer rightly refuses to link.
      const body = Array.from({ length: blocks }, (_, i) => ({
        jsonrpc: "2.0",
        id: i,
        method: "evm_mine",
        params: [],
      }));
      const res = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const answers = (await res.json()) as { error?: unknown }[];
      if (answers.some((a) => a.error))
        throw new Error(`evm_mine failed: ${JSON.stringify(answers.find((a) => a.error))}`);
    },
    async setAutomine(on) {
      await rpc("evm_setAutomine", [on]);
    },
    stop: () => local.stop(),
  };
}

const artifactsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../artifacts/contracts");

export async function benchTokenArtifact(): Promise<{ abi: Abi; bytecode: Hex }> {
  const file = path.join(artifactsDir, "test", "BenchToken.sol", "BenchToken.json");
  return JSON.parse(await readFile(file, "utf8")) as { abi: Abi; bytecode: Hex };
}

export async function deployBenchToken(tc: TestChain): Promise<Address> {
  const { abi, bytecode } = await benchTokenArtifact();
  const hash = await tc.wallet.deployContract({ abi, bytecode, args: [] });
  const receipt = await tc.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 10 });
  if (!receipt.contractAddress) throw new Error("BenchToken deployment failed");
  return getAddress(receipt.contractAddress);
}

export async function deployTestPlatform(tc: TestChain): Promise<PlatformDeployment> {
  return deployPlatform({ publicClient: tc.publicClient, walletClient: tc.wallet });
}

export type Op = { from: Address; to: Address; id: bigint; amount: bigint };

/** A factory address with no code: for tests that index BenchToken (an extra contract) only. */
export const NO_FACTORY: Address = "0x00000000000000000000000000000000000fac70";

export const ZERO: Address = "0x0000000000000000000000000000000000000000";

/** Deterministic PRNG (mulberry32): tests and the benchmark are reproducible from their seed. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  };
}

/** Deterministic holder addresses (not accounts: BenchToken moves anyone's tokens). */
export function holders(count: number): Address[] {
  return Array.from({ length: count }, (_, i) => getAddress(`0x${(0x1000 + i).toString(16).padStart(40, "0")}`));
}

/**
 * The balances a sequence of BenchToken ops produces, so random ops stay valid (never move more than is held).
 * `clone()` before a snapshot, and restore the clone after reverting to it.
 */
export class BalanceModel {
  readonly balances: Map<string, bigint>;
  constructor(balances = new Map<string, bigint>()) {
    this.balances = balances;
  }
  clone() {
    return new BalanceModel(new Map(this.balances));
  }
  get(owner: Address, id: bigint) {
    return this.balances.get(`${owner.toLowerCase()}|${id}`) ?? 0n;
  }
  apply(op: Op) {
    if (op.from !== ZERO) this.balances.set(`${op.from.toLowerCase()}|${op.id}`, this.get(op.from, op.id) - op.amount);
    if (op.to !== ZERO) this.balances.set(`${op.to.toLowerCase()}|${op.id}`, this.get(op.to, op.id) + op.amount);
  }
  /** A random valid op: a mint, a burn or a move among `owners` for ids 1..`ids`. */
  randomOp(rand: ReturnType<typeof prng>, owners: Address[], ids: number): Op {
    const id = BigInt(rand.int(1, ids));
    const from = rand.pick(owners);
    const held = this.get(from, id);
    const kind = rand.next();
    let op: Op;
    if (held === 0n || kind < 0.35) op = { from: ZERO, to: rand.pick(owners), id, amount: BigInt(rand.int(1, 5)) };
    else if (kind < 0.45) op = { from, to: ZERO, id, amount: BigInt(rand.int(1, Number(held))) };
    else {
      // Sometimes the whole balance, so holders drop to zero and held-since restarts.
      const amount = rand.next() < 0.3 ? held : BigInt(rand.int(1, Number(held)));
      op = { from, to: rand.pick(owners), id, amount };
    }
    this.apply(op);
    return op;
  }
}

/** Sends one BenchToken.run(ops) transaction; with automine on, it is one block. Returns the tx hash. */
export async function sendOps(
  tc: TestChain,
  token: Address,
  ops: Op[],
  options: { wait?: boolean } = {},
): Promise<Hex> {
  const { abi } = await benchTokenArtifact();
  const hash = await tc.wallet.sendTransaction({
    to: token,
    data: encodeFunctionData({ abi, functionName: "run", args: [ops] }),
    gas: 60_000n + 60_000n * BigInt(ops.length),
  });
  if (options.wait !== false) {
    const receipt = await tc.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 10, timeout: 30_000 });
    if (receipt.status !== "success") throw new Error(`BenchToken.run reverted in ${hash}`);
  }
  return hash;
}

/**
 * Compares every indexed balance of `token` with the chain's `balanceOfBatch` at the indexed block, over the full
 * (owners × ids) universe, and checks the supply table. Returns human-readable mismatches (empty when equal).
 */
export async function compareWithChain(
  db: pg.Pool,
  tc: TestChain,
  token: Address,
  owners: Address[],
  ids: number,
  chainId = 31337,
): Promise<string[]> {
  const { abi } = await benchTokenArtifact();
  const checkpoint = await db.query<{ block_number: string }>(
    "SELECT block_number FROM indexer_checkpoint WHERE chain_id = $1",
    [chainId],
  );
  const blockNumber = BigInt(checkpoint.rows[0]?.block_number ?? "0");
  const accounts: Address[] = [];
  const tokenIds: bigint[] = [];
  for (const o of owners) {
    for (let i = 1; i <= ids; i++) {
      accounts.push(o);
      tokenIds.push(BigInt(i));
    }
  }
  const onChain = (await tc.publicClient.readContract({
    address: token,
    abi,
    functionName: "balanceOfBatch",
    args: [accounts, tokenIds],
    blockNumber,
  })) as bigint[];
  const { rows } = await db.query<{ owner: string; token_id: string; amount: string }>(
    "SELECT owner, token_id::text, amount::text FROM token_balance WHERE chain_id = $1 AND collection = $2",
    [chainId, token.toLowerCase()],
  );
  const indexed = new Map(rows.map((r) => [`${r.owner}|${r.token_id}`, BigInt(r.amount)]));
  const problems: string[] = [];
  const supply = new Map<bigint, bigint>();
  accounts.forEach((a, i) => {
    const key = `${a.toLowerCase()}|${tokenIds[i]}`;
    const expected = onChain[i]!;
    const got = indexed.get(key) ?? 0n;
    indexed.delete(key);
    supply.set(tokenIds[i]!, (supply.get(tokenIds[i]!) ?? 0n) + expected);
    if (got !== expected) problems.push(`balance ${key}: indexed ${got}, chain ${expected} at block ${blockNumber}`);
  });
  for (const [key, amount] of indexed) problems.push(`balance ${key}: indexed ${amount}, not in the universe`);
  const s = await db.query<{ token_id: string; supply: string; holders: number }>(
    "SELECT token_id::text, supply::text, holders FROM token_supply WHERE chain_id = $1 AND collection = $2",
    [chainId, token.toLowerCase()],
  );
  for (const r of s.rows) {
    const expected = supply.get(BigInt(r.token_id)) ?? 0n;
    if (BigInt(r.supply) !== expected) problems.push(`supply of ${r.token_id}: indexed ${r.supply}, chain ${expected}`);
    const holdersExpected = rows.filter((x) => x.token_id === r.token_id && BigInt(x.amount) > 0n).length;
    if (r.holders !== holdersExpected)
      problems.push(`holders of ${r.token_id}: indexed ${r.holders}, balances say ${holdersExpected}`);
  }
  return problems;
}

/** Every projection table of a chain as sorted text, to compare the forward path with a rebuild. */
export async function projectionsSnapshot(db: pg.Pool, chainId = 31337): Promise<Record<string, string[]>> {
  const tables: Record<string, string> = {
    token_balance:
      "SELECT collection, token_id::text, owner, amount::text, held_since_block::text, held_since_time::text FROM token_balance",
    token_supply:
      "SELECT collection, token_id::text, minted::text, burned::text, supply::text, holders FROM token_supply",
    token_transfer:
      "SELECT tx_hash, log_index, batch_index, block_number::text, block_time::text, collection, token_id::text, from_address, to_address, amount::text FROM token_transfer",
    collection:
      "SELECT address, owner, contract_uri, created_block::text, created_tx, paused, pause_applied_through::text, paused_block::text, paused_log_index, default_royalty_receiver, default_royalty_bps FROM collection",
    edition:
      "SELECT collection, token_id::text, created_block::text, created_log_index, created_tx, max_supply::text, soulbound, redeemable, paused, referral_bps, uri, uri_frozen, royalty_receiver, royalty_bps FROM edition",
    edition_phase:
      "SELECT collection, token_id::text, phase, starts_at::text, ends_at::text, price::text, wallet_limit::text, merkle_root, allowlist FROM edition_phase",
  };
  const out: Record<string, string[]> = {};
  for (const [name, sql] of Object.entries(tables)) {
    const { rows } = await db.query<Record<string, unknown>>(`${sql} WHERE chain_id = $1`, [chainId]);
    out[name] = rows.map((r) => JSON.stringify(Object.values(r))).sort();
  }
  return out;
}
