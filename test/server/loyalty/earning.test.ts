import { expect } from "chai";
import type { LocalAccount } from "viem";
import { inTransaction } from "../../../server/database/transaction.ts";
import { appendEntries } from "../../../server/loyalty/ledger.ts";
import { expirePoints } from "../../../server/loyalty/points-expiry.ts";
import { devAccount, useLoyaltyFixture } from "../../../server/testing/loyalty-fixture.ts";

const FINALITY = 2;
const DAY = 24 * 3600;

describe("loyalty: holding milestones, on-chain tasks, the daily check-in and expiry", function () {
  this.timeout(300_000);
  const f = useLoyaltyFixture({ finality: FINALITY, voucherTtlSeconds: 600 });
  const [eve, fay, gus, hal] = [devAccount(15), devAccount(16), devAccount(17), devAccount(18)];

  const saveRules = async (rules: unknown) => {
    const answer = await f.api.call("POST", "/v1/points/rules", { headers: f.operatorAuth, body: { rules } });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
  };
  const entries = async (wallet: LocalAccount) =>
    (
      await f.db.query<{ reason: string; amount: string; key: string }>(
        `SELECT reason, amount::text, idempotency_key AS key FROM points_entry
         WHERE wallet = $1 AND bucket = 'available' ORDER BY id`,
        [wallet.address.toLowerCase()],
      )
    ).rows;
  const transfer = (from: LocalAccount, to: LocalAccount, id: bigint, amount: bigint) =>
    f.send(from.address, f.collection, f.collectionAbi, "safeTransferFrom", [
      from.address,
      to.address,
      id,
      amount,
      "0x",
    ]);
  const passDays = async (days: number) => {
    await f.tc.rpc("evm_increaseTime", [days * DAY]);
    await f.tc.mine(FINALITY + 1);
    await f.sync();
  };

  before(async function () {
    await saveRules({
      mint: [],
      holding: [{ id: "hold-one-week", collection: f.collection, tokenId: "1", days: 7, points: 70 }],
      tasks: [
        { id: "first-mint", kind: "mint_from", collection: f.collection, points: 5 },
        { id: "hold-three", kind: "hold", collection: f.collection, tokenId: "3", points: 30 },
        { id: "set-one-three", kind: "complete_set", collection: f.collection, tokenIds: ["1", "3"], points: 100 },
      ],
      checkIn: { points: 2 },
    });
  });

  it("rejects tasks and milestones that do not validate, naming the field", async function () {
    const bad: [unknown, string][] = [
      [{ tasks: [{ id: "x", kind: "bake", collection: f.collection, points: 1 }] }, "body.rules.tasks.0.kind"],
      [{ tasks: [{ id: "Bad Id", kind: "mint_from", collection: f.collection, points: 1 }] }, "body.rules.tasks.0.id"],
      [{ tasks: [{ id: "x", kind: "hold", collection: f.collection, points: 1 }] }, "body.rules.tasks.0.tokenId"],
      [{ holding: [{ id: "h", collection: f.collection, days: 0, points: 1 }] }, "body.rules.holding.0.days"],
      [
        {
          holding: [{ id: "same", collection: f.collection, days: 1, points: 1 }],
          tasks: [{ id: "same", kind: "mint_from", collection: f.collection, points: 1 }],
        },
        "body.rules.tasks.0.id",
      ],
      [{ checkIn: { points: -2 } }, "body.rules.checkIn.points"],
      [{ expiryDays: 0 }, "body.rules.expiryDays"],
    ];
    for (const [rules, path] of bad) {
      const answer = await f.api.call("POST", "/v1/points/rules", { headers: f.operatorAuth, body: { rules } });
      expect(answer.status, JSON.stringify(answer.body)).to.equal(400);
      expect((answer.body!.errors as { path: string }[]).map((e) => e.path)).to.include(path);
    }
  });

  it("a mint-from task is done once per wallet; hold and complete-the-set tasks once their balances are final", async function () {
    await f.mint(eve, 1n, 1n);
    await f.mint(eve, 1n, 1n);
    await f.sync();
    expect(await f.balance(eve)).to.deep.include({ pending: 5 });
    await f.mint(eve, 3n, 1n);
    await f.sync();
    // Holding #3 (alone, and to complete the set) counts only once its held-since block is final.
    expect((await entries(eve)).filter((e) => e.amount !== "5")).to.deep.equal([]);
    await f.tc.mine(FINALITY);
    await f.sync();
    expect((await entries(eve)).map((e) => `${e.reason} ${e.amount}`).sort()).to.deep.equal(
      ["task 5", "task 30", "task 100"].sort(),
    );
    await f.mint(eve, 1n, 1n);
    await f.tc.mine(FINALITY);
    await f.sync();
    await f.sync();
    expect(await f.balance(eve)).to.deep.equal({ available: 135, pending: 0, lifetime: 135 });
  });

  it("a holding milestone after 7 days held; transferring out and back restarts the clock", async function () {
    await f.mint(fay, 1n, 1n);
    await f.mint(gus, 1n, 1n);
    await f.sync();
    await passDays(4);
    // Gus sends his token away and gets it back: held-since restarts.
    await transfer(gus, hal, 1n, 1n);
    await transfer(hal, gus, 1n, 1n);
    await passDays(4);
    const milestone = (rows: { reason: string }[]) => rows.filter((r) => r.reason === "holding_milestone");
    expect(milestone(await entries(fay))).to.have.length(1);
    expect(milestone(await entries(gus))).to.have.length(0);
    await passDays(4);
    expect(milestone(await entries(gus))).to.have.length(1);
    // Once per wallet and edition, however long it is held after.
    await passDays(8);
    expect(milestone(await entries(fay))).to.have.length(1);
  });

  it("the daily check-in pays once per UTC day", async function () {
    const auth = await f.api.signIn(hal);
    const first = await f.api.call("POST", "/v1/me/check-in", { headers: auth });
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(first.body).to.include({ checkedIn: true, points: "2" });
    const again = await Promise.all(
      Array.from({ length: 20 }, () => f.api.call("POST", "/v1/me/check-in", { headers: auth })),
    );
    expect(again.every((a) => a.status === 200 && a.body!.checkedIn === false)).to.equal(true);
    expect((await entries(hal)).filter((e) => e.reason === "check_in")).to.have.length(1);
  });

  it("with expiryDays, points expire that many days after they were earned, oldest spent first, once", async function () {
    await saveRules({ mint: [], expiryDays: 30 });
    const wallet = devAccount(19).address.toLowerCase();
    const at = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY * 1000);
    const entry = (amount: bigint, reason: "adjustment" | "redemption", daysAgo: number, key: string) => ({
      wallet,
      bucket: "available" as const,
      amount,
      reason,
      reference: "test",
      idempotencyKey: key,
      earnedAt: at(daysAgo),
      ...(reason === "adjustment" ? { operator: wallet, comment: "test" } : {}),
    });
    // 100 earned 40 days ago, 50 earned 10 days ago, 30 spent: the spend came out of the old 100, so 70 expire.
    await inTransaction(f.db, (tx) =>
      appendEntries(tx, [
        entry(100n, "adjustment", 40, "exp-old"),
        entry(50n, "adjustment", 10, "exp-new"),
        entry(-30n, "redemption", 5, "exp-spend"),
      ]),
    );
    const now = new Date();
    const [a, b] = await Promise.all([expirePoints(f.db, now), expirePoints(f.db, now)]);
    expect(a + b).to.equal(70n);
    const available = await f.db.query<{ available: string }>(
      "SELECT available::text FROM points_balance WHERE wallet = $1",
      [wallet],
    );
    expect(available.rows[0]!.available).to.equal("50");
    // Twenty-five days later the 50 expire too.
    expect(await expirePoints(f.db, new Date(now.getTime() + 25 * DAY * 1000))).to.equal(50n);
    expect(await expirePoints(f.db, new Date(now.getTime() + 26 * DAY * 1000))).to.equal(0n);
  });
});
