import { expect } from "chai";
import { ConfigError, loadConfig } from "../../../server/config.ts";

const base = { RPC_URL: "http://127.0.0.1:8545", FACTORY_ADDRESS: "0x5fbdb2315678afecb367f032d93f642f64180aa3" };

describe("indexer configuration", function () {
  it("has defaults for every indexer setting", function () {
    const c = loadConfig(base);
    expect(c.rpcUrls).to.deep.equal(["http://127.0.0.1:8545"]);
    expect(c.wsUrl).to.equal(undefined);
    expect(c).to.include({ rpcTimeoutMs: 10_000, fetchConcurrency: 3, fetchThread: false, targetLogsPerRange: 5000, stallSeconds: 30, indexerMetricsPort: undefined });
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
    expect(() => loadConfig({ ...base, INDEXER_EXTRA_CONTRACTS: "0x12" })).to.throw(ConfigError, /INDEXER_EXTRA_CONTRACTS/);
    expect(() => loadConfig({ ...base, INDEXER_FETCH_CONCURRENCY: "0" })).to.throw(ConfigError, /INDEXER_FETCH_CONCURRENCY/);
  });
});
