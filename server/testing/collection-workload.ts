import {
  encodeFunctionData,
  getAddress,
  parseEther,
  parseEventLogs,
  zeroAddress,
  zeroHash,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { loadArtifact } from "../chain/artifacts.ts";
import { DEV_MNEMONIC } from "../chain/demo-seed.ts";
import { RpcClient } from "../indexer/rpc.ts";
import { deployTestPlatform, prng, type TestChain } from "./chain.ts";

/**
 * A realistic launch for the indexer benchmark: the platform deployed, one partner collection created through the
 * factory, editions with a paid public phase, then blocks of many transactions from many wallets — mints through
 * `mint` (TransferSingle + Minted), holder-to-holder transfers (TransferSingle) and batch transfers of several
 * editions (TransferBatch) — exactly what a partner's drop looks like to the indexer, unlike the bench token's
 * one-transaction blocks.
 */
export type CollectionWorkload = {
  factory: Address;
  collection: Address;
  /** The factory's deployment block: where an indexer of this platform starts. */
  startBlock: bigint;
  head: bigint;
  /** The wallets that mint and trade (Hardhat's dev accounts 1..19, which the node signs for). */
  owners: Address[];
  editions: number;
  /** Logs of the factory and the collection from startBlock to head (what the indexer stores). */
  events: number;
  blocks: number;
};

const PRICE = parseEther("0.001");
/** Gas limits per kind, generous: the node packs a block by the limits, and 100 mints must fit one block. */
const GAS = { mint: 0x30000, transfer: 0x20000, batch: 0x30000 } as const;

export async function seedCollectionWorkload(
  tc: TestChain,
  options: { events: number; perBlock: number; editions?: number; seed?: number },
): Promise<CollectionWorkload> {
  const editions = options.editions ?? 12;
  const rand = prng(options.seed ?? 1);
  const collectionAbi = (await loadArtifact("Collection")).abi as Abi;
  const factoryAbi = (await loadArtifact("EditionFactory")).abi as Abi;
  const owners = Array.from({ length: 19 }, (_, i) =>
    getAddress(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i + 1 }).address),
  );
  const partner = tc.wallet.account.address;
  const rpc = new RpcClient({ urls: [tc.rpcUrl], timeoutMs: 120_000 });
  const wait = async (hash: Hex) => {
    const receipt = await tc.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 10 });
    if (receipt.status !== "success") throw new Error(`workload set-up transaction ${hash} reverted`);
    return receipt;
  };

  const platform = await deployTestPlatform(tc);
  // The highest platform fee the partner accepts: today's (a fee raised before this lands would be refused).
  const fee = (await tc.publicClient.readContract({
    address: platform.factory,
    abi: factoryAbi,
    functionName: "platformFeeBps",
  })) as number | bigint;
  const created = await wait(
    await tc.wallet.writeContract({
      address: platform.factory,
      abi: factoryAbi,
      functionName: "createCollection",
      args: ["ipfs://bench/collection.json", partner, 500n, BigInt(fee)],
    }),
  );
  const [event] = parseEventLogs({
    abi: factoryAbi,
    logs: created.logs,
    eventName: "CollectionCreated",
  }) as unknown as { args: { collection: Address } }[];
  if (!event) throw new Error("createCollection emitted no CollectionCreated event");
  const collection = getAddress(event.args.collection);
  for (let id = 1; id <= editions; id++) {
    const settings = {
      maxSupply: 100_000_000,
      referralBps: 0,
      soulbound: false,
      redeemable: false,
      royaltyReceiver: zeroAddress,
      royaltyBps: 0n,
      uri: `ipfs://bench/${id}.json`,
    };
    const publicSale = { start: 0, end: 2 ** 32 - 1, price: PRICE, walletLimit: 0, merkleRoot: zeroHash };
    await wait(
      await tc.wallet.writeContract({
        address: collection,
        abi: collectionAbi,
        functionName: "createEdition",
        args: [settings, [publicSale]],
      }),
    );
  }

  // What each wallet holds, so every transfer the workload sends is valid.
  const held = new Map<string, bigint>();
  const balance = (owner: Address, id: number) => held.get(`${owner}|${id}`) ?? 0n;
  const move = (owner: Address, id: number, delta: bigint) => held.set(`${owner}|${id}`, balance(owner, id) + delta);
  const heldIds = (owner: Address) =>
    Array.from({ length: editions }, (_, i) => i + 1).filter((id) => balance(owner, id) > 0n);
  const send = (from: Address, to: Address, data: Hex, gas: number, value = 0n) => ({
    method: "eth_sendTransaction",
    params: [{ from, to, data, gas: `0x${gas.toString(16)}`, value: `0x${value.toString(16)}` }],
  });

  /** One transaction of the mix and the logs it emits: about half mints, a third transfers, the rest batch transfers. */
  const nextTransaction = () => {
    const from = rand.pick(owners);
    const ids = heldIds(from);
    const kind = rand.next();
    if (ids.length === 0 || kind < 0.5) {
      const id = rand.int(1, editions);
      const quantity = BigInt(rand.int(1, 3));
      move(from, id, quantity);
      const data = encodeFunctionData({
        abi: collectionAbi,
        functionName: "mint",
        args: [BigInt(id), from, quantity, 0n, zeroAddress],
      });
      return { request: send(from, collection, data, GAS.mint, PRICE * quantity), logs: 2 };
    }
    const to = rand.pick(owners.filter((o) => o !== from));
    if (ids.length >= 2 && kind > 0.85) {
      const chosen = ids.slice(0, rand.int(2, Math.min(4, ids.length)));
      const amounts = chosen.map((id) => BigInt(rand.int(1, Number(balance(from, id)))));
      chosen.forEach((id, i) => (move(from, id, -amounts[i]!), move(to, id, amounts[i]!)));
      const data = encodeFunctionData({
        abi: collectionAbi,
        functionName: "safeBatchTransferFrom",
        args: [from, to, chosen.map(BigInt), amounts, "0x"],
      });
      return { request: send(from, collection, data, GAS.batch), logs: 1 };
    }
    if (ids.length === 0) return undefined;
    const id = rand.pick(ids);
    const amount = rand.next() < 0.3 ? balance(from, id) : BigInt(rand.int(1, Number(balance(from, id))));
    move(from, id, -amount);
    move(to, id, amount);
    const data = encodeFunctionData({
      abi: collectionAbi,
      functionName: "safeTransferFrom",
      args: [from, to, BigInt(id), amount, "0x"],
    });
    return { request: send(from, collection, data, GAS.transfer), logs: 1 };
  };

  // The set-up logs (collection created, editions created) count towards the total like any others.
  const setUpLogs = await rpc.request<unknown[]>("eth_getLogs", [
    { address: [platform.factory, collection], fromBlock: `0x${platform.startBlock.toString(16)}`, toBlock: "latest" },
  ]);
  let events = setUpLogs.length;
  let blocks = 0;
  await tc.setAutomine(false);
  try {
    while (events < options.events) {
      const target = Math.min(options.perBlock, options.events - events);
      const requests: { method: string; params: unknown[] }[] = [];
      let inBlock = 0;
      while (inBlock < target) {
        // A mint's two logs may overshoot the block's target by one (a block of one event could never mint).
        const tx = nextTransaction();
        if (!tx) continue;
        requests.push(tx.request);
        inBlock += tx.logs;
      }
      // Sent as one JSON-RPC batch, then sealed by an evm_mine of its own (a batch need not run in order).
      const answers = await rpc.batch<string[]>(requests);
      if (answers.length !== requests.length) throw new Error("the node did not take every workload transaction");
      await rpc.request("evm_mine");
      events += inBlock;
      blocks++;
    }
  } finally {
    await tc.setAutomine(true);
  }
  const head = await tc.publicClient.getBlockNumber({ cacheTime: 0 });
  return {
    factory: platform.factory,
    collection,
    startBlock: platform.startBlock,
    head,
    owners,
    editions,
    events,
    blocks,
  };
}
