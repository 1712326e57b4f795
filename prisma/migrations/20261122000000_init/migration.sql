-- Indexer checkpoint: the last block whose events are fully applied, per chain.
CREATE TABLE "indexer_checkpoint" (
    "chain_id" INTEGER NOT NULL,
    "block_number" BIGINT NOT NULL,
    "block_hash" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "indexer_checkpoint_pkey" PRIMARY KEY ("chain_id")
);

-- Recent block headers, to detect reorgs by parent hash.
CREATE TABLE "indexed_block" (
    "chain_id" INTEGER NOT NULL,
    "number" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,
    "parent_hash" TEXT NOT NULL,
    "timestamp" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "indexed_block_pkey" PRIMARY KEY ("chain_id", "number")
);

CREATE TABLE "collection" (
    "chain_id" INTEGER NOT NULL,
    "address" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "contract_uri" TEXT NOT NULL,
    "created_block" BIGINT NOT NULL,
    "created_tx" TEXT NOT NULL,
    CONSTRAINT "collection_pkey" PRIMARY KEY ("chain_id", "address")
);

CREATE TABLE "token_transfer" (
    "chain_id" INTEGER NOT NULL,
    "block_number" BIGINT NOT NULL,
    "block_hash" TEXT NOT NULL,
    "tx_hash" TEXT NOT NULL,
    "log_index" INTEGER NOT NULL,
    "batch_index" INTEGER NOT NULL,
    "collection" TEXT NOT NULL,
    "token_id" DECIMAL(78,0) NOT NULL,
    "operator" TEXT NOT NULL,
    "from_address" TEXT NOT NULL,
    "to_address" TEXT NOT NULL,
    "amount" DECIMAL(78,0) NOT NULL,
    CONSTRAINT "token_transfer_pkey" PRIMARY KEY ("chain_id", "tx_hash", "log_index", "batch_index")
);
CREATE INDEX "token_transfer_chain_id_block_number_idx" ON "token_transfer"("chain_id", "block_number");

CREATE TABLE "token_balance" (
    "chain_id" INTEGER NOT NULL,
    "collection" TEXT NOT NULL,
    "token_id" DECIMAL(78,0) NOT NULL,
    "owner" TEXT NOT NULL,
    "amount" DECIMAL(78,0) NOT NULL,
    CONSTRAINT "token_balance_pkey" PRIMARY KEY ("chain_id", "collection", "token_id", "owner")
);
CREATE INDEX "token_balance_chain_id_owner_idx" ON "token_balance"("chain_id", "owner");
