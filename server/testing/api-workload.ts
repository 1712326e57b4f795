import { createHash } from "node:crypto";
import type pg from "pg";
import { encodeAbiParameters, encodeEventTopics, type Abi, type AbiEvent } from "viem";
import { loadArtifact } from "../chain/artifacts.ts";
import { loadEventCatalogue, type ChainEvent, type EventCatalogue, type RawLog } from "../indexer/events.ts";
import { applyBatch } from "../indexer/store/apply-batch.ts";
import { ZERO_ADDRESS, type BlockHeader, type Checkpoint } from "../indexer/store/model.ts";
import { prng } from "./chain.ts";

/**
 * A large index for the API benchmark (bench:api), written through the indexer's own write path (applyBatch) from
 * synthetic batches, so the rows are exactly those the indexer would store — a real chain would take hours to mint a
 * million transfers. The configuration of each collection (CollectionCreated from the factory; OwnershipTransferred,
 * DefaultRoyaltyUpdated, and per edition EditionCreated, URI and PhaseUpdated) is ABI-encoded as logs and decoded by
 * the indexer's own catalogue; the transfers and their followers (Minted after a sale, Redeemed after a
 * redemption's burn) are built directly, in the shape the catalogue decodes them to (checked once, at the start).
 *
 * The mix: `holders` distinct wallets, each entering with a mint; then mints (with a Minted event), transfers, batch
 * transfers and burns (a third of them redemptions), every one valid against the balances so far. Skewed: 85% of
 * the actions come from an active 2% of the wallets, Zipf-like (the first of them a whale with tens of thousands of
 * events), the rest from anyone; editions are picked Zipf-like too, so a few have tens of thousands of holders.
 * Phases are set relative to `now`: per edition one of open now (public), open now (allowlist) with a public phase
 * upcoming, upcoming only, or ended (no drop).
 */
export type ApiWorkloadOptions = {
  chainId: number;
  holders: number;
  /** TransferSingle and TransferBatch events (not counting the Minted and Redeemed events that follow some). */
  transfers: number;
  collections?: number;
  editionsPerCollection?: number;
  /** Transfer events per block (default 100) and blocks per batch (default 100). */
  perBlock?: number;
  blocksPerBatch?: number;
  seed?: number;
  /** The head block's time (unix seconds; default: now). Blocks are 2 s apart, ending there. */
  now?: number;
  onProgress?: (transfersWritten: number) => void;
};

export type ApiWorkload = {
  collections: string[];
  editions: { collection: string; tokenId: string }[];
  /** Every wallet, in order of activity (the first is the busiest). */
  wallets: string[];
  transfers: number;
  events: number;
  blocks: number;
  head: bigint;
};

const hex = (label: string, bytes: number) =>
  `0x${createHash("sha256")
    .update(label)
    .digest("hex")
    .slice(0, bytes * 2)}`;
const blockHash = (n: number) => hex(`perkmint-bench-block-${n}`, 32);
const PRICE = 1_000_000_000_000_000n;
const VOUCHER_PHASE = (2n ** 256n - 1n).toString();
const ACTIVE_SHARE = 0.02;

/** Encodes `eventName` of `abi` as a log of `address` and decodes it as the indexer does (throws if it would not). */
function viaCatalogue(
  catalogue: EventCatalogue,
  abi: Abi,
  fromFactory: boolean,
  address: string,
  eventName: string,
  args: Record<string, unknown>,
  at: { block: number; tx: string; logIndex: number },
): ChainEvent {
  const event = abi.find((e): e is AbiEvent => e.type === "event" && e.name === eventName);
  if (!event) throw new Error(`no event ${eventName} in the ABI`);
  const topics = encodeEventTopics({ abi: [event], eventName, args });
  const unindexed = event.inputs.filter((i) => !i.indexed);
  const data = encodeAbiParameters(
    unindexed,
    unindexed.map((i) => args[i.name!]),
  );
  const log: RawLog = {
    address,
    topics: topics as string[],
    data,
    blockNumber: `0x${at.block.toString(16)}`,
    blockHash: blockHash(at.block),
    transactionHash: at.tx,
    logIndex: `0x${at.logIndex.toString(16)}`,
  };
  const decoded = catalogue.decode(log, fromFactory);
  if (!decoded) throw new Error(`the event catalogue does not know ${eventName}`);
  return decoded;
}

