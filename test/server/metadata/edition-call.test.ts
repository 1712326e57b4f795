import { expect } from "chai";
import type { Hex } from "viem";
import { devAccount, useLoyaltyFixture } from "../../../server/testing/loyalty-fixture.ts";

describe("partner tools: the createEdition call, with the platform's metadata URL as the edition's URI", function () {
  this.timeout(120_000);
  const f = useLoyaltyFixture({ finality: 0, voucherTtlSeconds: 600 });
  const prepare = (body: unknown, headers = f.operatorAuth) =>
    f.api.call("POST", `/v1/collections/${f.collection}/editions/prepare`, { body, headers });

  it("prepares a call that creates the edition on-chain, its URI the platform's {id} template, served from the metadata", async function () {
    const answer = await prepare({
      maxSupply: 100,
      phases: [{ start: 0, end: 4_000_000_000, price: "0", walletLimit: 2 }],
    });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    const call = answer.body as { to: string; uri: string; data: Hex };
    expect(call.uri).to.equal(`${f.api.publicUrl}/metadata/31337/${f.collection.toLowerCase()}/{id}.json`);
    const hash = await f.tc.rpc<Hex>("eth_sendTransaction", [
      { from: f.operator.address, to: call.to, data: call.data, gas: "0x7a1200" },
    ]);
    expect((await f.tc.publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
    await f.sync();
    // The fixture made editions 1-3; this is #4.
    const edition = await f.api.call("GET", `/v1/collections/${f.collection}/editions/4`);
    expect(edition.status, JSON.stringify(edition.body)).to.equal(200);
    expect(JSON.stringify(edition.body)).to.include(call.uri);
    const set = await f.api.call("PUT", `/v1/collections/${f.collection}/editions/4/metadata`, {
      headers: f.operatorAuth,
      body: { name: "Fourth", description: "Made through Perkmint" },
    });
    expect(set.status, JSON.stringify(set.body)).to.be.oneOf([200, 201]);
    const served = await fetch(call.uri.replace("{id}", 4n.toString(16).padStart(64, "0")));
    expect(served.status).to.equal(200);
    expect(((await served.json()) as { name: string }).name).to.equal("Fourth");
  });

  it("keeps a URI of the partner's own, and refuses settings the contract would revert on, naming the field", async function () {
    const own = await prepare({ maxSupply: 1, uri: "ipfs://bafy/meta/{id}.json" });
    expect(own.body!.uri).to.equal("ipfs://bafy/meta/{id}.json");
    const bad: [unknown, string][] = [
      [{ maxSupply: 0 }, "body.maxSupply"],
      [{ maxSupply: 1, referralBps: 5001 }, "body.referralBps"],
      [{ maxSupply: 1, royaltyBps: 10_001 }, "body.royaltyBps"],
      [
        { maxSupply: 1, phases: Array.from({ length: 8 }, () => ({ start: 0, end: 1, price: "0", walletLimit: 0 })) },
        "body.phases",
      ],
      [{ maxSupply: 1, phases: [{ start: 10, end: 5, price: "0", walletLimit: 0 }] }, "body.phases.0.end"],
      [
        { maxSupply: 1, phases: [{ start: 0, end: 5, price: (2n ** 80n).toString(), walletLimit: 0 }] },
        "body.phases.0.price",
      ],
      [{ maxSupply: 1, uri: "not a url" }, "body.uri"],
    ];
    for (const [body, path] of bad) {
      const answer = await prepare(body);
      expect(answer.status, JSON.stringify(answer.body)).to.equal(400);
      expect((answer.body!.errors as { path: string }[]).map((e) => e.path)).to.include(path);
    }
    // Someone else's collection: 403.
    const other = await prepare({ maxSupply: 1 }, await f.api.signIn(devAccount(7)));
    expect(other.status).to.equal(403);
  });
});
