-- Off-chain metadata (server/metadata): the EIP-1155 metadata JSON of each edition and the contractURI JSON of each
-- collection, as partners set them (validated before they are written). Addresses lowercase 0x-hex.
CREATE TABLE "edition_metadata" (
    "chain_id" INTEGER NOT NULL,
    "collection" TEXT NOT NULL,
    "token_id" NUMERIC(78,0) NOT NULL,
    "metadata" JSONB NOT NULL,
    "updated_by" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "edition_metadata_pkey" PRIMARY KEY ("chain_id", "collection", "token_id")
);

CREATE TABLE "collection_metadata" (
    "chain_id" INTEGER NOT NULL,
    "collection" TEXT NOT NULL,
    "metadata" JSONB NOT NULL,
    "updated_by" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "collection_metadata_pkey" PRIMARY KEY ("chain_id", "collection")
);
