// `npm run indexer:rebuild`: operator commands for the indexer's database. Stop the chain's indexer first (the
// command refuses while one holds the writer lock).
//   npm run indexer:rebuild                       rebuild every projection from the raw events (no RPC call)
//   npm run indexer:rebuild -- --rewind <block>   forget everything above <block> (after a reorg deeper than the
//                                                 finality depth); the indexer re-indexes from there
//   npm run indexer:rebuild -- --reset            forget everything; the indexer backfills from its start block
// Options: --chain-id <id> (default: every chain in the database). Needs DATABASE_URL (or the embedded database
// under PERKMINT_DATA_DIR); --rewind also asks RPC_URL for the block's hash when it is not stored.
import { parseArgs } from "node:util";
import pg from "pg";
import { createPool } from "../server/database/pool.ts";
import { migrateDatabase } from "../server/database/migrate.ts";
import { WRITER_LOCK_CLASS } from "../server/indexer/lock.ts";
import { RpcClient } from "../server/indexer/rpc.ts";
import { rebuildProjections, resetChainIndex, rollbackTo } from "../server/indexer/store.ts";
import { createLogger } from "../server/lib/logger.ts";

const { values } = parseArgs({
  options: { rewind: { type: "string" }, reset: { type: "boolean" }, "chain-id": { type: "string" } },
});
const logger = createLogger((process.env.LOG_LEVEL as "info") ?? "info", "perkmint-indexer-rebuild");
const database = process.env.DATABASE_URL
  ? { url: process.env.DATABASE_URL, embedded: undefined }
  : await (
      await import("../server/platform.ts")
    ).resolveDatabase({ databaseUrl: undefined, dataDir: process.env.PERKMINT_DATA_DIR ?? ".perkmint" }, logger);
await migrateDatabase(database.url);
const pool = createPool(database.url, 2);
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const chains = values["chain-id"]
    ? [Number(values["chain-id"])]
    : (await pool.query<{ chain_id: number }>("SELECT chain_id FROM indexer_checkpoint ORDER BY chain_id")).rows.map(
        (r) => r.chain_id,
      );
  if (chains.length === 0) {
    say("Nothing indexed yet: nothing to do.");
    return 0;
  }
  for (const chainId of chains) {
    const guard = new pg.Client({ connectionString: database.url });
    await guard.connect();
    try {
      const { rows } = await guard.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [
        WRITER_LOCK_CLASS,
        chainId,
      ]);
      if (!rows[0]!.ok) {
        say(`Chain ${chainId}: an indexer is running (it holds the writer lock). Stop it first, then run this again.`);
        return 1;
      }
      const started = performance.now();
      if (values.reset) {
        await resetChainIndex(pool, chainId);
        say(`Chain ${chainId}: index reset; the indexer backfills from its start block on its next run.`);
      } else if (values.rewind !== undefined) {
        const block = BigInt(values.rewind);
        const stored = await pool.query<{ hash: string }>(
          "SELECT hash FROM indexed_block WHERE chain_id = $1 AND number = $2",
          [chainId, block.toString()],
        );
        let hash = stored.rows[0]?.hash;
        if (!hash) {
          if (!process.env.RPC_URL) {
            say(`Chain ${chainId}: block ${block} is not stored; set RPC_URL so its hash can be read from the chain.`);
            return 1;
          }
          const rpc = new RpcClient({ urls: [process.env.RPC_URL.replace(/^ws/, "http")] });
          const header = await rpc.request<{ hash: string } | null>("eth_getBlockByNumber", [
            `0x${block.toString(16)}`,
            false,
          ]);
          if (!header) {
            say(`Chain ${chainId}: the chain has no block ${block}.`);
            return 1;
          }
          hash = header.hash;
        }
        const { eventsRemoved } = await rollbackTo(pool, chainId, { number: block, hash });
        say(
          `Chain ${chainId}: rewound to block ${block} (${eventsRemoved} events above it removed). Restart the indexer.`,
        );
      } else {
        const { events, transfers } = await rebuildProjections(pool, chainId);
        say(
          `Chain ${chainId}: projections rebuilt from ${events} raw events (${transfers} transfers) in ${((performance.now() - started) / 1000).toFixed(2)} s.`,
        );
      }
    } finally {
      await guard.end();
    }
  }
  return 0;
}

const code = await main().catch((err) => {
  logger.fatal({ err }, "indexer:rebuild failed");
  return 1;
});
await pool.end();
await database.embedded?.stop();
process.exit(code);
