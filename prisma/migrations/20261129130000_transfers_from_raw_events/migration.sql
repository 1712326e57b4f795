-- Transfers are read straight from the raw events instead of being written a second time: at backfill speed the
-- token_transfer table was about a third of PostgreSQL's work per event (a second copy of every row and three
-- indexes). A raw transfer event now carries its sender and recipient as columns, indexed for per-wallet reads
-- (activity, balance as of a block), and token_transfer becomes a view with one row per (log, id) as before.
ALTER TABLE "chain_event" ADD COLUMN "from_address" TEXT;
ALTER TABLE "chain_event" ADD COLUMN "to_address" TEXT;
UPDATE "chain_event" SET "from_address" = "args"->>'from', "to_address" = "args"->>'to'
WHERE "name" IN ('TransferSingle', 'TransferBatch');
CREATE INDEX "chain_event_chain_id_from_address_idx" ON "chain_event"("chain_id", "from_address");
CREATE INDEX "chain_event_chain_id_to_address_idx" ON "chain_event"("chain_id", "to_address");

DROP TABLE "token_transfer";
-- One row per ERC-1155 balance movement: per TransferSingle, and per (id, value) pair of a TransferBatch.
CREATE VIEW "token_transfer" AS
SELECT e.chain_id, e.block_number, e.block_time, e.tx_hash, e.log_index, 0 AS batch_index, e.address AS collection,
       (e.args->>'id')::numeric(78,0) AS token_id, e.from_address, e.to_address,
       (e.args->>'value')::numeric(78,0) AS amount
FROM "chain_event" e
WHERE e.name = 'TransferSingle' AND e.from_address IS NOT NULL
UNION ALL
SELECT e.chain_id, e.block_number, e.block_time, e.tx_hash, e.log_index, (i.ord - 1)::int AS batch_index,
       e.address AS collection, i.id::numeric(78,0) AS token_id, e.from_address, e.to_address,
       (e.args->'values'->>(i.ord - 1)::int)::numeric(78,0) AS amount
FROM "chain_event" e CROSS JOIN LATERAL jsonb_array_elements_text(e.args->'ids') WITH ORDINALITY AS i(id, ord)
WHERE e.name = 'TransferBatch' AND e.from_address IS NOT NULL;
