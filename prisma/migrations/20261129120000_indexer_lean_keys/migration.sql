-- Backfill speed: raw events are keyed by (chain, block, log index) and written in that order, so every insert goes
-- to the right edge of one B-tree. The former key on (chain, tx hash, log index) put each row at a random place in
-- an index of random hashes, and a second index served the block-range deletes of a rollback; together they were a
-- third of PostgreSQL's work per event. On one branch of a chain (block, log index) is as unique as (tx hash, log
-- index): a transaction sits in exactly one block, and a reorg's rollback removes the orphaned branch before the
-- canonical one is applied.
ALTER TABLE "chain_event" DROP CONSTRAINT "chain_event_pkey";
DROP INDEX "chain_event_chain_id_block_number_idx";
ALTER TABLE "chain_event" ADD CONSTRAINT "chain_event_pkey" PRIMARY KEY ("chain_id", "block_number", "log_index");

-- Transfers no longer repeat what their raw event holds and no reader asks of a transfer: the block hash and the
-- operator stay in chain_event.
ALTER TABLE "token_transfer" DROP COLUMN "block_hash";
ALTER TABLE "token_transfer" DROP COLUMN "operator";
