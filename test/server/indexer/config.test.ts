import { expect } from "chai";
import { inspect } from "node:util";
import { ConfigError, loadConfig } from "../../../server/config.ts";

const base = { RPC_URL: "http://127.0.0.1:8545", FACTORY_ADDRESS: "0x5fbdb2315678afecb367f032d93f642f64180aa3" };

describe("indexer configuration", function () {
  it("has defaults for every indexer setting", function () {
    const c = loadConfig(base);
    expect(c.rpcUrls).to.deep.equal(["http://127.0.0.1:8545"]);
    expect(c.wsUrl).to.equal(undefined);
    expect(c).to.include({
      rpcTimeoutMs: 10_000,
      fetchConcurrency: 3,
      fetchThread: false,
      targetLogsPerRange: 5000,
      stallSeconds: 30,
      indexerMetricsPort: undefined,
    });
    expect(c.extraContracts).to.deep.equal([]);
  });

  it("reads fallback URLs, a WebSocket URL and extra contracts", function () {
    const c = loadConfig({
      ...base,
      RPC_URL: "ws://127.0.0.1:8545",
      RPC_FALLBACK_URLS: "https://a.example, https://b.example",
      INDEXER_EXTRA_CONTRACTS: "0x0000000000000000000000000000000000001234",
      INDEXER_FETCH_CONCURRENCY: "5",
    });
    expect(c.rpcUrls).to.deep.equal(["http://127.0.0.1:8545", "https://a.example", "https://b.example"]);
    expect(c.wsUrl).to.equal("ws://127.0.0.1:8545");
    expect(c.extraContracts).to.deep.equal(["0x0000000000000000000000000000000000001234"]);
    expect(c.fetchConcurrency).to.equal(5);
    expect(loadConfig({ ...base, INDEXER_FETCH_THREAD: "true" }).fetchThread).to.equal(true);
  });

  it("names the variable and the reason when a value is wrong", function () {
    expect(() => loadConfig({ ...base, RPC_FALLBACK_URLS: "ftp://x" })).to.throw(ConfigError, /RPC_FALLBACK_URLS/);
    expect(() => loadConfig({ ...base, INDEXER_EXTRA_CONTRACTS: "0x12" })).to.throw(
      ConfigError,
      /INDEXER_EXTRA_CONTRACTS/,
    );
    expect(() => loadConfig({ ...base, INDEXER_FETCH_CONCURRENCY: "0" })).to.throw(
      ConfigError,
      /INDEXER_FETCH_CONCURRENCY/,
    );
  });
});

describe("configuration errors", function () {
  it("says one line per bad variable, naming it, what it must be and (unless secret) what it is", function () {
    let message = "";
    try {
      loadConfig({
        ...base,
        PORT: "abc",
        POLL_INTERVAL_MS: "5",
        LOG_LEVEL: "loud",
        DATABASE_URL: "mysql://u:secret@h/db",
        HTTP_REQUEST_TIMEOUT_MS: "-1",
      });
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message.split("\n")).to.deep.equal([
      "Invalid configuration:",
      '  - PORT: expected an integer port from 0 to 65535; got "abc"',
      "  - DATABASE_URL: expected a postgres:// or postgresql:// URL; its value is not",
      '  - POLL_INTERVAL_MS: expected an integer from 10 to 60000 (milliseconds); got "5"',
      '  - LOG_LEVEL: expected fatal, error, warn, info, debug, trace, silent; got "loud"',
      '  - HTTP_REQUEST_TIMEOUT_MS: expected an integer from 100 to 600000 (milliseconds); got "-1"',
    ]);
    expect(message).to.not.contain("secret");
    expect(() => loadConfig({ RPC_URL: "http://127.0.0.1:8545" })).to.throw(
      ConfigError,
      /^Invalid configuration:\n {2}- FACTORY_ADDRESS: required/,
    );
  });

  it("reads the HTTP and database timeouts", function () {
    const c = loadConfig({ ...base, HTTP_REQUEST_TIMEOUT_MS: "2000", DATABASE_STATEMENT_TIMEOUT_MS: "700" });
    expect(c.http).to.deep.equal({ requestTimeoutMs: 2000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 });
    expect(c.database).to.deep.equal({ connectTimeoutMs: 5_000, statementTimeoutMs: 700 });
  });

  it("reads DATABASE_READ_URL (default: none, the primary serves every read) and refuses one that is not postgres://", function () {
    expect(loadConfig(base).databaseReadUrl).to.equal(undefined);
    expect(
      loadConfig({ ...base, DATABASE_READ_URL: "postgres://reader@replica:5432/perkmint" }).databaseReadUrl,
    ).to.equal("postgres://reader@replica:5432/perkmint");
    expect(() => loadConfig({ ...base, DATABASE_READ_URL: "mysql://u:secret@h/db" })).to.throw(
      ConfigError,
      /^Invalid configuration:\n {2}- DATABASE_READ_URL: expected a postgres:\/\/ or postgresql:\/\/ URL; its value is not$/,
    );
  });

  it("accepts an all-upper-case address and refuses a mixed-case one with a wrong checksum", function () {
    expect(loadConfig({ ...base, FACTORY_ADDRESS: "0x5FBDB2315678AFECB367F032D93F642F64180AA3" }).factory).to.equal(
      "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    );
    expect(() => loadConfig({ ...base, FACTORY_ADDRESS: "0x5FbDB2315678afecb367f032d93F642f64180aA3" })).to.throw(
      ConfigError,
      /FACTORY_ADDRESS: expected a 0x-prefixed/,
    );
  });

  it("reads the loyalty settings; the voucher signer key never shows in the config, its JSON, its inspection or an error", function () {
    const key = `0x${"ab".repeat(32)}`;
    const c = loadConfig({ ...base, FINALITY_DEPTH: "12", VOUCHER_SIGNER_KEY: key });
    expect(c.loyalty.pointsFinality).to.equal(12);
    expect(c.loyalty.voucherTtlSeconds).to.equal(1800);
    expect(c.loyalty.voucherSignerKey!.reveal()).to.equal(key);
    expect(JSON.stringify(c, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))).to.not.include("abab");
    expect(inspect(c, { depth: 10 })).to.not.include("abab");
    expect(String(c.loyalty.voucherSignerKey)).to.equal("[redacted]");
    expect(loadConfig({ ...base, POINTS_FINALITY: "0" }).loyalty.pointsFinality).to.equal(0);
    try {
      loadConfig({ ...base, VOUCHER_SIGNER_KEY: `${key}ff` });
      expect.fail("a bad key must be refused");
    } catch (error) {
      expect((error as Error).message).to.match(/VOUCHER_SIGNER_KEY: expected a private key/);
      expect((error as Error).message).to.not.include("abab");
    }
  });
});
