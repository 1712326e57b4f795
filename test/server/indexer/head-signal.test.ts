import { expect } from "chai";
import { HeadSignal } from "../../../server/indexer/head-signal.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const settled = () => new Promise((r) => setImmediate(r));

describe("HeadSignal: the live loop's wait for a new head", () => {
  it("a wake-up ends the wait in progress even after an earlier wait's poll timer has fired", async () => {
    const heads = new HeadSignal();
    // Wait 1 (poll interval 100 ms) is ended early by a newHeads notification.
    const first = heads.wait(100);
    heads.wake();
    await first;
    // Wait 2 starts (poll interval 10 s); wait 1's timer would have fired at 100 ms.
    let secondDone = false;
    const second = heads.wait(10_000).then(() => (secondDone = true));
    await sleep(150);
    expect(secondDone, "nothing woke it yet").to.equal(false);
    // The next notification must end wait 2 now, not 10 s later.
    heads.wake();
    await settled();
    expect(secondDone, "the wake-up was lost: an earlier wait's timer cleared it").to.equal(true);
    await second;
  });

  it("keeps a wake-up that came while nobody waited for the next wait", async () => {
    const heads = new HeadSignal();
    heads.wake();
    let done = false;
    void heads.wait(10_000).then(() => (done = true));
    await settled();
    expect(done).to.equal(true);
  });

  it("ends at the poll interval without a wake-up, and at once on abort", async () => {
    const heads = new HeadSignal();
    const started = Date.now();
    await heads.wait(30);
    expect(Date.now() - started).to.be.at.least(25);
    const abort = new AbortController();
    let done = false;
    void heads.wait(10_000, abort.signal).then(() => (done = true));
    abort.abort();
    await settled();
    expect(done).to.equal(true);
  });
});
