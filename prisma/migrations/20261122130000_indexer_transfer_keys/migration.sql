-- token_transfer is written at backfill speed: one index fewer. A (block, log index, batch index) key is as unique as
-- (tx hash, log index, batch index) on one branch, and it also serves the range deletes of a reorg's rollback.
ALTER TABLE "token_transfer" DROP CONSTRAINT "token_transfer_pkey";
DROP INDEX "token_transfer_chain_id_block_number_idx";
ALTER TABLE "token_transfer" ADD CONSTRAINT "token_transfer_pkey" PRIMARY KEY ("chain_id", "block_number", "log_index", "batch_index");
