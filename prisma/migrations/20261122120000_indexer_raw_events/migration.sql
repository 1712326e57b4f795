-- Indexer, production grade: raw events as the source of truth, projections derived from them.
-- Everything the indexer wrote before this migration is forgotten (it had no raw events to rebuild from): the
-- indexer backfills again from its start block on its next run.
DELETE FROM "token_transfer";
DELETE FROM "token_balance";
DELETE FROM "collection";
DELETE FROM "indexed_block";
DELETE FROM "indexer_checkpoint";

-- Every decoded log of the factory and the collections, append-only (rows above a reorg's common ancestor are
-- removed with the orphaned branch). `args` is the event's decoded arguments as JSON, uint256 as decimal strings.
CREATE TABLE "chain_event" (
    "chain_id" INTEGER NOT NULL,
    "block_number" BIGINT NOT NULL,
    "block_hash" TEXT NOT NULL,
    "block_time" TIMESTAMPTZ(3) NOT NULL,
    "tx_hash" TEXT NOT NULL,
    "log_index" INTEGER NOT NULL,
    "address" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "args" JSONB NOT NULL,
    CONSTRAINT "chain_event_pkey" PRIMARY KEY ("chain_id", "tx_hash", "log_index")
);
CREATE INDEX "chain_event_chain_id_block_number_idx" ON "chain_event"("chain_id", "block_number");

-- Transfers: time of the block, and per-wallet lookups (activity, balance as of a past block).
ALTER TABLE "token_transfer" ADD COLUMN "block_time" TIMESTAMPTZ(3) NOT NULL;
CREATE INDEX "token_transfer_chain_id_to_address_idx" ON "token_transfer"("chain_id", "to_address");
CREATE INDEX "token_transfer_chain_id_from_address_idx" ON "token_transfer"("chain_id", "from_address");

-- Since when the owner has held the token continuously (balance never back to zero since); null when not positive.
ALTER TABLE "token_balance" ADD COLUMN "held_since_block" BIGINT;
ALTER TABLE "token_balance" ADD COLUMN "held_since_time" TIMESTAMPTZ(3);

-- Per edition: minted, burned, supply (minted - burned) and the number of wallets holding it.
CREATE TABLE "token_supply" (
    "chain_id" INTEGER NOT NULL,
    "collection" TEXT NOT NULL,
    "token_id" DECIMAL(78,0) NOT NULL,
    "minted" DECIMAL(78,0) NOT NULL,
    "burned" DECIMAL(78,0) NOT NULL,
    "supply" DECIMAL(78,0) NOT NULL,
    "holders" INTEGER NOT NULL,
    CONSTRAINT "token_supply_pkey" PRIMARY KEY ("chain_id", "collection", "token_id")
);
