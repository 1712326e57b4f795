import { expect } from "chai";
import type pg from "pg";
import type { Abi, Address, Hex, LocalAccount } from "viem";
import { catchUp } from "../../../server/facts/consumer.ts";
import { createPool } from "../../../server/database/pool.ts";
import { createLogger } from "../../../server/lib/logger.ts";
import { pointsAwardsConsumer } from "../../../server/loyalty/awards.ts";
import { settleExpiredVoucher } from "../../../server/loyalty/voucher-expiry.ts";
import type { Answer, TestApi } from "../../../server/testing/api-server.ts";
import type { TestChain } from "../../../server/testing/chain.ts";
import { createTestDatabase } from "../../../server/testing/database.ts";
import { devAccount, useLoyaltyFixture, type LoyaltyFixture } from "../../../server/testing/loyalty-fixture.ts";

const FINALITY = 3;
const VOUCHER_TTL = 600;

describe("loyalty: points from mints, rules, tiers, caps, redemptions for vouchers, refunds", function () {
  this.timeout(300_000);
  const f = useLoyaltyFixture({ finality: FINALITY, voucherTtlSeconds: VOUCHER_TTL });
  let tc: TestChain;
  let db: pg.Pool;
  let collectionAbi: Abi;
  let collection: Address;
  let api: TestApi;
  let operatorAuth: Record<string, string>;
  let send: LoyaltyFixture["send"];
  let mint: LoyaltyFixture["mint"];
  let sync: LoyaltyFixture["sync"];
  let balance: LoyaltyFixture["balance"];
  const logger = createLogger("silent");
  const [ann, ben, cat, dan] = [devAccount(11), devAccount(12), devAccount(13), devAccount(14)];
  const expectProblem = (answer: Answer, status: number, path?: string) => {
    expect(answer.status, JSON.stringify(answer.body)).to.equal(status);
    expect(answer.headers.get("content-type")).to.match(/^application\/problem\+json/);
    if (path) expect((answer.body!.errors as { path: string }[]).map((e) => e.path)).to.include(path);
  };

  before(function () {
    ({ tc, db, collectionAbi, collection, api, operatorAuth, send, mint, sync, balance } = f);
  });

  it("operators save rules as new versions; every validation error is a 400 naming its field", async function () {
    const save = (body: unknown, headers = operatorAuth) => api.call("POST", "/v1/points/rules", { body, headers });
    expectProblem(await save({ rules: {} }, {}), 401);
    expectProblem(await save({ rules: {} }, await api.signIn(ann)), 403);
    const bad: [unknown, string][] = [
      [{ rules: { mint: [{ pointsPerUnit: -1 }] } }, "body.rules.mint.0.pointsPerUnit"],
      [{ rules: { mint: [{ pointsPerUnit: 1.5 }] } }, "body.rules.mint.0.pointsPerUnit"],
      [{ rules: { mint: [{ tokenId: "1", pointsPerUnit: 1 }] } }, "body.rules.mint.0.collection"],
      [{ rules: { mint: [{ collection: "0x12", pointsPerUnit: 1 }] } }, "body.rules.mint.0.collection"],
      [
        {
          rules: {
            tiers: [
              { name: "A", minLifetime: 10 },
              { name: "B", minLifetime: 5 },
            ],
          },
        },
        "body.rules.tiers",
      ],
      [{ rules: { caps: { perWalletPerDay: "lots" } } }, "body.rules.caps.perWalletPerDay"],
      [{ rules: { bonus: 1 } }, "body.rules.bonus"],
      [{ rules: { mint: [{ pointsPerUnit: 1 }, { pointsPerUnit: 2 }] } }, "body.rules.mint.1"],
    ];
    for (const [body, path] of bad) expectProblem(await save(body), 400, path);
    expect((await api.call("GET", "/v1/points/rules")).body!.version).to.equal(null);

    const first = await save({ rules: { mint: [{ pointsPerUnit: 1 }] }, comment: "first" });
    expect(first.status, JSON.stringify(first.body)).to.equal(201);
    const second = await save({
      rules: {
        mint: [{ pointsPerUnit: 10 }, { collection, tokenId: "3", pointsPerUnit: 25 }],
        tiers: [
          { name: "Bronze", minLifetime: 20 },
          { name: "Silver", minLifetime: 100 },
        ],
      },
    });
    expect(second.body!.version).to.equal(2);
    const current = await api.call("GET", "/v1/points/rules");
    expect(current.body!.version).to.equal(2);
    expect((current.body!.rules as { mint: unknown[] }).mint).to.have.length(2);
  });

  it("a mint earns pending points, available once POINTS_FINALITY deep; the most specific rule wins", async function () {
    await mint(ann, 1n, 2n); // 2 × 10
    await mint(ann, 3n, 1n); // 1 × 25 (the edition's own rule)
    await sync();
    expect(await balance(ann)).to.deep.equal({ available: 0, pending: 45, lifetime: 0 });
    await tc.mine(FINALITY);
    await sync();
    expect(await balance(ann)).to.deep.equal({ available: 45, pending: 0, lifetime: 45 });
    const mine = await api.call("GET", "/v1/me/points", { headers: await api.signIn(ann) });
    expect(mine.status).to.equal(200);
    expect(mine.body).to.include({ available: "45", pending: "0", lifetime: "45" });
    expect(mine.body!.tier).to.deep.equal({ name: "Bronze", minLifetime: 20 });
    expect(mine.body!.nextTier).to.deep.equal({ name: "Silver", minLifetime: 100, pointsToGo: "55" });
    const history = (mine.body!.history as { items: { bucket: string; amount: string; reason: string }[] }).items;
    // Newest first: each award's pair (available +N, pending −N), then the two pending awards.
    expect(history.map((e) => `${e.reason} ${e.bucket} ${e.amount}`).sort()).to.deep.equal(
      [
        "mint pending 20",
        "mint pending 25",
        "mint pending -20",
        "mint pending -25",
        "mint available 20",
        "mint available 25",
      ].sort(),
    );
  });

  it("a reorg that removes a mint reverses its pending award; replaying the feed rebuilds the same state", async function () {
    const snapshot = await tc.snapshot();
    await mint(ben, 1n, 3n);
    await sync();
    expect(await balance(ben)).to.deep.equal({ available: 0, pending: 30, lifetime: 0 });
    await tc.revert(snapshot);
    await tc.mine(2);
    await sync();
    expect(await balance(ben)).to.deep.equal({ available: 0, pending: 0, lifetime: 0 });
    const { rows } = await db.query<{ reason: string; amount: string }>(
      "SELECT reason, amount::text FROM points_entry WHERE wallet = $1 ORDER BY id",
      [ben.address.toLowerCase()],
    );
    expect(rows).to.deep.equal([
      { reason: "mint", amount: "30" },
      { reason: "reversal", amount: "-30" },
    ]);

    // The same feed, replayed from its start by a fresh consumer into a fresh database, gives the same balances.
    const replay = await createTestDatabase();
    const replayDb = createPool(replay.url);
    try {
      for (const table of ["points_rules", "event_block", "chain_event", "fact_feed", "indexer_checkpoint"]) {
        const { rows: copied } = await db.query(`SELECT * FROM ${table}`);
        for (const row of copied) {
          const columns = Object.keys(row);
          await replayDb.query(
            `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})`,
            columns.map((c) =>
              typeof row[c] === "object" && !(row[c] instanceof Date) && row[c] !== null
                ? JSON.stringify(row[c])
                : row[c],
            ),
          );
        }
      }
      await catchUp(replayDb, 31337, pointsAwardsConsumer({ chainId: 31337, finality: FINALITY, logger }));
      const state = (pool: pg.Pool) =>
        pool.query(
          "SELECT wallet, available, pending, lifetime FROM points_balance WHERE available + pending + lifetime > 0 ORDER BY wallet",
        );
      expect((await state(replayDb)).rows).to.deep.equal((await state(db)).rows);
    } finally {
      await replayDb.end();
      await replay.drop();
    }
  });

  it("the ledger is append-only and no balance can go negative, whatever SQL tries", async function () {
    for (const sql of [
      "UPDATE points_entry SET amount = amount * 2",
      "DELETE FROM points_entry",
      "TRUNCATE points_entry CASCADE",
    ])
      await expectRejected(db.query(sql), /append-only/);
    await expectRejected(
      db.query("UPDATE points_balance SET available = available - 1000000"),
      /points_balance_available/,
    );
  });

  it("caps: a wallet's daily cap cuts an award to what is left", async function () {
    const save = await api.call("POST", "/v1/points/rules", {
      headers: operatorAuth,
      body: { rules: { mint: [{ pointsPerUnit: 10 }], caps: { perWalletPerDay: 50 } } },
    });
    expect(save.status).to.equal(201);
    await mint(cat, 1n, 4n); // 40
    await mint(cat, 1n, 4n); // 40, cut to 10
    await mint(cat, 1n, 1n); // nothing left today
    await tc.mine(FINALITY);
    await sync();
    expect(await balance(cat)).to.deep.equal({ available: 50, pending: 0, lifetime: 50 });
  });

  it("seasons and their leaderboard: points earned in the season, most first, ties to who got there first", async function () {
    const now = Date.now();
    const create = (body: unknown, headers = operatorAuth) => api.call("POST", "/v1/points/seasons", { headers, body });
    expectProblem(
      await create({ name: "S", startsAt: new Date(now).toISOString(), endsAt: new Date(now - 1).toISOString() }),
      400,
      "body.endsAt",
    );
    expectProblem(
      await create({ name: "S", startsAt: "tomorrow", endsAt: new Date(now).toISOString() }),
      400,
      "body.startsAt",
    );
    expectProblem(
      await create(
        { name: "S", startsAt: new Date(now).toISOString(), endsAt: new Date(now + 1).toISOString() },
        await api.signIn(ann),
      ),
      403,
    );
    const season = await create({
      name: "Test season",
      startsAt: new Date(now - 86_400_000).toISOString(),
      endsAt: new Date(now + 86_400_000).toISOString(),
    });
    expect(season.status, JSON.stringify(season.body)).to.equal(201);
    // Two wallets tie at 10: the first to get there ranks first.
    const [x, y] = [devAccount(8), devAccount(9)];
    for (const [wallet, key] of [
      [x, "tie-x"],
      [y, "tie-y"],
    ] as const) {
      const grant = await api.call("POST", "/v1/points/adjustments", {
        headers: operatorAuth,
        body: { wallet: wallet.address, amount: "10", comment: "tie", idempotencyKey: `grant-${key}` },
      });
      expect(grant.status, JSON.stringify(grant.body)).to.equal(200);
    }
    const pages: { rank: number; wallet: string; points: string }[][] = [];
    let cursor: string | null = null;
    do {
      const page = await api.call(
        "GET",
        `/v1/leaderboard?season=${String(season.body!.id)}&limit=1${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(page.status, JSON.stringify(page.body)).to.equal(200);
      pages.push(page.body!.items as (typeof pages)[number]);
      cursor = page.body!.nextCursor as string | null;
    } while (cursor);
    const board = pages.flat();
    expect(board.map((r) => [r.rank, r.wallet, r.points])).to.deep.equal([
      [1, cat.address, "50"],
      [2, ann.address, "45"],
      [3, x.address, "10"],
      [4, y.address, "10"],
    ]);
    expectProblem(await api.call("GET", "/v1/leaderboard?season=999"), 404, "query.season");
    expectProblem(await api.call("GET", "/v1/leaderboard?season=abc"), 400, "query.season");
    expectProblem(await api.call("GET", "/v1/leaderboard"), 400, "query.season");
    const seasons = await api.call("GET", "/v1/points/seasons");
    expect((seasons.body!.items as { name: string }[]).map((s) => s.name)).to.include("Test season");
  });

  describe("spending points on editions", function () {
    let offer: Record<string, unknown>;

    before(async function () {
      const now = Date.now();
      const create = await api.call("POST", "/v1/points/offers", {
        headers: operatorAuth,
        body: {
          collection,
          tokenId: "2",
          price: "10",
          stock: 50,
          walletLimit: 20,
          startsAt: new Date(now - 60_000).toISOString(),
          endsAt: new Date(now + 3600_000).toISOString(),
        },
      });
      expect(create.status, JSON.stringify(create.body)).to.equal(201);
      offer = create.body!;
    });

    const grant = async (wallet: LocalAccount, amount: number, key: string) => {
      const answer = await api.call("POST", "/v1/points/adjustments", {
        headers: operatorAuth,
        body: { wallet: wallet.address, amount: String(amount), comment: "test grant", idempotencyKey: key },
      });
      expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    };

    it("refuses a second offer of the edition in an overlapping window (409), and bad offers with 400s", async function () {
      const now = Date.now();
      const again = await api.call("POST", "/v1/points/offers", {
        headers: operatorAuth,
        body: {
          collection,
          tokenId: "2",
          price: "5",
          stock: 1,
          walletLimit: 1,
          startsAt: new Date(now).toISOString(),
          endsAt: new Date(now + 60_000).toISOString(),
        },
      });
      expectProblem(again, 409, "body.startsAt");
      const bad = await api.call("POST", "/v1/points/offers", {
        headers: operatorAuth,
        body: { collection, tokenId: "0", price: "0", stock: 0, walletLimit: 1, startsAt: "soon", endsAt: "later" },
      });
      expectProblem(bad, 400, "body.price");
      expect((bad.body!.errors as { path: string }[]).map((e) => e.path)).to.include.members([
        "body.tokenId",
        "body.stock",
        "body.startsAt",
      ]);
      expect(offer.remaining).to.equal(50);
    });

    it("1,000 simultaneous redemptions of a wallet that can afford 10: exactly 10 vouchers, balance exactly 0", async function () {
      await grant(dan, 100, "grant-dan-1");
      const auth = await api.signIn(dan);
      const answers = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          api.call("POST", "/v1/redemptions", {
            headers: auth,
            body: { edition: { collection, tokenId: "2" }, quantity: 1, idempotencyKey: `dan-request-${i}` },
          }),
        ),
      );
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s === 201)).to.have.length(10);
      expect(statuses.filter((s) => s === 422)).to.have.length(990);
      expect(await balance(dan)).to.deep.include({ available: 0 });
      const vouchers = answers.filter((a) => a.status === 201).map((a) => a.body!.voucher as { id: string });
      expect(new Set(vouchers.map((v) => v.id)).size).to.equal(10);
      const { rows } = await db.query("SELECT count(*)::int AS n FROM points_redemption WHERE wallet = $1", [
        dan.address.toLowerCase(),
      ]);
      expect(rows[0].n).to.equal(10);
    });

    it("1,000 concurrent replays of one idempotency key debit once; the same key with another body is a 409", async function () {
      await grant(ben, 30, "grant-ben-1");
      const auth = await api.signIn(ben);
      const body = { edition: { collection, tokenId: "2" }, quantity: 2, idempotencyKey: "ben-once" };
      const answers = await Promise.all(
        Array.from({ length: 1000 }, () => api.call("POST", "/v1/redemptions", { headers: auth, body })),
      );
      expect(answers.filter((a) => a.status === 201)).to.have.length(1);
      expect(answers.filter((a) => a.status === 200)).to.have.length(999);
      expect(new Set(answers.map((a) => a.body!.id)).size).to.equal(1);
      expect(await balance(ben)).to.deep.include({ available: 10 });
      const debits = await db.query(
        "SELECT count(*)::int AS n FROM points_entry WHERE wallet = $1 AND reason = 'redemption'",
        [ben.address.toLowerCase()],
      );
      expect(debits.rows[0].n).to.equal(1);
      expectProblem(
        await api.call("POST", "/v1/redemptions", { headers: auth, body: { ...body, quantity: 1 } }),
        409,
        "body.idempotencyKey",
      );
      // The Idempotency-Key header works as the body field does.
      const viaHeader = await api.call("POST", "/v1/redemptions", {
        headers: { ...auth, "idempotency-key": "ben-once" },
        body: { edition: body.edition, quantity: 2 },
      });
      expect(viaHeader.status).to.equal(200);
      expect(viaHeader.body!.id).to.equal(answers[0]!.body!.id);
    });

    it("a voucher from the API minted in the last second before its deadline completes its redemption; no refund follows", async function () {
      const auth = await api.signIn(ben);
      const answer = await api.call("POST", "/v1/redemptions", {
        headers: auth,
        body: { edition: { collection, tokenId: "2" }, quantity: 1, idempotencyKey: "ben-mint" },
      });
      expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
      const r = answer.body as { id: string; voucher: Record<string, string>; signature: Hex; chainId: number };
      const voucher = {
        recipient: r.voucher.recipient as Address,
        edition: BigInt(r.voucher.edition!),
        quantity: BigInt(r.voucher.quantity!),
        price: BigInt(r.voucher.price!),
        id: BigInt(r.voucher.id!),
        deadline: BigInt(r.voucher.deadline!),
        signerEpoch: BigInt(r.voucher.signerEpoch!),
      };
      // Mined at the deadline itself, the last moment the contract accepts it.
      await tc.rpc("evm_setNextBlockTimestamp", [`0x${voucher.deadline.toString(16)}`]);
      await send(ben.address, collection, collectionAbi, "mintWithVoucher", [voucher, BigInt(r.chainId), r.signature]);
      await sync();
      const mine = await api.call("GET", "/v1/me/redemptions", { headers: auth });
      const item = (mine.body!.items as { id: string; status: string }[]).find((x) => x.id === r.id)!;
      expect(item.status).to.equal("completed");
      // Voucher mints earn no points (they were bought with points).
      expect(await balance(ben)).to.deep.include({ pending: 0 });
      await advancePastDeadlines();
      expect(await settleExpiredVoucher(db, r.id, FINALITY)).to.equal("already-settled");
      const refunds = await db.query("SELECT 1 FROM points_entry WHERE idempotency_key = $1", [`refund:${r.id}`]);
      expect(refunds.rowCount).to.equal(0);
    });

    it("an expired voucher is refunded exactly once, with two workers running the job at once", async function () {
      const { rows } = await db.query<{ id: string }>(
        "SELECT id FROM points_redemption WHERE wallet = $1 AND status = 'issued' ORDER BY created_at",
        [dan.address.toLowerCase()],
      );
      expect(rows).to.have.length(10);
      const before = (await db.query("SELECT remaining FROM points_offer WHERE id = $1", [offer.id])).rows[0].remaining;
      // Not yet: the deadline has not passed on-chain (or is not final).
      expect(await settleExpiredVoucher(db, rows[0]!.id, FINALITY)).to.be.oneOf(["not-final-yet", "refunded"]);
      await advancePastDeadlines();
      const outcomes = await Promise.all(
        rows.flatMap((r) => [settleExpiredVoucher(db, r.id, FINALITY), settleExpiredVoucher(db, r.id, FINALITY)]),
      );
      expect(outcomes.filter((o) => o === "refunded").length).to.be.at.most(10);
      expect(await balance(dan)).to.deep.include({ available: 100 });
      const refunds = await db.query(
        "SELECT count(*)::int AS n FROM points_entry WHERE wallet = $1 AND reason = 'refund'",
        [dan.address.toLowerCase()],
      );
      expect(refunds.rows[0].n).to.equal(10);
      const after = (await db.query("SELECT remaining FROM points_offer WHERE id = $1", [offer.id])).rows[0].remaining;
      expect(after).to.equal(before + 10);
    });

    /** Moves the chain past every voucher's deadline and the deadline's block FINALITY deep, and indexes it. */
    async function advancePastDeadlines() {
      await tc.rpc("evm_increaseTime", [VOUCHER_TTL + 60]);
      await tc.mine(FINALITY + 1);
      await sync();
    }
  });
});

async function expectRejected(promise: Promise<unknown>, message: RegExp) {
  try {
    await promise;
  } catch (error) {
    expect(String((error as Error).message)).to.match(message);
    return;
  }
  throw new Error(`expected a rejection matching ${message}`);
}