export async function seedApiWorkload(db: pg.Pool, options: ApiWorkloadOptions): Promise<ApiWorkload> {
  const rand = prng(options.seed ?? 1);
  const perBlock = options.perBlock ?? 100;
  const blocksPerBatch = options.blocksPerBatch ?? 100;
  const collectionCount = options.collections ?? 20;
  const editionsPer = options.editionsPerCollection ?? 10;
  const H = options.holders;
  const T = options.transfers;
  if (T < H) throw new Error("every holder enters with a mint: transfers must be at least holders");
  const catalogue = await loadEventCatalogue();
  const collectionAbi = (await loadArtifact("Collection")).abi;
  const factoryAbi = (await loadArtifact("EditionFactory")).abi;

  const wallets = Array.from({ length: H }, (_, i) => hex(`perkmint-bench-wallet-${i}`, 20));
  const factory = hex("perkmint-bench-factory", 20);
  const partner = hex("perkmint-bench-partner", 20);
  const collections = Array.from({ length: collectionCount }, (_, i) => hex(`perkmint-bench-collection-${i}`, 20));
  const editions = collections.flatMap((collection) =>
    Array.from({ length: editionsPer }, (_, i) => ({ collection, tokenId: String(i + 1) })),
  );
  // Every third edition redeemable: some burns are redemptions.
  const redeemable = editions.map((_, i) => i % 3 === 0);

  const totalBlocks = 1 + Math.ceil(T / perBlock);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const timeOf = (block: number) => now - 2 * (totalBlocks - block);
  const day = 86_400;
  const started = timeOf(1);

  let tx = 0;
  const nextTx = () => hex(`perkmint-bench-tx-${tx++}`, 32);

  // Block 1: the collections and their editions, decoded by the indexer's catalogue.
  const setup: ChainEvent[] = [];
  let logIndex = 0;
  const config = (fromFactory: boolean, address: string, eventName: string, args: Record<string, unknown>, t: string) =>
    setup.push(
      viaCatalogue(catalogue, fromFactory ? factoryAbi : collectionAbi, fromFactory, address, eventName, args, {
        block: 1,
        tx: t,
        logIndex: logIndex++,
      }),
    );
  for (const [c, collection] of collections.entries()) {
    const t = nextTx();
    config(false, collection, "OwnershipTransferred", { previousOwner: ZERO_ADDRESS, newOwner: partner }, t);
    config(false, collection, "DefaultRoyaltyUpdated", { receiver: partner, royaltyBps: 500n }, t);
    config(
      true,
      factory,
      "CollectionCreated",
      { collection, owner: partner, contractURI: `ipfs://bench/${c}.json`, platformFeeBps: 1000n },
      t,
    );
    for (let id = 1; id <= editionsPer; id++) {
      const e = c * editionsPer + id - 1;
      const et = nextTx();
      const edition = BigInt(id);
      config(
        false,
        collection,
        "EditionCreated",
        { edition, maxSupply: 10n ** 12n, soulbound: false, redeemable: redeemable[e], referralBps: 500n },
        et,
      );
      config(false, collection, "URI", { value: `ipfs://bench/${c}/${id}.json`, id: edition }, et);
      const phase = (index: number, start: number, end: number, allowlist: boolean) =>
        config(
          false,
          collection,
          "PhaseUpdated",
          {
            edition,
            phase: BigInt(index),
            start: BigInt(start),
            end: BigInt(end),
            price: PRICE,
            walletLimit: allowlist ? 3n : 0n,
            merkleRoot: allowlist ? hex(`perkmint-bench-root-${e}`, 32) : `0x${"0".repeat(64)}`,
          },
          et,
        );
      // Sales run from the first block on; what is open at the head depends on the kind of edition.
      if (e % 4 === 0) phase(0, started - day, now + 30 * day, false);
      else if (e % 4 === 1) {
        phase(0, started - day, now + 2 * day, true);
        phase(1, now + 2 * day, now + 60 * day, false);
      } else if (e % 4 === 2) {
        // An allowlist phase over, the public one upcoming: a drop to come.
        phase(0, started - day, now - day, true);
        phase(1, now + (e % 9) * day + day, now + 90 * day, false);
      } else phase(0, started - day, now - 3600, false);
    }
  }

  // The transfers. Wallets are numbered by how active they are: 0..active-1 is the active 2%.
  const active = Math.max(1, Math.floor(H * ACTIVE_SHARE));
  const balances = new Map<number, number>(); // wallet * editions + edition → amount
  const held: number[][] = Array.from({ length: H }, () => []);
  const E = editions.length;
  const balance = (w: number, e: number) => balances.get(w * E + e) ?? 0;
  const move = (w: number, e: number, delta: number) => {
    const before = balance(w, e);
    const after = before + delta;
    if (after < 0) throw new Error("workload bug: a negative balance");
    if (after === 0) balances.delete(w * E + e);
    else balances.set(w * E + e, after);
    if (before === 0 && after > 0) held[w]!.push(e);
    if (before > 0 && after === 0) held[w]!.splice(held[w]!.indexOf(e), 1);
  };
  let entered = 0;
  /** A wallet already holding or having held something: mostly the active ones, Zipf-like, else anyone. */
  const someWallet = () =>
    rand.next() < 0.85 ? Math.floor(Math.min(active, entered) * rand.next() ** 2) : Math.floor(entered * rand.next());
  const someEdition = () => Math.floor(E * rand.next() ** 2);

  const addr = (w: number) => (w < 0 ? ZERO_ADDRESS : wallets[w]!);
  const single = (
    block: number,
    li: number,
    t: string,
    e: number,
    from: number,
    to: number,
    amount: number,
  ): ChainEvent => ({
    blockNumber: BigInt(block),
    blockHash: blockHash(block),
    txHash: t,
    logIndex: li,
    address: editions[e]!.collection,
    name: "TransferSingle",
    args: {
      operator: addr(from < 0 ? to : from),
      from: addr(from),
      to: addr(to),
      id: editions[e]!.tokenId,
      value: String(amount),
    },
  });

  // The shapes built here must be what the catalogue decodes: checked on one of each.
  const checkShape = (built: ChainEvent, eventName: string, args: Record<string, unknown>) => {
    const decoded = viaCatalogue(catalogue, collectionAbi, false, built.address, eventName, args, {
      block: Number(built.blockNumber),
      tx: built.txHash,
      logIndex: built.logIndex,
    });
    const { blockTime: _t, ...plain } = decoded;
    const text = (e: unknown) => JSON.stringify(e, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    if (text(plain) !== text(built))
      throw new Error(`synthetic ${eventName} differs from the decoded log:\n${text(built)}\n${text(plain)}`);
  };

  let block = 1;
  let written = 0;
  let events = 0;
  let batchEvents: ChainEvent[] = [...setup];
  let previous: Checkpoint | null = null;
  let inFlight: Promise<unknown> | undefined;
  const header = (n: number): BlockHeader => ({
    number: BigInt(n),
    hash: blockHash(n),
    parentHash: blockHash(n - 1),
    timestamp: BigInt(timeOf(n)),
  });
  const flush = async () => {
    const head = header(block);
    const batch = {
      chainId: options.chainId,
      previous,
      head,
      headers: [head],
      events: batchEvents.map((e) => ({ ...e, blockTime: BigInt(timeOf(Number(e.blockNumber))) })),
    };
    events += batch.events.length;
    batchEvents = [];
    previous = { blockNumber: head.number, blockHash: head.hash };
    // Two batches in flight, as the indexer writes: this one's COPY overlaps the previous one's projections.
    const write = applyBatch(db, batch, inFlight);
    await inFlight;
    inFlight = write;
  };
  await flush();

  const checked = new Set<string>();
  while (written < T) {
    block++;
    let li = 0;
    const blockStart = batchEvents.length;
    for (let k = 0; k < perBlock && written < T; k++, written++) {
      const t = nextTx();
      // A new wallet enters (with a mint) at the rate that brings every one in by the end.
      const mustEnter = H - entered >= T - written;
      if (entered < H && (mustEnter || rand.next() < (H - entered) / (T - written))) {
        const w = entered++;
        const e = someEdition();
        const q = rand.int(1, 2);
        batchEvents.push(single(block, li++, t, e, -1, w, q));
        batchEvents.push(minted(block, li++, t, e, w, q));
        move(w, e, q);
        continue;
      }
      const w = someWallet();
      const r = rand.next();
      const mine = held[w]!;
      if (r < 0.4 || mine.length === 0) {
        const e = someEdition();
        const q = rand.int(1, 3);
        batchEvents.push(single(block, li++, t, e, -1, w, q));
        batchEvents.push(minted(block, li++, t, e, w, q));
        move(w, e, q);
      } else if (r < 0.8 || mine.length < 2) {
        const e = rand.pick(mine);
        let to = rand.next() < 0.5 ? someWallet() : Math.floor(entered * rand.next());
        if (to === w) to = (w + 1) % entered;
        const amount = rand.next() < 0.5 ? balance(w, e) : rand.int(1, balance(w, e));
        batchEvents.push(single(block, li++, t, e, w, to, amount));
        move(w, e, -amount);
        move(to, e, amount);
      } else if (r < 0.92) {
        // A batch transfer of 2-4 editions of one collection the wallet holds.
        const first = rand.pick(mine);
        const collection = editions[first]!.collection;
        const ids = mine.filter((e) => editions[e]!.collection === collection).slice(0, rand.int(2, 4));
        let to = Math.floor(entered * rand.next());
        if (to === w) to = (w + 1) % entered;
        const amounts = ids.map((e) => rand.int(1, balance(w, e)));
        batchEvents.push({
          blockNumber: BigInt(block),
          blockHash: blockHash(block),
          txHash: t,
          logIndex: li++,
          address: collection,
          name: "TransferBatch",
          args: {
            operator: addr(w),
            from: addr(w),
            to: addr(to),
            ids: ids.map((e) => editions[e]!.tokenId),
            values: amounts.map(String),
          },
        });
        ids.forEach((e, i) => (move(w, e, -amounts[i]!), move(to, e, amounts[i]!)));
      } else {
        const e = rand.pick(mine);
        const amount = rand.int(1, balance(w, e));
        batchEvents.push(single(block, li++, t, e, w, -1, amount));
        if (redeemable[e]) batchEvents.push(redeemed(block, li++, t, e, w, amount));
        move(w, e, -amount);
      }
    }
    for (const e of checked.size < 5 ? batchEvents.slice(blockStart) : []) {
      if (checked.has(e.name)) continue;
      checked.add(e.name);
      checkShape(e, e.name, argsForEncoding(e));
    }
    if ((block - 1) % blocksPerBatch === 0 || written >= T) {
      await flush();
      options.onProgress?.(written);
    }
  }
  await inFlight;
  return { collections, editions, wallets, transfers: T, events, blocks: block, head: BigInt(block) };

  function minted(b: number, li: number, t: string, e: number, w: number, q: number): ChainEvent {
    // One mint in twenty by voucher (phase 2^256-1), the others in a phase; one in four referred.
    const referrer = rand.next() < 0.25 ? addr(Math.floor(active * rand.next())) : ZERO_ADDRESS;
    return {
      blockNumber: BigInt(b),
      blockHash: blockHash(b),
      txHash: t,
      logIndex: li,
      address: editions[e]!.collection,
      name: "Minted",
      args: {
        edition: editions[e]!.tokenId,
        recipient: addr(w),
        referrer: referrer === addr(w) ? ZERO_ADDRESS : referrer,
        buyer: addr(w),
        phase: rand.next() < 0.05 ? VOUCHER_PHASE : "0",
        quantity: String(q),
        paid: String(PRICE * BigInt(q)),
      },
    };
  }
  function redeemed(b: number, li: number, t: string, e: number, w: number, q: number): ChainEvent {
    return {
      blockNumber: BigInt(b),
      blockHash: blockHash(b),
      txHash: t,
      logIndex: li,
      address: editions[e]!.collection,
      name: "Redeemed",
      args: {
        edition: editions[e]!.tokenId,
        holder: addr(w),
        redemptionRef: hex(`perkmint-bench-redemption-${t}`, 32),
        operator: addr(w),
        quantity: String(q),
      },
    };
  }
}

const uint = (v: unknown) => (typeof v === "string" && /^\d+$/.test(v) ? BigInt(v) : v);

/** The args of a built event as encodeEventLog takes them (uint256 as bigint). */
function argsForEncoding(e: ChainEvent): Record<string, unknown> {
  return Object.fromEntries(Object.entries(e.args).map(([k, v]) => [k, Array.isArray(v) ? v.map(uint) : uint(v)]));
}
