import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { encodeAbiParameters, encodeEventTopics, type Abi, type Hex } from "viem";
import { loadArtifact } from "../../../server/chain/artifacts.ts";
import { erc1155Events, loadEventCatalogue, type RawLog } from "../../../server/indexer/events.ts";
import { InconsistentRangeError, RangeFetcher } from "../../../server/indexer/fetch.ts";
import { readLogs } from "../../../server/indexer/log-scan.ts";
import { RpcClient } from "../../../server/indexer/rpc.ts";
import type { BlockHeader, PreparedBatch } from "../../../server/indexer/store.ts";
import { prng } from "../../../server/testing/chain.ts";

// The indexer reads eth_getLogs answers straight from their bytes (log-scan.ts, BatchBuilder.addTransferLog) and
// falls back to JSON.parse and the general decoder for anything unexpected. These tests hold the fast path to the
// general one: the same COPY bytes, the same balance moves, the same collections, the same refusals.

const FROM = 100n;
const TO = 140n;
const FACTORY = "0x00000000000000000000000000000000000fac70";
const KNOWN = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const UNKNOWN = "0x00000000000000000000000000000000deadbeef";
const DISCOVERED = "0x1111111111111111111111111111111111111111";
const BIG = [
  0n,
  1n,
  7n,
  2n ** 52n - 1n,
  2n ** 52n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  10n ** 20n,
  2n ** 256n - 1n,
];

type Rand = ReturnType<typeof prng>;
const hexOf = (rand: Rand, digits: number) =>
  Array.from({ length: digits }, () => "0123456789abcdef"[rand.int(0, 15)]).join("");
/** Upper-cases some hex letters, as a checksummed or odd node might. */
const mixCase = (rand: Rand, hex: string) =>
  `0x${[...hex.slice(2)].map((c) => (rand.next() < 0.3 ? c.toUpperCase() : c)).join("")}`;
const quantity = (n: bigint | number) => `0x${n.toString(16)}`;

/** JSON text of a log: keys shuffled, odd whitespace, and fields the indexer does not read. */
function logJson(rand: Rand, log: Record<string, unknown>): string {
  const entries = Object.entries(log);
  entries.push(["transactionIndex", "0x1"], ["odd", { nested: ['a "quoted" \\ value', 1.5e3, null, true] }]);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = rand.int(0, i);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  const space = () => [" ", "", "\n  ", "\t"][rand.int(0, 3)]!;
  return `{${entries.map(([k, v]) => `${space()}"${k}"${space()}:${space()}${JSON.stringify(v)}`).join(",")}${space()}}`;
}

async function makeRange(seed: number, withTimestamps: boolean) {
  const rand = prng(seed);
  const factoryAbi = (await loadArtifact("EditionFactory")).abi as Abi;
  const headers = new Map<bigint, BlockHeader>();
  let parent = `0x${hexOf(rand, 64)}`;
  for (let n = FROM; n <= TO; n++) {
    const hash = `0x${hexOf(rand, 64)}`;
    headers.set(n, { number: n, hash, parentHash: parent, timestamp: 1_700_000_000n + n * 12n });
    parent = hash;
  }
  const owners = [`0x${"0".repeat(40)}`, ...Array.from({ length: 6 }, () => `0x${hexOf(rand, 40)}`)];
  const logs: string[] = [];
  for (let n = FROM; n <= TO; n++) {
    let logIndex = 0;
    for (let k = rand.int(0, 5); k > 0; k--) {
      const kind = rand.next();
      const from = rand.pick(owners) as Hex;
      const to = rand.pick(owners) as Hex;
      const operator = rand.pick(owners) as Hex;
      let address = rand.next() < 0.85 ? KNOWN : UNKNOWN;
      let topics: Hex[];
      let data: Hex;
      if (n === 110n && logIndex === 0) {
        // The factory announces a collection; its own logs later in the range must be kept too.
        address = FACTORY;
        topics = encodeEventTopics({
          abi: factoryAbi,
          eventName: "CollectionCreated",
          args: { collection: DISCOVERED, owner: operator },
        }) as Hex[];
        const event = factoryAbi.find((e) => e.type === "event" && e.name === "CollectionCreated") as unknown as {
          inputs: { indexed?: boolean; type: string; name: string }[];
        };
        const unindexed = event.inputs.filter((i) => !i.indexed);
        data = encodeAbiParameters(
          unindexed,
          unindexed.map((i) => (i.type === "string" ? "ipfs://é\u0000x" : i.type === "address" ? operator : 250n)),
        );
      } else if (kind < 0.55) {
        topics = encodeEventTopics({
          abi: erc1155Events,
          eventName: "TransferSingle",
          args: { operator, from, to },
        }) as Hex[];
        data = encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [rand.pick(BIG), rand.pick(BIG)]);
      } else if (kind < 0.9) {
        const length = rand.int(0, 4);
        topics = encodeEventTopics({
          abi: erc1155Events,
          eventName: "TransferBatch",
          args: { operator, from, to },
        }) as Hex[];
        data = encodeAbiParameters(
          [{ type: "uint256[]" }, { type: "uint256[]" }],
          [Array.from({ length }, () => rand.pick(BIG)), Array.from({ length }, () => rand.pick(BIG))],
        );
      } else {
        topics = encodeEventTopics({ abi: erc1155Events, eventName: "URI", args: { id: rand.pick(BIG) } }) as Hex[];
        data = encodeAbiParameters([{ type: "string" }], ["ipfs://uri/\t\\\n"]);
      }
      if (n > 110n && rand.next() < 0.2) address = DISCOVERED;
      const log: Record<string, unknown> = {
        address: mixCase(rand, address),
        topics: topics.map((t) => mixCase(rand, t)),
        data: mixCase(rand, data),
        blockNumber: quantity(n),
        blockHash: headers.get(n)!.hash,
        transactionHash: mixCase(rand, `0x${hexOf(rand, 64)}`),
        logIndex: quantity(logIndex++),
        removed: false,
      };
      if (withTimestamps) log.blockTimestamp = quantity(headers.get(n)!.timestamp);
      logs.push(logJson(rand, log));
      // A node answering the same log twice: kept once.
      if (rand.next() < 0.03) logs.push(logs[logs.length - 1]!);
    }
  }
  return { headers, text: `[${logs.join(",")}]` };
}

