-- Allowlists (server/allowlists): a partner's uploaded list for one sale phase of one edition, its Merkle tree and
-- its rows. Immutable once written: a changed list is a new allowlist (and a new root to set on-chain).
CREATE TABLE "allowlist" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "chain_id" INTEGER NOT NULL,
    "collection" TEXT NOT NULL,
    "edition" NUMERIC(78,0) NOT NULL,
    "phase" SMALLINT NOT NULL,
    "phase_start" BIGINT NOT NULL,
    "phase_end" BIGINT NOT NULL,
    "price" NUMERIC(78,0) NOT NULL,
    "wallet_limit" INTEGER NOT NULL,
    "name" TEXT,
    "root" TEXT NOT NULL,
    "entry_count" INTEGER NOT NULL,
    "total_quantity" NUMERIC(78,0) NOT NULL,
    -- Every node of the tree, 32 bytes each, in @openzeppelin/merkle-tree's array order.
    "tree" BYTEA NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "allowlist_pkey" PRIMARY KEY ("id")
);
-- Uncompressed out-of-line storage: substring() of such a value reads only the chunks it needs, so a proof
-- (about 17 nodes of a 100,000-row list) reads a few kilobytes, not the 6.4 MB tree.
ALTER TABLE "allowlist" ALTER COLUMN "tree" SET STORAGE EXTERNAL;
CREATE INDEX "allowlist_chain_id_collection_created_at_id_idx" ON "allowlist" ("chain_id", "collection", "created_at", "id");

CREATE TABLE "allowlist_entry" (
    "allowlist_id" UUID NOT NULL,
    -- Lowercase 0x-hex, as the indexer's tables store addresses. Byte order ("C"): cheap comparisons in the key, and
    -- the order the rows are COPYed in (see server/allowlists/service.ts).
    "address" TEXT COLLATE "C" NOT NULL,
    "max_quantity" BIGINT NOT NULL,
    "tree_index" INTEGER NOT NULL,
    "line" INTEGER NOT NULL,
    CONSTRAINT "allowlist_entry_pkey" PRIMARY KEY ("allowlist_id", "address"),
    CONSTRAINT "allowlist_entry_allowlist_id_fkey" FOREIGN KEY ("allowlist_id") REFERENCES "allowlist" ("id") ON DELETE CASCADE
);
