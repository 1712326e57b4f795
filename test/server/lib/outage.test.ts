import { expect } from "chai";
import pino from "pino";
import { Writable } from "node:stream";
import { OutageLog } from "../../../server/lib/outage.ts";

function capture() {
  const lines: { level: number; msg: string; failures?: number; seconds?: number }[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, logger: pino({ level: "info" }, stream) };
}

describe("OutageLog: an outage is logged at its start, in a periodic summary, and at its end", () => {
  it("logs one line for 200 failures over 50 s, one summary per minute after, and the end", () => {
    const { lines, logger } = capture();
    let now = 1_000_000;
    const outage = new OutageLog({ logger, what: "database", summaryEveryMs: 60_000, now: () => now });
    for (let i = 0; i < 200; i++) {
      outage.failure(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
      now += 250; // a retry every 250 ms
    }
    expect(lines.map((l) => l.msg)).to.deep.equal([lines[0]!.msg]);
    expect(lines[0]!.msg).to.match(/^database unavailable; retrying/);
    for (let i = 0; i < 400; i++) {
      outage.failure(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
      now += 250;
    }
    // 150 s in: summaries at 60 s and 120 s.
    const summaries = lines.filter((l) => l.msg === "database still unavailable");
    expect(summaries.map((l) => l.failures)).to.deep.equal([241, 481]);
    outage.success();
    expect(lines.at(-1)!.msg).to.match(/^database available again after 150 s$/);
    expect(lines.at(-1)!.failures).to.equal(600);
    expect(outage.active).to.equal(false);
    // A success with no outage says nothing; the next outage starts afresh.
    outage.success();
    outage.failure(new Error("again"));
    expect(lines.length).to.equal(5);
    expect(lines.at(-1)!.msg).to.match(/^database unavailable/);
  });
});