describe("indexer: reading eth_getLogs answers from their bytes", function () {
  let fetcher: RangeFetcher;
  /** Logs decoded by the general decoder, by event name. */
  const decoded = new Map<string, number>();
  const known = new Set([KNOWN]);
  const batchOf = (headers: Map<bigint, BlockHeader>) => ({
    chainId: 31337,
    previous: null,
    head: headers.get(TO)!,
    headers: [headers.get(TO)!],
  });

  before(async function () {
    // The rpc is never called: only the preparing of answers already in hand is tested here.
    const rpc = new RpcClient({ urls: ["http://127.0.0.1:9"] });
    const catalogue = await loadEventCatalogue();
    const counted = {
      ...catalogue,
      decode: (log: RawLog, fromFactory: boolean) => {
        const event = catalogue.decode(log, fromFactory);
        if (event) decoded.set(event.name, (decoded.get(event.name) ?? 0) + 1);
        return event;
      },
    };
    fetcher = new RangeFetcher({ rpc, catalogue: counted, chainId: 31337, factory: FACTORY, finalityDepth: 10 });
  });

  const bothPaths = (text: string, headers: Map<bigint, BlockHeader>) => {
    const bytes = Buffer.from(text, "latin1");
    const table = readLogs(bytes, 0, bytes.length);
    const general = () => fetcher.prepareLogs(FROM, TO, headers, JSON.parse(text) as RawLog[], known, batchOf(headers));
    const fast = table
      ? () => fetcher.prepareTable(FROM, TO, headers, table.value, known, batchOf(headers))
      : undefined;
    return { table, general, fast };
  };
  const sameOutput = (fast: PreparedBatch, general: PreparedBatch) => {
    expect(Buffer.concat(fast.eventChunks).toString("latin1")).to.equal(
      Buffer.concat(general.eventChunks).toString("latin1"),
    );
    expect(fast.eventCount).to.equal(general.eventCount);
    expect(fast.moves).to.deep.equal(general.moves);
    expect(fast.collections).to.deep.equal(general.collections);
    expect(fast.blocks).to.deep.equal(general.blocks);
  };

  for (const [seed, withTimestamps] of [
    [1, false],
    [2, true],
    [3, false],
    [4, true],
    [5, false],
  ] as const) {
    it(`writes the same rows, moves and collections as the general path (seed ${seed}${withTimestamps ? ", logs with block times" : ""})`, async function () {
      const { headers, text } = await makeRange(seed, withTimestamps);
      const { table, general, fast } = bothPaths(text, headers);
      expect(table, "the reader takes a well-formed answer").to.not.equal(null);
      const expected = general();
      decoded.clear();
      sameOutput(fast!(), expected);
      // Only the rare events go through the general decoder on the fast path; every transfer is read from bytes.
      expect([...decoded.keys()].sort()).to.deep.equal(["CollectionCreated", "URI"]);
      expect(expected.eventCount).to.be.greaterThan(50);
      expect(expected.collections.map((c) => c.address)).to.deep.equal([DISCOVERED]);
      expect(expected.moves.bigAmount, "amounts beyond 2^53 are kept exact").to.not.equal(undefined);
    });
  }

  it("leaves to JSON.parse anything it does not expect", async function () {
    const { text } = await makeRange(6, false);
    const first = text.indexOf('"address"');
    const mutations: [string, (t: string) => string][] = [
      ["an escape in a value", (t) => t.replace(/"blockHash"(\s*):(\s*)"0x/, '"blockHash"$1:$2"\\u0030x')],
      ["a non-hex digit", (t) => t.replace(/"transactionHash"(\s*):(\s*)"0x./, '"transactionHash"$1:$2"0xg')],
      [
        "an address one digit short",
        (t) => t.slice(0, first) + t.slice(first).replace(/"address"(\s*):(\s*)"0x./, '"address"$1:$2"0x'),
      ],
      ["0X instead of 0x", (t) => t.replace(/"logIndex"(\s*):(\s*)"0x/, '"logIndex"$1:$2"0X')],
      [
        "a block number beyond 2^52",
        (t) => t.replace(/"blockNumber"(\s*):(\s*)"0x/, '"blockNumber"$1:$2"0x1000000000000'),
      ],
      ["data of a partial word", (t) => t.replace(/"data"(\s*):(\s*)"0x/, '"data"$1:$2"0x00')],
      ["no topics", (t) => t.replace(/"topics"(\s*):(\s*)\[[^\]]*\]/, '"topics":[]')],
      ["a missing field", (t) => t.replace(/"logIndex"(\s*):(\s*)"0x[0-9a-f]+"\s*,?/, "")],
      ["removed as a string", (t) => t.replace(/"removed"(\s*):(\s*)false/, '"removed":"no"')],
      ["a cut answer", (t) => t.slice(0, t.length - 5)],
    ];
    for (const [name, mutate] of mutations) {
      const bytes = Buffer.from(mutate(text), "latin1");
      expect(readLogs(bytes, 0, bytes.length), name).to.equal(null);
    }
  });

  it("refuses what the general path refuses, with the same error", async function () {
    const { headers, text } = await makeRange(7, false);
    const cases: [string, (t: string) => string][] = [
      ["a removed log", (t) => t.replace(/"removed"(\s*):(\s*)false/, '"removed":true')],
      [
        "a log from another branch",
        (t) => t.replace(/"blockHash"\s*:\s*"0x[0-9a-f]{64}"/, `"blockHash":"0x${"e".repeat(64)}"`),
      ],
      [
        "a TransferSingle with one data word",
        (t) => t.replace(/("data"\s*:\s*"0x[0-9a-fA-F]{64})[0-9a-fA-F]{64}"/g, '$1"'),
      ],
    ];
    for (const [name, mutate] of cases) {
      const { table, general, fast } = bothPaths(mutate(text), headers);
      expect(table, name).to.not.equal(null);
      let expected: unknown;
      try {
        general();
      } catch (error) {
        expected = error;
      }
      expect(expected, `${name}: the general path refuses it`).to.be.instanceOf(Error);
      expect(fast!, name).to.throw((expected as Error).constructor as ErrorConstructor, (expected as Error).message);
    }
    // Two logs of one block naming different block hashes, in a block whose header was not fetched (its hash is
    // stored once, in event_block): both paths refuse the range.
    const logs = JSON.parse(text) as RawLog[];
    const second = logs.findIndex(
      (l, i) =>
        i > 0 &&
        logs[i - 1]!.blockNumber === l.blockNumber &&
        BigInt(l.blockNumber) > FROM &&
        BigInt(l.blockNumber) < TO,
    );
    expect(second, "a block with two logs").to.be.greaterThan(0);
    logs[second] = { ...logs[second]!, blockHash: `0x${"d".repeat(64)}` };
    const ends = new Map([...headers].filter(([n]) => n === FROM || n === TO));
    const { table, general, fast } = bothPaths(JSON.stringify(logs), ends);
    expect(table).to.not.equal(null);
    expect(general).to.throw(InconsistentRangeError, "name two block hashes");
    expect(fast!).to.throw(InconsistentRangeError, "name two block hashes");
  });

  it("reads the logs of a batch answer in the same pass, wherever its id and result stand", async function () {
    const { text } = await makeRange(8, true);
    const block = JSON.stringify({ number: "0x64", hash: `0x${"a".repeat(64)}` });
    // The node writes the logs' result before its id, and answers one call with an error.
    const items = [
      (id: number) => `{"result":${text},"jsonrpc":"2.0","id":${id}}`,
      (id: number) => `{"jsonrpc":"2.0","id":${id},"result":${block}}`,
      (id: number) => `{"id":${id},"jsonrpc":"2.0","error":{"code":3,"message":"execution reverted"}}`,
    ];
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const ids = (JSON.parse(body) as { id: number }[]).map((r) => r.id);
        // Answered in reverse order, as a batch answer may be.
        res.end(
          `[ ${ids
            .map((id, i) => items[i]!(id))
            .reverse()
            .join(" ,\n")} ]`,
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const rpc = new RpcClient({
        urls: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`],
        maxAttempts: 1,
      });
      const requests = [
        { method: "eth_getLogs", params: [] },
        { method: "eth_getBlockByNumber", params: [] },
      ];
      const [logs, header] = await rpc.batch<[{ count: number }, unknown]>(requests, [readLogs]);
      expect(logs.count).to.equal((JSON.parse(text) as unknown[]).length);
      expect(header).to.deep.equal(JSON.parse(block));
      const failing = rpc.batch([...requests, { method: "eth_call", params: [] }], [readLogs]);
      await failing.then(
        () => expect.fail("an error answer must fail the call"),
        (error: Error) => expect(error.message).to.match(/eth_call failed: execution reverted/),
      );
    } finally {
      server.close();
    }
  });
});
