import { expect } from "chai";
import pino from "pino";
import { Writable } from "node:stream";
import { Indexer } from "../../../server/indexer/indexer.ts";
import { sendOps, ZERO } from "../../../server/testing/chain.ts";
import { useBenchIndexerFixture } from "../../../server/testing/indexer-fixture.ts";
import { startTcpProxy, type TcpProxy } from "../../../server/testing/tcp-proxy.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, logger: pino({ level: "info" }, stream) };
}

describe("indexer: the newHeads WebSocket goes away and comes back", function () {
  const fixture = useBenchIndexerFixture();
  let proxy: TcpProxy;

  before(async function () {
    proxy = await startTcpProxy(fixture.tc.local.port);
  });
  after(async function () {
    await proxy?.close();
  });

  it("keeps indexing by polling while it is gone, logs the loss once and its return once, and resubscribes", async function () {
    const { tc, token } = fixture;
    const { lines, logger } = capture();
    // HTTP JSON-RPC straight to the node; only the WebSocket goes through the proxy.
    const indexer = new Indexer(fixture.options({ wsUrl: proxy.wsUrl, pollIntervalMs: 300, logger }));
    const abort = new AbortController();
    const running = indexer.run(abort.signal);
    const caughtUp = async (what: string) => {
      const head = await tc.publicClient.getBlockNumber({ cacheTime: 0 });
      for (let i = 0; (indexer.status.indexedBlock ?? -1n) < head; i++) {
        if (i > 1000) throw new Error(`${what}: stuck at ${indexer.status.indexedBlock} (head ${head})`);
        await sleep(10);
      }
    };
    try {
      await caughtUp("start");
      for (let i = 0; proxy.open().ws === 0; i++) {
        if (i > 500) throw new Error("never subscribed");
        await sleep(10);
      }
      // The node "dies" for the WebSocket: the open connection is reset and reconnects are refused, again and again.
      await proxy.down();
      for (let i = 0; i < 3; i++) {
        await sendOps(tc, token, [
          { from: ZERO, to: "0x0000000000000000000000000000000000001001", id: 1n, amount: 1n },
        ]);
        await caughtUp(`block ${i} while the WebSocket is down (polling)`);
      }
      await sleep(1500); // several reconnect attempts (backoff from 500 ms)
      const lost = lines.filter((l) => l.msg.startsWith("newHeads subscription lost"));
      expect(lost, JSON.stringify(lines)).to.have.length(1);
      expect(lost[0]!.level).to.equal(40);
      await proxy.up();
      for (let i = 0; !lines.some((l) => l.msg === "newHeads subscription restored"); i++) {
        if (i > 1000) throw new Error(`never resubscribed: ${JSON.stringify(lines)}`);
        await sleep(10);
      }
      expect(proxy.open().ws).to.equal(1);
      // Dropped once more while HTTP stays up: the same again.
      proxy.dropWebSockets();
      for (let i = 0; lines.filter((l) => l.msg === "newHeads subscription restored").length < 2; i++) {
        if (i > 1000) throw new Error(`never resubscribed after a drop: ${JSON.stringify(lines)}`);
        await sleep(10);
      }
      await sendOps(tc, token, [{ from: ZERO, to: "0x0000000000000000000000000000000000001001", id: 1n, amount: 1n }]);
      await caughtUp("after resubscribing");
      expect(
        lines.filter((l) => l.level >= 50),
        "no error logged",
      ).to.deep.equal([]);
      expect(lines.filter((l) => l.msg.startsWith("newHeads subscription lost"))).to.have.length(2);
    } finally {
      abort.abort();
      await running;
    }
  });
});
