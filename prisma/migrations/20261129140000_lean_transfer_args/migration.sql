-- Backfill speed, PostgreSQL's side: a raw transfer event's sender and recipient live in its from_address and
-- to_address columns (20261129130000), so its args no longer repeat them: {"operator", "id", "value"} or
-- {"operator", "ids", "values"}. The event's full arguments are args plus those two columns.
-- args becomes json rather than jsonb: raw events are written once and read rarely (rollbacks, rebuilds, a wallet's
-- activity), so keeping the decoded text as it is beats converting every row to jsonb's binary form on the way in.
-- Together: about a quarter less work per COPYed row, measured on PostgreSQL 15.
DROP VIEW "token_transfer";
ALTER TABLE "chain_event" ALTER COLUMN "args" TYPE JSON USING (
  CASE WHEN "name" IN ('TransferSingle', 'TransferBatch') AND "from_address" IS NOT NULL THEN "args" - 'from' - 'to' ELSE "args" END
)::json;

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
FROM "chain_event" e CROSS JOIN LATERAL json_array_elements_text(e.args->'ids') WITH ORDINALITY AS i(id, ord)
WHERE e.name = 'TransferBatch' AND e.from_address IS NOT NULL;
